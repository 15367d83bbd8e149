"""An autograder for PyTorch notebook exercises.

`import grader` stays cheap: torch, jupyter and pytest are imported where used.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "check"]


def check(exercise: str | None = None, **kwargs: object) -> object:
    """Run the public checks against the live kernel (for students in Jupyter)."""
    from grader.inline.check import check as _check

    return _check(exercise, **kwargs)
