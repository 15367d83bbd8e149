"""An autograder for PyTorch notebook exercises.

`import grader` stays cheap: torch, jupyter and pytest are imported where used.
"""

from __future__ import annotations

import os
from typing import Any

from grader.version import __version__

__all__ = ["__version__", "check"]


def check(
    exercise: str | None = None,
    *,
    assignment: str | os.PathLike[str] | None = None,
    notebook: str | os.PathLike[str] | None = None,
    display: bool = True,
) -> Any:
    """Run the public checks against the live kernel (for students in Jupyter)."""
    from grader.inline.check import check as run

    return run(exercise, assignment=assignment, notebook=notebook, display=display)
