"""The answer to a manual question, found in a submission and kept with its verdict as data.

The cell is named as `nb.cell` names one (grader.nb.cellfind): `tag`, `containing`, `after`.
Unlike an exercise's answer, a written answer may be a markdown cell, and may be the very cell
that holds the question (`containing` a line of the question, or its tag): with `after`, the
answer is the first non-empty cell after the markdown cell holding the text. What is kept: the
cell's text (bounded), and for a code cell what it showed when it ran at grading time: an image
(a plot) as PNG or JPEG data, checked to be base64, and text. Nothing that could run when shown
(HTML, SVG, JavaScript) is kept; the text is the student's and is escaped wherever it is shown.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Mapping, Sequence

from grader.nb.cellfind import contains_line, label_of
from grader.submission.notebook import Cell
from grader.policy.questions import ManualQuestion
from grader.results import ManualAnswer

MAX_TEXT = 20_000  # characters of an answer's text kept
MAX_IMAGE = 2 * 1024 * 1024  # bytes of base64 of one image kept
MAX_OUTPUTS = 8
IMAGES = ("image/png", "image/jpeg")
STUBS = ("YOUR ANSWER HERE",)  # what `grader assign` leaves in a written answer's cell: not an answer


def locate(question: ManualQuestion, cells: Sequence[Cell]) -> tuple[Cell, Cell | None] | None:
    """(the answer's cell, the markdown cell that led to it) or None: not in the submission."""
    ordered = sorted(cells, key=lambda c: c.index)
    if question.tag is not None:
        hit = next((c for c in ordered if question.tag in c.tags), None)
        return None if hit is None else _answer_of(hit, ordered)
    if question.containing is not None:
        text = question.containing
        hit = next((c for c in ordered if c.kind != "raw" and contains_line(c.source, text)), None)
        return None if hit is None else (hit, None)
    marker = next((c for c in ordered if c.kind == "markdown" and str(question.after).strip() in c.source), None)
    if marker is None:
        return None
    later = next((c for c in ordered if c.index > marker.index and c.kind != "raw" and c.source.strip()), None)
    return None if later is None else (later, marker)


def _answer_of(hit: Cell, ordered: Sequence[Cell]) -> tuple[Cell, Cell | None]:
    """A tagged cell answers itself; a tagged cell that is only the question (a heading), the
    non-empty cell after it."""
    lines = [line for line in hit.source.splitlines() if line.strip()]
    if hit.kind == "markdown" and lines and all(line.lstrip().startswith("#") for line in lines):
        later = next((c for c in ordered if c.index > hit.index and c.kind != "raw" and c.source.strip()), None)
        if later is not None:
            return later, hit
    return hit, None


def find_answer(
    question: ManualQuestion, cells: Sequence[Cell], outputs: Mapping[int, list[Any]] | None = None
) -> ManualAnswer:
    """The answer to `question` among `cells`, with what its cell showed (`outputs`: by cell index)."""
    found = locate(question, cells)
    if found is None:
        return ManualAnswer(
            question=question.name,
            title=question.title,
            points=question.points,
            where=f"no cell found: {question.describe()} is not in the notebook",
        )
    cell, marker = found
    if cell.source.strip() in STUBS:
        return ManualAnswer(
            question=question.name,
            title=question.title,
            points=question.points,
            cell=cell.index,
            where=f"{label_of(cell, marker)} still says {cell.source.strip()}",
        )
    shown = kept_outputs((outputs or {}).get(cell.index, [])) if cell.kind == "code" else []
    return ManualAnswer(
        question=question.name,
        title=question.title,
        points=question.points,
        found=True,
        cell=cell.index,
        where=label_of(cell, marker),
        kind=cell.kind,
        text=cell.source[:MAX_TEXT],
        outputs=shown,
    )


def find_answers(
    questions: Sequence[ManualQuestion], cells: Sequence[Cell], outputs: Mapping[int, list[Any]] | None = None
) -> list[ManualAnswer]:
    return [find_answer(q, cells, outputs) for q in questions]


def no_answers(questions: Sequence[ManualQuestion], why: str) -> list[ManualAnswer]:
    """The answers of a submission that could not be read: none found."""
    return [ManualAnswer(question=q.name, title=q.title, points=q.points, where=why) for q in questions]


def kept_outputs(outputs: Sequence[Any]) -> list[dict[str, str]]:
    """What a code cell showed, as data: images (base64 checked, bounded) and text; nothing else."""
    kept: list[dict[str, str]] = []
    for out in outputs:
        if not isinstance(out, Mapping) or len(kept) >= MAX_OUTPUTS:
            continue
        if out.get("output_type") == "stream":
            kept.append({"mime": "text/plain", "data": _text(out.get("text"))})
            continue
        data = out.get("data")
        if not isinstance(data, Mapping):
            continue
        image = next((m for m in IMAGES if is_base64(data.get(m))), None)
        if image is not None:
            kept.append({"mime": image, "data": "".join(str(data[image]).split())})
        elif "text/plain" in data:
            kept.append({"mime": "text/plain", "data": _text(data.get("text/plain"))})
    return kept


def _text(value: object) -> str:
    text = "".join(map(str, value)) if isinstance(value, list) else str(value or "")
    return text[:MAX_TEXT]


def is_base64(value: object) -> bool:
    """Image data as a page may show it: base64 only, bounded."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_IMAGE:
        return False
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
