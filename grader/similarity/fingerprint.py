"""A submission's own code, and its fingerprints: per exercise, and for the code outside them.

Own code is the code cells of the notebook and the student's own `.py` files, less what every
student received: a cell identical to one of the released notebook's is left out, and so is
every line of a cell that is a line of the released notebook's code (the stubs' `def` lines,
`raise NotImplementedError()`, the given calls under an answer); the k-grams of the released code
are removed from the fingerprints as well (copydetect's boilerplate). An exercise's own code is
the code cells under its heading in the notebook (`## Exercise 1: ...`, matched by its title in
assignment.toml) or a cell that opens with its comment (`# Exercise 1: ...`).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.config import Assignment
from grader.submission.notebook import Cell
from grader.similarity.winnow import METHOD, NOISE, kgram_hashes, normalise, pack, unpack, winnow

MAX_PY_BYTES = 256 * 1024  # a student's .py file larger than this is not fingerprinted
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*\S)\s*$", re.M)
OPENING = re.compile(r"^\s*#+\s*(.*\S)")


@dataclass(frozen=True)
class Part:
    """The fingerprints of one exercise's own code ("" for the code outside the exercises)."""

    exercise: str
    code: str  # the own code, as shown side by side
    tokens: int  # tokens that count
    length: int  # normalised characters
    hashes: Any  # int64: the winnowed hashes, boilerplate removed
    positions: Any  # int64: where each hash's k-gram starts in the normalised text
    starts: Any  # int32: where it starts in `code`
    ends: Any  # int32: where it ends in `code`

    def prints(self) -> str:
        """The arrays as stored in the gradebook."""
        return json.dumps(
            {
                "h": pack(self.hashes, "<i8"),
                "p": pack(self.positions, "<i8"),
                "s": pack(self.starts, "<i4"),
                "e": pack(self.ends, "<i4"),
            }
        )

    @staticmethod
    def empty() -> "Part":
        """The part of a submission with no code of its own."""
        import numpy as np

        none = np.zeros(0, dtype=np.int64)
        return Part("", "", 0, 0, none, none, none.astype(np.int32), none.astype(np.int32))

    @staticmethod
    def stored(exercise: str, code: str, tokens: int, length: int, prints: str) -> "Part":
        data = json.loads(prints)
        return Part(
            exercise,
            code,
            tokens,
            length,
            unpack(data["h"], "<i8"),
            unpack(data["p"], "<i8"),
            unpack(data["s"], "<i4"),
            unpack(data["e"], "<i4"),
        )


@dataclass(frozen=True)
class Release:
    """What every student received: the released notebook's code cells, lines and k-grams."""

    cells: frozenset[str]
    lines: frozenset[str]
    kgrams: Any  # sorted int64


@functools.lru_cache(maxsize=8)
def release_of(notebook: Path, mtime: float) -> Release:
    from grader.submission.notebook import read_submission

    cells = [c.source for c in read_submission(notebook).code_cells]
    lines = {line.strip() for source in cells for line in source.splitlines() if line.strip()}
    import numpy as np

    kgrams = np.unique(np.concatenate([kgram_hashes(normalise(s).text) for s in cells] or [np.zeros(0, np.int64)]))
    return Release(frozenset(c.strip() for c in cells), frozenset(lines), kgrams)


def release(assignment: Assignment) -> Release:
    path = assignment.root / assignment.notebook
    return release_of(path, path.stat().st_mtime) if path.is_file() else Release(frozenset(), frozenset(), _empty())


def _empty() -> Any:
    import numpy as np

    return np.zeros(0, dtype=np.int64)


def _labels(assignment: Assignment) -> list[tuple[str, str]]:
    """(the words that name an exercise in a heading, its name): "exercise 1" for "Exercise 1: ..."."""
    found = []
    for name, title in assignment.exercises.items():
        found.append((_plain(title.split(":")[0]), name))
        found.append((_plain(name), name))
    return found


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _named(text: str, labels: list[tuple[str, str]]) -> str | None:
    words = _plain(text)
    for label, name in labels:
        if label and (words == label or words.startswith(label + " ")):
            return name
    return None


def exercise_cells(cells: list[Cell], assignment: Assignment) -> list[tuple[str, Cell]]:
    """Each code cell with the exercise it answers ("" for none)."""
    labels, current, level = _labels(assignment), "", 7
    out: list[tuple[str, Cell]] = []
    for cell in cells:
        if cell.kind == "markdown":
            for hashes, text in HEADING.findall(cell.source):
                name = _named(text, labels)
                if name is not None:
                    current, level = name, len(hashes)
                elif len(hashes) <= level:
                    current, level = "", 7
        elif cell.kind == "code":
            opening = OPENING.match(cell.source)
            named = _named(opening.group(1), labels) if opening else None
            out.append((named or current, cell))
    return out


def own_lines(source: str, given: Release) -> str:
    if source.strip() in given.cells:
        return ""
    return "\n".join(line for line in source.splitlines() if line.strip() not in given.lines).strip("\n")


