"""Find a class's submissions: a folder (or a .zip) of notebooks or of per-student folders.

    class/alice.ipynb              the student id is the file's stem (LMS exports); the notebook alone
    class/bob/notebook.ipynb       the student id is the folder's name (nbgrader, Moodle, ...)
    class/carol/<assignment>/x.ipynb   nbgrader's submitted/<student>/<assignment>/ layout
    class/dan.zip                  the student id is the zip's stem: the notebook and its files

In a student folder the notebook named like the assignment's is graded, else the only one;
with none, or several and none so named, the student gets a verdict that says so. The other
files of the notebook's folder (a student folder's) or of its zip come with it, per student
(grader.submission: bounded by [limits] submitted_mb and submitted_files). Hidden
entries (.ipynb_checkpoints, .DS_Store, __MACOSX) are ignored. A .zip is extracted to a
temporary folder first, refusing entries that would land outside it; a class zip whose only
top-level entry is a folder of submissions (notebooks, student folders, student zips) is read
from that folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Iterator

from grader.errors import UsageError
from grader.lms.download import LmsStudent, regroup
from grader.submission.collect import file_sha256
from grader.submission.names import skipped
from grader.submission.pick import pick_notebook

ZIP_MAX_BYTES = 4 * 1024**3  # everything a class zip may unpack to
ZIP_MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class Entry:
    """One student's submission as found in the class folder."""

    student: str
    path: Path | None  # the notebook to grade; None when none could be chosen
    sha256: str  # of the notebook's bytes; of the folder's listing when none was chosen
    source: str  # how to name it to people (zip members as archive.zip:member)
    problem: str = ""  # why nothing can be graded (no notebook, several notebooks)
    submission: Path | None = None  # what a worker grades: the student's folder or zip (its files with it)
    lms: LmsStudent | None = None  # the LMS's id and name of the student, for an LMS download (grader.lms)


def _listing_sha(folder: Path) -> str:
    """A content key for a folder without a gradable notebook: its files' names and hashes."""
    digest = hashlib.sha256(b"folder\0")
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + file_sha256(path).encode() + b"\0")
    return digest.hexdigest()


