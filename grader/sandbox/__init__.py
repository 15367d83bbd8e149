"""Where and how a kernel runs: the isolation it gets, its limits, the fork server, and reaping
what it leaves behind. The grader's only way to start a process that runs student code."""
