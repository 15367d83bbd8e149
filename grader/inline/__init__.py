"""`grader.check()` in a student's own Jupyter kernel: the public checks, shown inline."""
