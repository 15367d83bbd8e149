"""Which notebook of a folder is the submission: the one named as the assignment's notebook, else
the only one; none, or several and none so named, is a problem told in words."""

from __future__ import annotations

import os
from pathlib import Path

from grader.submission.names import skipped

MAX_SLUG_NOTEBOOKS = 20  # notebooks of a folder read for the slug they name

__all__ = ["notebooks_in", "pick_notebook", "submission_slug"]


def notebooks_in(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not skipped(d))
        found += [Path(root) / f for f in sorted(files) if f.lower().endswith(".ipynb") and not skipped(f)]
    return found


def pick_notebook(student: str, folder: Path, notebook_name: str) -> tuple[Path | None, str]:
    """(the notebook to grade, "") or (None, why none can be)."""
    notebooks = notebooks_in(folder)
    named = [p for p in notebooks if p.name == notebook_name]
    if len(named) == 1:
        return named[0], ""
    if len(named) > 1:
        where = ", ".join(str(p.relative_to(folder)) for p in named)
        return None, f"The folder '{student}' holds {len(named)} notebooks named {notebook_name} ({where}); submit one."
    if len(notebooks) == 1:
        return notebooks[0], ""
    if not notebooks:
        return None, f"The folder '{student}' holds no notebook (.ipynb); nothing could be graded."
    names = ", ".join(str(p.relative_to(folder)) for p in notebooks[:8])
    return None, (
        f"The folder '{student}' holds {len(notebooks)} notebooks ({names}) and none is named "
        f"{notebook_name}; rename the one to grade to {notebook_name}."
    )


def submission_slug(path: Path) -> str | None:
    """The slug a submission names in its metadata: a notebook's; a zip's only notebook's; a
    folder's notebooks', when they name one and only one. None when it names none."""
    from grader.course import notebook_slug
    from grader.submission.archive import zip_slug

    if path.is_dir():
        slugs = {notebook_slug(p) for p in notebooks_in(path)[:MAX_SLUG_NOTEBOOKS]} - {None}
        return slugs.pop() if len(slugs) == 1 else None
    if path.suffix.lower() == ".zip":
        return zip_slug(path)
    return notebook_slug(path)