def discover(
    folder: Path, notebook_name: str, *, label: str | None = None, exclude: tuple[Path, ...] = ()
) -> list[Entry]:
    """The submissions in `folder`, sorted by student id. `label` replaces the folder in `source` ("class.zip:")."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(
            f"no such folder: {folder}", hint="give the folder (or .zip) that holds the class's submissions"
        )
    entries: dict[str, Entry] = {}
    skip = {p.resolve() for p in exclude}
    for item in sorted(folder.iterdir()):
        if skipped(item.name) or item.is_symlink() or item.resolve() in skip:
            continue
        source = f"{label}{item.relative_to(folder)}" if label else str(item)
        if item.is_file() and item.name.lower().endswith(".ipynb"):
            student = item.name[: -len(".ipynb")]
            entry = Entry(student, item, file_sha256(item), source)
        elif item.is_file() and item.name.lower().endswith(".zip"):
            student = item.name[: -len(".zip")]
            entry = Entry(student, item, file_sha256(item), source, submission=item)
        elif item.is_dir():
            student = item.name
            path, problem = pick_notebook(student, item, notebook_name)
            if path is not None:
                rel = path.relative_to(folder)
                entry = Entry(
                    student, path, file_sha256(path), f"{label}{rel}" if label else str(path), submission=item
                )
            else:
                entry = Entry(student, None, _listing_sha(item), source, problem)
        else:
            continue
        if student in entries:
            raise UsageError(
                f"the student id '{student}' appears twice in {label or folder} (a notebook and a folder)",
                hint="keep one submission per student: remove or rename one of them",
            )
        entries[student] = entry
    return [entries[k] for k in sorted(entries)]


def _is_zip_name(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(".zip")


def _unwrap(root: Path, notebook_name: str) -> Path:
    """A zip whose only top-level entry is a folder of submissions (several notebooks, student
    folders or student zips, none of them the assignment's notebook itself; or one student's
    zip): that folder."""
    visible = [p for p in root.iterdir() if not skipped(p.name)]
    if len(visible) != 1 or not visible[0].is_dir():
        return root
    inner = [p for p in visible[0].iterdir() if not skipped(p.name)]
    shaped = all(p.is_dir() or p.name.lower().endswith(".ipynb") or _is_zip_name(p) for p in inner)
    if (
        shaped
        and (len(inner) >= 2 or (len(inner) == 1 and _is_zip_name(inner[0])))
        and not any(p.name == notebook_name for p in inner)
    ):
        return visible[0]
    return root


def safe_extract(archive: Path, dest: Path) -> list[str]:
    """Extract `archive` into `dest`; return the names of the entries refused (unsafe or links)."""
    refused = []
    dest = dest.resolve()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{archive} is not a readable zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > ZIP_MAX_ENTRIES or sum(i.file_size for i in infos) > ZIP_MAX_BYTES:
            raise UsageError(
                f"{archive} would unpack to more than {ZIP_MAX_ENTRIES} files or {ZIP_MAX_BYTES // 1024**3} GB",
                hint="unpack it yourself and pass the folder",
            )
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            mode = info.external_attr >> 16
            if name.startswith("/") or (parts and ":" in parts[0]) or ".." in parts or not parts or stat.S_ISLNK(mode):
                refused.append(info.filename)
                continue
            target = (dest / Path(*parts)).resolve()
            if not target.is_relative_to(dest):
                refused.append(info.filename)
                continue
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    return refused


def _students(
    root: Path, notebook_name: str, label: str, lms: str, exclude: tuple[Path, ...], scratch: Path, notes: list[str]
) -> tuple[list[Entry], list[str]]:
    """The entries of `root`, read as an LMS download where its names are one (grader.lms.download)."""
    group = regroup(root, lms, notebook_name, scratch, label=label, exclude=exclude)
    notes += group.notes
    if not group.lms:
        return discover(root, notebook_name, label=label or None, exclude=exclude), group.warnings
    entries = discover(group.root, notebook_name, label=f"{group.lms}:")
    out = []
    for entry in entries:
        who = group.students.get(entry.student)
        out.append(replace(entry, lms=who, source=", ".join(who.sources)) if who is not None else entry)
    return out, group.warnings


@contextmanager
def opened(
    submissions: Path,
    notebook_name: str,
    *,
    exclude: tuple[Path, ...] = (),
    lms: str = "auto",
    notes: list[str] | None = None,
) -> Iterator[tuple[list[Entry], list[str]]]:
    """(entries, warnings) for a folder or a .zip; a zip's temporary folder lives as long as the context.
    `exclude`: folders that are no submissions (the batch's --out, when it lies inside the class folder).
    `lms`: auto, canvas, moodle or none (grader.lms.download); `notes` receives what is no warning."""
    submissions = Path(submissions)
    notes = [] if notes is None else notes
    if not submissions.exists():
        raise UsageError(
            f"no such folder or zip: {submissions}", hint="give the folder (or .zip) that holds the class's submissions"
        )
    if submissions.is_dir():
        scratch = Path(tempfile.mkdtemp(prefix="grader-lms-"))
        try:
            yield _students(submissions, notebook_name, "", lms, exclude, scratch, notes)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    if not zipfile.is_zipfile(submissions):
        raise UsageError(
            f"{submissions} is neither a folder nor a .zip archive",
            hint="give the folder (or .zip) that holds the class's submissions",
        )
    tmp = Path(tempfile.mkdtemp(prefix="grader-class-"))
    try:
        refused = safe_extract(submissions, tmp)
        warnings = [f"{submissions.name}: refused {name!r} (a link, or a path outside the archive)" for name in refused]
        root = _unwrap(tmp, notebook_name)
        prefix = submissions.name + ":" + (f"{root.name}/" if root != tmp else "")
        (tmp.parent / (tmp.name + "-lms")).mkdir()
        entries, more = _students(root, notebook_name, prefix, lms, (), tmp.parent / (tmp.name + "-lms"), notes)
        yield entries, warnings + more
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(tmp.parent / (tmp.name + "-lms"), ignore_errors=True)
