"""The course layout, and finding an assignment in it: the one module that knows where things are.

    <course>/
      assignments/<slug>/        what students get: assignment.toml, the notebook, checks/
      solutions/<slug>/          what only instructors have: the master notebook, assignment.toml,
                                 public/ (copied to assignments/<slug>/checks) and checks/ (hidden)

A student notebook names its assignment in its metadata: `{"grader": {"slug": ..., "version": ...}}`.
Every front end finds its assignment here: by folder (`load_assignment`), by slug under a course
folder (`find_assignment`), by a notebook's metadata, or upward from a checks folder (the pytest
plugin).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.assignment_files import resolve, resolve_public
from grader.config import Assignment, AssignmentFile, read_assignment_file
from grader.errors import AssignmentError

ASSIGNMENTS = "assignments"  # <course>/assignments/<slug>
SOLUTIONS = "solutions"  # <course>/solutions/<slug>
TOML = "assignment.toml"
CHECKS = "checks"  # public checks in assignments/<slug>, hidden ones in solutions/<slug>
PUBLIC = "public"  # in solutions/<slug>: the public checks, copied to assignments/<slug>/checks
METADATA_KEY = "grader"  # notebook metadata: {"grader": {"slug": ..., "version": ...}}
MAX_NOTEBOOK_BYTES = 50 * 2**20  # a notebook larger than this names no assignment


# -- the layout -----------------------------------------------------------------------------
def is_assignment_dir(path: Path) -> bool:
    return (path / TOML).is_file()


def solutions_dir(assignment_root: Path, slug: str) -> Path:
    """solutions/<slug> beside assignments/<slug> (it may not exist: a student checkout)."""
    return assignment_root.parent.parent / SOLUTIONS / slug


def master_dir(course_root: Path, slug: str) -> Path:
    return course_root / SOLUTIONS / slug


def assignments_dir(course_root: Path) -> Path:
    return course_root / ASSIGNMENTS


def student_twin(folder: Path) -> Path | None:
    """assignments/<slug> for a master folder solutions/<slug>; None for any other folder."""
    if folder.parent.name != SOLUTIONS:
        return None
    return folder.parent.parent / ASSIGNMENTS / folder.name


def notebook_metadata(slug: str, version: str) -> dict[str, str]:
    """What a student notebook's metadata holds under METADATA_KEY."""
    return {"slug": slug, "version": version}


def metadata_slug(notebook: dict[str, Any]) -> str | None:
    """The slug a notebook's JSON names in its metadata, or None."""
    meta = notebook.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get(METADATA_KEY), dict):
        slug = meta[METADATA_KEY].get("slug")
        return str(slug) if slug else None
    return None


def metadata_version(notebook: dict[str, Any]) -> str | None:
    """The assignment version a notebook's JSON names in its metadata, or None."""
    meta = notebook.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get(METADATA_KEY), dict):
        version = meta[METADATA_KEY].get("version")
        return str(version)[:40] if version not in (None, "") else None
    return None


