"""Where and how a kernel runs: the isolation it gets, its SandboxSpec (spec.py), the launch from
that spec (launch.py, the zygote, the jupyter_client provisioners), and reaping what it leaves
behind. The grader's only way to start a process that runs student code."""
