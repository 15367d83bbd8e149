"""Read, validate and normalise submissions; strip solution markers from masters.

Reading never raises for a bad submission: it returns a `Submission` whose `problems`
say in plain words what was wrong and whose `cells` hold whatever code could be salvaged.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from grader.course import metadata_slug, metadata_version
from grader.submission.values import SubmittedFiles

MAX_BYTES = 50 * 1024 * 1024
CellKind = Literal["code", "markdown", "raw"]


@dataclass
class Cell:
    index: int  # position among all cells of the notebook
    source: str
    kind: CellKind = "code"
    tags: tuple[str, ...] = ()


@dataclass
class Submission:
    path: Path
    sha256: str
    cells: list[Cell] = field(default_factory=list)
    slug: str | None = None  # assignment slug from metadata, when present
    version: str | None = None  # the assignment's version the notebook was made from (metadata)
    readable: bool = True  # False: nothing could be graded
    problems: list[str] = field(default_factory=list)  # fatal reasons (readable=False)
    warnings: list[str] = field(default_factory=list)  # graded anyway, but the student should know
    files: SubmittedFiles = SubmittedFiles()  # what came with the notebook (grader.submission)

    @property
    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "code"]


def _source(raw: Any) -> str:
    if isinstance(raw, list):
        return "".join(str(part) for part in raw)
    return "" if raw is None else str(raw)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _kind(cell_type: str) -> CellKind:
    return "code" if cell_type == "code" else "markdown" if cell_type == "markdown" else "raw"


def raw_cells(data: Any) -> list[Any]:
    """The cells of a notebook's JSON as they are (v4: `cells`; v3: every worksheet's), untrusted:
    anything that is not a list of them gives none."""
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("cells"), list):
        return list(data["cells"])
    found: list[Any] = []
    if isinstance(data.get("worksheets"), list):
        for sheet in data["worksheets"]:
            if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list):
                found.extend(sheet["cells"])
    return found


def _cells_from_json(data: dict[str, Any]) -> list[Cell]:
    """Salvage cells from a v4 dict or a v3 dict (worksheets) without trusting its schema."""
    cells = []
    for index, raw in enumerate(raw_cells(data)):
        if not isinstance(raw, dict):
            continue
        kind = str(raw.get("cell_type", "code"))
        source = _source(raw.get("source", raw.get("input", "")))
        meta = _dict(raw.get("metadata"))
        tags = (
            tuple(str(t) for t in meta.get("tags", []) if isinstance(t, str))
            if isinstance(meta.get("tags"), list)
            else ()
        )
        cells.append(Cell(index=index, source=source, kind=_kind(kind), tags=tags))
    return cells


def _kernel_warnings(data: dict[str, Any]) -> list[str]:
    meta = _dict(data.get("metadata"))
    spec = _dict(meta.get("kernelspec"))
    name = str(spec.get("name", "")) + " " + str(spec.get("display_name", ""))
    lang = _dict(meta.get("language_info"))
    version = str(lang.get("version", ""))
    if re.search(r"python\s*2|python2", name, re.I) or version.startswith("2."):
        return ["The notebook names a Python 2 kernel; it was run with the grader's Python 3 kernel."]
    if spec and "python" not in name.lower():
        return [f"The notebook names the kernel '{name.strip()}'; it was run with the grader's Python kernel."]
    return []


def read_bounded(path: Path, keep: int) -> tuple[bytes, str]:
    """One pass over the file: its first `keep` bytes, and the sha256 of all of its bytes."""
    digest = hashlib.sha256()
    head = bytearray()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            if len(head) < keep:
                head += block[: keep - len(head)]
    return bytes(head), digest.hexdigest()


def read_submission(path: Path) -> Submission:
    """Read any notebook, or anything named like one, into cells and problems."""
    path = Path(path)
    raw, sha256 = read_bounded(path, MAX_BYTES + 1)
    sub = Submission(path=path, sha256=sha256)
    if len(raw) > MAX_BYTES:
        return _unreadable(
            sub, f"The file is larger than {MAX_BYTES // 2**20} MB; a notebook that big cannot be graded."
        )
    if not raw.strip():
        return _unreadable(
            sub, "The file is empty: it holds no notebook. Save your notebook in Jupyter and submit the .ipynb again."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if b"\x00" in raw[:4096]:
            return _unreadable(
                sub, "The file is binary data, not a notebook. Submit the .ipynb file that Jupyter saved."
            )
        return _unreadable(
            sub,
            f"The file is not UTF-8 text (bad byte at offset {exc.start}); notebooks are UTF-8 JSON. "
            "Save it again from Jupyter.",
        )
    text = text.lstrip("\ufeff")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return _not_json(sub, text, exc)
    if not isinstance(data, dict):
        return _unreadable(sub, "The file is JSON but not a notebook (its top level is not an object).")
    sub.slug = metadata_slug(data)
    sub.version = metadata_version(data)
    sub.warnings += _kernel_warnings(data)
    sub.cells = _normalised_cells(data, sub)
    return sub


def _normalised_cells(data: dict[str, Any], sub: Submission) -> list[Cell]:
    import nbformat
    from nbformat.warnings import MissingIDFieldWarning

    try:
        major = int(data.get("nbformat", 0))
    except (TypeError, ValueError):
        major = 0
    try:
        with warnings.catch_warnings():  # cells without ids (nbformat 4.5) are fine here: ids are not used
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            node = nbformat.reads(json.dumps(data), as_version=4)
            nbformat.validate(node)
    except Exception as exc:  # nbformat raises many kinds for bad input
        cells = _cells_from_json(data)
        detail = str(exc).splitlines()[0][:200]
        if not cells:
            sub.readable = False
            sub.problems.append(f"The notebook's structure is invalid ({detail}) and no cells could be recovered.")
        else:
            sub.warnings.append(
                f"The notebook's structure is invalid ({detail}); its {len(cells)} cells were graded as found."
            )
        return cells
    if major and major < 4:
        sub.warnings.append(f"The notebook is in the old nbformat {major} format; it was converted to nbformat 4.")
    return _cells_from_json(dict(node))


def _not_json(sub: Submission, text: str, exc: json.JSONDecodeError) -> Submission:
    if text.lstrip().startswith("{"):
        where = f"line {exc.lineno}, column {exc.colno}"
        if _ends_early(text):
            reason = (
                f"The notebook file is truncated: its JSON ends early ({where}). "
                "Save it again from Jupyter and resubmit."
            )
        else:
            reason = f"The notebook file is damaged: its JSON is invalid at {where} ({exc.msg})."
        return _unreadable(sub, reason)
    try:
        ast.parse(text)
    except SyntaxError:
        return _unreadable(
            sub, "The file is neither a notebook (JSON) nor Python code. Submit the .ipynb file that Jupyter saved."
        )
    sub.cells = [Cell(index=0, source=text)]
    sub.warnings.append("The file is a Python script named .ipynb, not a notebook; it was graded as one code cell.")
    return sub


def _ends_early(text: str) -> bool:
    """True when the JSON is cut short: an open string or unclosed brackets at the end of the file."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return in_string or depth > 0


def _unreadable(sub: Submission, reason: str) -> Submission:
    sub.readable = False
    sub.problems.append(reason)
    return sub