def notebook_slug(path: Path) -> str | None:
    """The slug in a notebook file's metadata, or None (unreadable, too large, none named)."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        return metadata_slug(data) if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


# -- finding an assignment ------------------------------------------------------------------
def load_assignment(root: Path) -> Assignment:
    """Read assignments/<slug>/assignment.toml; find solutions/<slug> beside it if present."""
    root = Path(root).resolve()
    file = read_assignment_file(root / TOML, default_slug=root.name)
    solutions = solutions_dir(root, file.slug)
    hidden = solutions / CHECKS
    public_files, hidden_files = assignment_files(root, solutions if solutions.is_dir() else None, file)
    return Assignment(
        slug=file.slug,
        title=file.title,
        root=root,
        version=file.version,
        notebook=file.notebook,
        exercises=file.exercises,
        timeouts=file.timeouts,
        tolerances=file.tolerances,
        limits=file.limits,
        visibility=file.visibility,
        schema=file.schema,
        hidden_feedback=file.hidden_feedback,
        files=file.files,
        public_files=public_files,
        hidden_files=hidden_files,
        execution=file.execution,
        deadline=file.deadline,
        similarity=file.similarity,
        manual=file.manual,
        uses=file.uses,
        carried_forward=file.carried_forward,
        solutions=solutions if solutions.is_dir() else None,
        public_checks=root / CHECKS,
        hidden_checks=hidden if hidden.is_dir() else None,
    )


def assignment_files(root: Path, master: Path | None, file: AssignmentFile) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """[files] resolved: the public files in `root` (the folder read), the hidden ones in the master
    folder when there is one (none in a students' copy)."""
    public = resolve_public(root, file.files, file.path)
    hidden = resolve(master, file.files.hidden, key="hidden", toml=file.path) if master is not None else ()
    both = sorted(set(public) & set(hidden))
    if both:
        raise AssignmentError(
            f"{file.path}: [files] names {both[0]!r} both public and hidden",
            hint="a file is either given to the students (public) or kept for the checks (hidden)",
        )
    return public, hidden


def assignment_slugs(course_root: Path) -> list[str]:
    """The slugs of the assignments under <course_root>/assignments, sorted."""
    folder = assignments_dir(course_root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if is_assignment_dir(p))


def _known(course_root: Path) -> str:
    slugs = assignment_slugs(course_root)
    where = assignments_dir(course_root)
    return f"the assignments in {where}: {', '.join(slugs)}" if slugs else f"there is no assignment in {where}"


def find_assignment(slug: str | None, search_root: Path | None = None) -> Assignment:
    """Look a slug up under ./assignments (the default for `grader check`)."""
    root = search_root or Path.cwd()
    if not slug:
        raise AssignmentError(
            "the notebook names no assignment in its metadata",
            hint=f"pass --assignment {ASSIGNMENTS}/<slug> ({_known(root)})",
        )
    base = assignments_dir(root) / slug
    if not is_assignment_dir(base):
        raise AssignmentError(
            f"no assignment '{slug}' under {base.parent}",
            hint=f"{_known(root)}; run from the course folder that holds {ASSIGNMENTS}/ or from the "
            "assignment's own folder (the one with assignment.toml), or pass --assignment DIR",
        )
    return load_assignment(base)


def enclosing_assignment(starts: list[Path], slug: str | None = None) -> Assignment | None:
    """The assignment folder (one holding assignment.toml) nearest each of `starts` going up, in
    that order; for a master folder its student twin where there is one. With `slug`: only an
    assignment of that slug."""
    for start in starts:
        found = assignment_dir_for_checks([start])
        if found is None:
            continue
        assignment = load_assignment(found)
        if slug is None or assignment.slug == slug:
            return assignment
    return None


def resolve_assignment(assignment_dir: Path | None, slug: str | None, near: Path | None = None) -> Assignment:
    """`--assignment DIR` when given; else the submission's slug under ./assignments, or the
    assignment folder holding `near` (the submission's folder) or the current folder, when it has
    that slug; for a submission that names none (unreadable, or written from scratch), the
    assignment folder holding it (or the current folder), else the only one under ./assignments."""
    if assignment_dir is not None:
        return load_assignment(assignment_dir)
    cwd = Path.cwd()
    if slug and is_assignment_dir(assignments_dir(cwd) / slug):
        return load_assignment(assignments_dir(cwd) / slug)
    starts = ([Path(near).resolve()] if near is not None else []) + [cwd.resolve()]
    found = enclosing_assignment(starts, slug)
    if found is not None:
        return found
    only = assignment_slugs(cwd)
    if not slug and len(only) == 1:
        return load_assignment(assignments_dir(cwd) / only[0])
    return find_assignment(slug, cwd)


def find_by_slug_upward(slug: str, starts: list[Path]) -> Assignment | None:
    """assignments/<slug> (or a folder whose own assignment.toml names `slug`) in each of `starts`
    and every folder above it, in that order; None when there is none."""
    for start in starts:
        for folder in (start, *start.parents):
            candidate = assignments_dir(folder) / slug
            if is_assignment_dir(candidate):
                return load_assignment(candidate)
            if is_assignment_dir(folder):
                found = load_assignment(folder)
                if found.slug == slug:
                    return found
    return None


def assignment_dir_for_checks(paths: list[Path]) -> Path | None:
    """The assignment folder of checks paths: upward from each, preferring for a master folder
    solutions/<slug> its student twin assignments/<slug> (what students have)."""
    for path in paths:
        for folder in [path.resolve(), *path.resolve().parents]:
            twin = student_twin(folder)
            if twin is not None and is_assignment_dir(twin):
                return twin
            if is_assignment_dir(folder):
                return folder
    return None


def find_student_assignment(value: str) -> tuple[Assignment, Path | None]:
    """The student folder assignments/<slug> named by a folder or a slug, never a master folder
    (whose notebook holds the solutions): (the assignment, the master folder given instead, if any)."""
    path = Path(value).resolve()
    twin = student_twin(path)
    if twin is not None and is_assignment_dir(path):
        if not is_assignment_dir(twin):
            raise AssignmentError(
                f"{value} is a master folder (its notebook holds the solutions)",
                hint=f"run `grader assign {value}` first, then give {ASSIGNMENTS}/{path.name}",
            )
        return load_assignment(twin), path
    if is_assignment_dir(path):
        return load_assignment(path), None
    return find_assignment(value), None
