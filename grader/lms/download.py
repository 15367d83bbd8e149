"""A class download from an LMS, regrouped into one folder per student before grading.

`regroup` reads the names of a download's top-level entries, decides which LMS made them (or
takes `--lms`), and copies each student's files into `scratch/<student>/` under the names the
student gave them, so that grader.batch.classfolder reads the class as it reads any folder of
student folders. Each student keeps the LMS's id and display name (`LmsStudent`).

Student ids: Canvas's `lastfirst`; Moodle's full name as a slug (`ada-lovelace`); where two
students of one download share one, each gets `-<LMS id>` added. A student's notebooks: the
latest upload of each name; if that leaves several and none is named like the assignment's,
the latest upload, and a warning names the ones left out.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.errors import UsageError
from grader.lms.canvas import parse_canvas_name, upload_name
from grader.lms.moodle import parse_moodle_name
from grader.submission.names import safe_name, skipped

__all__ = ["LMS_CHOICES", "LmsChoice", "LmsStudent", "Regrouped", "regroup"]

LmsChoice = Literal["auto", "canvas", "moodle", "none"]
LMS_CHOICES: tuple[str, ...] = ("auto", "canvas", "moodle", "none")
FORMATS = (
    "Canvas: lastfirst_[LATE_]userid_attachmentid_file.ipynb; Moodle: folders 'Full Name_id_assignsubmission_file_'"
)


@dataclass(frozen=True)
class LmsStudent:
    """Who the LMS says sent a submission."""

    lms: str  # canvas, moodle
    lms_id: str
    display_name: str
    late: bool | None = None  # the LMS's own late marker (Canvas); None: it says nothing
    sources: tuple[str, ...] = ()  # the download's names of the files kept


@dataclass
class Regrouped:
    root: Path  # the folder to read students from
    lms: str = ""  # "" when the names fit no LMS
    students: dict[str, LmsStudent] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Upload:
    key: str  # the student's name in the download
    lms_id: str
    display_name: str
    name: str  # the file's name as uploaded (a relative path)
    order: int  # later uploads have larger numbers
    path: Path
    source: str
    late: bool | None = None


def _entries(folder: Path, exclude: tuple[Path, ...]) -> list[Path]:
    skip = {p.resolve() for p in exclude}
    return [
        p for p in sorted(folder.iterdir()) if not skipped(p.name) and not p.is_symlink() and p.resolve() not in skip
    ]


def _canvas(items: list[Path]) -> tuple[list[_Upload], list[Path]]:
    uploads, odd = [], []
    for item in items:
        parsed = parse_canvas_name(item.name) if item.is_file() else None
        if parsed is None:
            odd.append(item)
            continue
        uploads.append(
            _Upload(
                parsed.key,
                parsed.user_id,
                parsed.key,
                parsed.filename,
                parsed.attachment_id,
                item,
                item.name,
                parsed.late,
            )
        )
    return uploads, odd


def _moodle(items: list[Path]) -> tuple[list[_Upload], list[Path]]:
    uploads, odd = [], []
    for item in items:
        parsed = parse_moodle_name(item.name, folder=item.is_dir())
        if parsed is None:
            odd.append(item)
        elif item.is_dir():
            for path in sorted(p for p in item.rglob("*") if p.is_file() and not p.is_symlink()):
                rel = path.relative_to(item)
                if not any(skipped(part) for part in rel.parts):
                    uploads.append(
                        _Upload(
                            parsed.display_name,
                            parsed.participant,
                            parsed.display_name,
                            rel.as_posix(),
                            0,
                            path,
                            f"{item.name}/{rel.as_posix()}",
                        )
                    )
        else:
            uploads.append(
                _Upload(
                    parsed.display_name, parsed.participant, parsed.display_name, parsed.filename, 0, item, item.name
                )
            )
    return uploads, odd


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text.lower()).strip("-_") or "student"


def _ids(uploads: list[_Upload], lms: str) -> dict[str, str]:
    """LMS id -> the grader's student id."""
    keys: dict[str, str] = {}
    for u in uploads:
        keys.setdefault(u.lms_id, u.key if lms == "canvas" else _slug(u.key))
    taken: dict[str, int] = {}
    for key in keys.values():
        taken[key] = taken.get(key, 0) + 1
    return {lms_id: (key if taken[key] == 1 else f"{key}-{lms_id}") for lms_id, key in keys.items()}


