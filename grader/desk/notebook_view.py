"""A student's notebook as the desk shows it: every cell and output as text (escaped by the
template), images as data: URIs of a checked base64 body, and nothing else. Markdown, HTML, SVG
and JavaScript outputs are never rendered: a student's notebook is hostile (a <script> in a
markdown cell, an output, an exception message), and text is what a grader needs to read."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.submission.notebook import raw_cells

MAX_BYTES = 20 * 1024 * 1024  # a notebook larger than this is not shown
MAX_TEXT = 20_000  # characters of one cell or output shown
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")


@dataclass(frozen=True)
class OutputView:
    kind: str  # "text", "error" or "image"
    text: str = ""
    image: str = ""  # a data: URI


@dataclass(frozen=True)
class CellView:
    index: int
    kind: str  # "code", "markdown", "raw"
    source: str
    outputs: list[OutputView] = field(default_factory=list)


@dataclass(frozen=True)
class NotebookView:
    cells: list[CellView]
    note: str = ""  # why the notebook is not (or not exactly) what was graded


def locate(submissions: Path, student: str, notebook_name: str) -> Path | None:
    """The student's notebook in a class folder (<student>.ipynb or <student>/), never outside it."""
    from grader.submission.pick import pick_notebook

    if not student or "/" in student or "\\" in student or student in (".", "..") or "\0" in student:
        return None
    root = submissions.resolve()
    flat = root / f"{student}.ipynb"
    if flat.is_file() and not flat.is_symlink() and flat.resolve().parent == root:
        return flat
    folder = root / student
    if folder.is_dir() and not folder.is_symlink() and folder.resolve().parent == root:
        path, _problem = pick_notebook(student, folder, notebook_name)
        return path
    return None


def load(submissions: Path | None, student: str, notebook_name: str, sha256: str) -> NotebookView:
    from grader.submission.collect import file_sha256

    if submissions is None:
        return NotebookView(
            [], "start the desk with --submissions (the class folder the batch graded) to see notebooks"
        )
    if submissions.is_file():
        return NotebookView([], f"the notebook is inside {submissions.name}; unpack the class to see it here")
    path = locate(submissions, student, notebook_name)
    if path is None:
        return NotebookView([], f"no notebook of this student in {submissions}")
    if path.stat().st_size > MAX_BYTES:
        return NotebookView([], f"the notebook is larger than {MAX_BYTES // 1024 // 1024} MB; not shown")
    note = "" if file_sha256(path) == sha256 else "the file changed since it was graded: this is the file as it is now"
    try:
        data = json.loads(path.read_bytes().decode("utf-8", "replace"))
    except (json.JSONDecodeError, RecursionError):
        return NotebookView([], "the notebook is not valid JSON (its verdict says what the grader could read)")
    return NotebookView(cells(data), note)


def cells(data: Any) -> list[CellView]:
    out = []
    for i, cell in enumerate(raw_cells(data)):
        if not isinstance(cell, dict):
            continue
        kind = str(cell.get("cell_type", "raw"))
        source = text_of(cell.get("source", cell.get("input", "")))
        outputs = [o for o in (output(x) for x in cell.get("outputs", []) or [] if isinstance(x, dict)) if o]
        out.append(CellView(i, kind if kind in ("code", "markdown", "raw") else "raw", source, outputs))
    return out


def text_of(value: Any) -> str:
    text = "".join(str(v) for v in value) if isinstance(value, list) else str(value or "")
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"\n… ({len(text) - MAX_TEXT} more characters)"


def output(raw: dict[str, Any]) -> OutputView | None:
    kind = raw.get("output_type")
    if kind == "stream":
        return OutputView("text", text_of(raw.get("text", "")))
    if kind in ("error", "pyerr"):
        trace = "\n".join(strip_ansi(str(t)) for t in raw.get("traceback", []) or [])
        return OutputView("error", text_of(trace or f"{raw.get('ename', '')}: {raw.get('evalue', '')}"))
    found = raw.get("data")
    data: dict[str, Any] = found if isinstance(found, dict) else {}
    for mime in IMAGE_TYPES:
        if mime in data:
            image = image_uri(mime, data[mime])
            if image:
                return OutputView("image", image=image)
    if "text/plain" in data:
        return OutputView("text", text_of(data["text/plain"]))
    for mime, value in data.items():  # html, svg, javascript ...: shown as the text they are
        return OutputView("text", f"[{mime}]\n" + text_of(value))
    return None


def image_uri(mime: str, value: Any) -> str:
    body = "".join(value) if isinstance(value, list) else str(value)
    body = "".join(body.split())
    try:
        base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return f"data:{mime};base64,{body}"


def strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
