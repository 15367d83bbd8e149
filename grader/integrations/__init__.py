"""Thin layers over the one verdict (`grader check`) for the platforms courses already use.

    gradescope_zip.py        the autograder zip (setup.sh, run_autograder, the course, the grader's source)
    gradescope.py            the in-image runner: one submission into results/results.json
    gradescope_results.py    results.json in Gradescope's schema (`grader check --results` writes it too)
    gradescope_metadata.py   submission_metadata.json: when a submission came in, and who sent it
    github.py                GitHub Actions / Classroom: step summary, step outputs, annotations

The `grader gradescope` and `grader gradescope-run` commands are grader/cli/gradescope.py and
grader/cli/gradescope_run.py.

JUnit XML is `grader.junit.to_junit`; the plain-pytest plugin is `grader.checks.pytest_entry`.
"""