def own_code(cells: list[Cell], files: list[tuple[str, str]], assignment: Assignment) -> dict[str, str]:
    """Exercise name ("" for the rest) -> the student's own code in it, cells and .py files."""
    given = release(assignment)
    pieces: dict[str, list[str]] = {}
    for exercise, cell in exercise_cells(cells, assignment):
        code = own_lines(cell.source, given)
        if code.strip():
            pieces.setdefault(exercise, []).append(f"# [cell {cell.index + 1}]\n{code}")
    for name, text in files:
        code = own_lines(text, given)
        if code.strip():
            label = re.sub(r"[^\w.\-]", "_", name)[:80]  # a file name stays one comment line
            pieces.setdefault("", []).append(f"# [file {label}]\n{code}")
    return {exercise: "\n\n".join(parts) + "\n" for exercise, parts in pieces.items()}


def part(exercise: str, code: str, given: Release) -> Part:
    """The fingerprints of one piece of own code."""
    import numpy as np

    norm = normalise(code)
    hashes = kgram_hashes(norm.text)
    chosen = winnow(hashes)
    if len(chosen) and len(given.kgrams):
        chosen = chosen[~np.isin(hashes[chosen], given.kgrams)]
    starts = norm.starts[chosen] if len(chosen) else np.zeros(0, np.int32)
    ends = norm.ends[np.minimum(chosen + NOISE - 1, len(norm.ends) - 1)] if len(chosen) else np.zeros(0, np.int32)
    return Part(exercise, code, norm.tokens, len(norm.text), hashes[chosen], chosen.astype(np.int64), starts, ends)


def fingerprint(cells: list[Cell], files: list[tuple[str, str]], assignment: Assignment) -> list[Part]:
    """The parts of one submission's own code, exercises in the assignment's order, the rest last."""
    given = release(assignment)
    code = own_code(cells, files, assignment)
    order = [*assignment.exercises, *sorted(set(code) - set(assignment.exercises) - {""}), ""]
    return [part(name, code[name], given) for name in order if name in code]


def fingerprint_path(path: Path, assignment: Assignment) -> list[Part]:
    """The parts of the submission at `path` (a notebook, a student's folder or zip), the
    notebook chosen as the grader chooses it; none for an unreadable one. A notebook alone or in
    a folder is read as plain JSON (nbformat's validation was half the cost); a zip, or a
    notebook that is not plain nbformat 4, goes through the grader's own reading."""
    from grader.submission.opened import is_zip

    if is_zip(path):
        return _through_grader(path, assignment)
    notebook: Path | None = path
    if path.is_dir():
        from grader.submission.pick import pick_notebook

        notebook, _ = pick_notebook(path.name, path, assignment.notebook)
    if notebook is None:
        return []
    cells = plain_cells(notebook)
    if cells is None:
        return _through_grader(path, assignment)
    files = py_files(notebook.parent, assignment.limits.submitted_files) if path.is_dir() else []
    return fingerprint(cells, files, assignment)


def plain_cells(notebook: Path) -> list[Cell] | None:
    """The cells of an nbformat 4 notebook read as JSON, or None for anything else."""
    from grader.submission.notebook import MAX_BYTES

    try:
        if notebook.stat().st_size > MAX_BYTES:
            return None
        data = json.loads(notebook.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    raw = data.get("cells") if isinstance(data, dict) and data.get("nbformat") == 4 else None
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        return None
    cells = []
    for index, cell in enumerate(raw):
        source = cell.get("source", "")
        text = "".join(str(s) for s in source) if isinstance(source, list) else str(source)
        kind = cell.get("cell_type")
        cells.append(Cell(index, text, "code" if kind == "code" else "markdown" if kind == "markdown" else "raw"))
    return cells


def py_files(folder: Path, most: int, visits: int = 2000) -> list[tuple[str, str]]:
    """The student's own .py files in their folder: no links, no hidden folders, at most `most`
    files, and at most `visits` entries looked at (a folder that holds a whole environment)."""
    import os

    found: list[tuple[str, str]] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (Path(root) / d).is_symlink())
        visits -= len(dirs) + len(files)
        for name in sorted(files):
            file = Path(root) / name
            if len(found) >= most or not name.endswith(".py") or name.startswith(".") or file.is_symlink():
                continue
            if file.is_file() and file.stat().st_size <= MAX_PY_BYTES:
                found.append((file.relative_to(folder).as_posix(), file.read_text(encoding="utf-8", errors="replace")))
        if visits <= 0 or len(found) >= most:
            break
    return found


def _through_grader(path: Path, assignment: Assignment) -> list[Part]:
    from grader.submission.opened import open_submission

    with open_submission(path, assignment, beside=False) as opened:
        submission = opened.submission
        if not submission.readable:
            return []
        files = []
        for received in submission.files.received:
            if received.name.endswith(".py") and received.bytes <= MAX_PY_BYTES:
                files.append((received.name, Path(received.source).read_text(encoding="utf-8", errors="replace")))
        return fingerprint(submission.cells, files, assignment)


__all__ = ["METHOD", "Part", "fingerprint", "fingerprint_path", "own_code", "exercise_cells"]