def _keep(uploads: list[_Upload], notebook_name: str) -> tuple[list[_Upload], list[_Upload]]:
    """A student's uploads to grade (the latest of each name; one notebook) and the ones left out."""
    names = {u.name for u in uploads} | {notebook_name}
    latest: dict[str, _Upload] = {}
    for u in sorted(uploads, key=lambda u: u.order):
        latest[upload_name(u.name, names - {u.name})] = u
    notebooks = {n: u for n, u in latest.items() if n.lower().endswith(".ipynb")}
    if len(notebooks) > 1 and notebook_name not in notebooks:
        newest = max(notebooks.values(), key=lambda u: u.order)
        latest = {n: u for n, u in latest.items() if n not in notebooks or u is newest}
    kept = list(latest.items())
    left = [u for u in uploads if all(u is not k for _, k in kept)]
    return [u if n == u.name else _renamed(u, n) for n, u in kept], left


def _renamed(upload: _Upload, name: str) -> _Upload:
    return _Upload(
        upload.key, upload.lms_id, upload.display_name, name, upload.order, upload.path, upload.source, upload.late
    )


def _copy(uploads: list[_Upload], dest: Path) -> None:
    for u in uploads:
        safe = safe_name(u.name)
        if not safe.name:
            continue
        target = dest / safe.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(u.path, target)


def _pick(folder: Path, choice: str, exclude: tuple[Path, ...]) -> tuple[str, list[_Upload], list[Path]]:
    items = _entries(folder, exclude)
    found = {"canvas": _canvas(items), "moodle": _moodle(items)}
    if choice in found:
        uploads, odd = found[choice]
        if not uploads:
            raise UsageError(
                f"--lms {choice}: no name in {folder} fits {choice.capitalize()}'s download format",
                hint=f"the formats: {FORMATS}; or use --lms auto (plain names: file stems as ids)",
            )
        return choice, uploads, odd
    fits = {lms: len({u.source.split("/")[0] for u in ups}) for lms, (ups, _) in found.items()}
    best = max(fits, key=lambda lms: fits[lms])
    if fits[best] == 0:
        return "", [], items
    return best, found[best][0], found[best][1]


def regroup(
    folder: Path, choice: str, notebook_name: str, scratch: Path, label: str = "", exclude: tuple[Path, ...] = ()
) -> Regrouped:
    """The class in `folder` as one folder per student under `scratch` (or `folder` itself when its
    names fit no LMS, or `choice` is "none")."""
    if choice == "none":
        return Regrouped(root=folder)
    lms, uploads, odd = _pick(folder, choice, exclude)
    if not lms:
        return Regrouped(
            root=folder,
            notes=[
                f"the names in {label or folder} fit no LMS download format "
                f"({FORMATS}): each file's or folder's name (without .ipynb) is the student id"
            ],
        )
    out = Regrouped(root=scratch, lms=lms)
    ids = _ids(uploads, lms)
    for lms_id, student in sorted(ids.items(), key=lambda kv: kv[1]):
        mine = [u for u in uploads if u.lms_id == lms_id]
        kept, left = _keep(mine, notebook_name)
        _copy(kept, scratch / student)
        lates = [u.late for u in kept if u.late is not None]
        out.students[student] = LmsStudent(
            lms=lms,
            lms_id=lms_id,
            display_name=mine[0].display_name,
            late=any(lates) if lates else None,
            sources=tuple(label + u.source for u in kept),
        )
        if any(u.name.lower().endswith(".ipynb") for u in left):
            out.warnings.append(
                f"{student}: graded the latest upload; left out " + ", ".join(label + u.source for u in left)
            )
    for item in odd:
        _odd(item, scratch, lms, label, out)
    return out


def _odd(item: Path, scratch: Path, lms: str, label: str, out: Regrouped) -> None:
    """A notebook or folder of a download that fits no name of its LMS: graded under its own name."""
    if not (item.is_dir() or item.name.lower().endswith(".ipynb")):
        out.warnings.append(f"{label}{item.name} fits no {lms.capitalize()} name and is no notebook: left out")
        return
    target = scratch / item.name
    student = item.name[: -len(".ipynb")] if item.is_file() else item.name
    if target.exists() or student in out.students:
        out.warnings.append(
            f"{label}{item.name} fits no {lms.capitalize()} name, and its name is a student's: left out"
        )
        return
    out.warnings.append(f"{label}{item.name} fits no {lms.capitalize()} name; graded as student '{student}'")
    (shutil.copytree if item.is_dir() else shutil.copy2)(item, target)
