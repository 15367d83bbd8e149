"""Thin layers over the one verdict (`grader check`) for the platforms courses already use.

    gradescope.py   the autograder zip (setup.sh, run_autograder) and the in-image runner
    github.py       GitHub Actions / Classroom: step summary, step outputs, annotations
    cli.py          the `grader gradescope` and `grader gradescope-run` commands

JUnit XML is `grader.junit.to_junit`; the plain-pytest plugin is `grader.checks.pytest_entry`.
"""
