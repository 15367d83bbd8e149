"""Project-wide test settings."""
from __future__ import annotations

# Fixture assignments hold their own check files (test_*.py) that run only inside a grading
# session, against a notebook; the project's own run must not collect them.
collect_ignore_glob = ["fixtures/*", "submissions/*"]
