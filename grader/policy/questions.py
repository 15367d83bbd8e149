"""[manual.<name>] tables of assignment.toml: questions a person grades, and their rubrics.

    [manual.why_view]
    title = "Why is `view` preferred to `resize_`?"
    points = 2
    after = "Question A"          # or tag = "..." or containing = "...": the cell that holds the answer
    [[manual.why_view.rubric]]
    id = "contiguous"
    text = "Says view shares storage and never reallocates"
    points = 1                    # positive, or negative for a deduction

The cell is named by one of the keys of `nb.cell` (tag, containing, after); unlike `nb.cell`,
the answer may be a markdown cell, and may be the cell that holds the question itself
(grader.policy.answers finds it). Everything is validated here, as grader.config validates the
rest of the file: an unknown key names the file, the table and the key (exit 2).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from grader.errors import AssignmentError

QUESTION_KEYS = ("title", "points", "tag", "containing", "after", "rubric")
CELL_KEYS = ("tag", "containing", "after")
RUBRIC_KEYS = ("id", "text", "points")


@dataclass(frozen=True)
class RubricItem:
    id: str
    text: str
    points: float  # added to the question's points when applied; negative: a deduction


@dataclass(frozen=True)
class ManualQuestion:
    """A question a person grades: where its answer is, what it is worth, its rubric."""

    name: str
    title: str
    points: float
    tag: str | None = None
    containing: str | None = None
    after: str | None = None
    rubric: tuple[RubricItem, ...] = ()

    def item(self, item_id: str) -> RubricItem | None:
        return next((i for i in self.rubric if i.id == item_id), None)

    def describe(self) -> str:
        """How the answer's cell is named, in words."""
        if self.tag is not None:
            return f"the cell tagged '{self.tag}'"
        if self.containing is not None:
            return f"the cell containing '{self.containing}'"
        return f"the cell after the text '{self.after}'"


def _known(word: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return (f"did you mean {close[0]!r}? " if close else "") + "known keys: " + ", ".join(known)


def _unknown(where: Path, table: str, key: str, known: tuple[str, ...]) -> AssignmentError:
    return AssignmentError(f"{where}: unknown key '{key}' in [{table}]", hint=_known(key, known))


def _points(where: Path, table: str, value: object, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AssignmentError(
            f"{where}: [{table}] points = {value!r} is not a number", hint="write points = 2, without quotes"
        )
    if positive and value <= 0:
        raise AssignmentError(
            f"{where}: [{table}] points = {value:g} must be more than 0",
            hint="a manual question is worth some points: write points = 2",
        )
    if not positive and value == 0:
        raise AssignmentError(
            f"{where}: [{table}] points = 0: a rubric item must add or take away points",
            hint="write points = 1 (added) or points = -1 (a deduction)",
        )
    return float(value)


def _string(where: Path, table: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AssignmentError(
            f"{where}: [{table}] {key} = {value!r} is not a non-empty string", hint=f'write {key} = "..." in quotes'
        )
    return value


def _rubric(where: Path, name: str, raw: object) -> tuple[RubricItem, ...]:
    table = f"manual.{name}.rubric"
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise AssignmentError(
            f"{where}: [{table}] must be a list of tables",
            hint=f"write each item as [[{table}]] with id, text and points",
        )
    items: list[RubricItem] = []
    for row in raw:
        for key in row:
            if key not in RUBRIC_KEYS:
                raise _unknown(where, f"[{table}]", key, RUBRIC_KEYS)
        for key in RUBRIC_KEYS:
            if key not in row:
                raise AssignmentError(
                    f"{where}: an item of [[{table}]] has no {key}", hint="each rubric item needs id, text and points"
                )
        item = RubricItem(
            id=_string(where, table, "id", row["id"]),
            text=_string(where, table, "text", row["text"]),
            points=_points(where, table, row["points"], positive=False),
        )
        if any(i.id == item.id for i in items):
            raise AssignmentError(
                f"{where}: [[{table}]] has two items with id {item.id!r}",
                hint="give each rubric item of a question its own id",
            )
        items.append(item)
    return tuple(items)


def _question(where: Path, name: str, raw: object) -> ManualQuestion:
    table = f"manual.{name}"
    if not isinstance(raw, dict):
        raise AssignmentError(
            f"{where}: [{table}] must be a table",
            hint=f"write [{table}] on a line of its own, then title, points and one of tag, containing, after",
        )
    for key in raw:
        if key not in QUESTION_KEYS:
            raise _unknown(where, table, key, QUESTION_KEYS)
    given = [key for key in CELL_KEYS if key in raw]
    if len(given) != 1:
        raise AssignmentError(
            f"{where}: [{table}] names its answer's cell with {' and '.join(given) or 'no key'}",
            hint="give exactly one of tag, containing or after (as for nb.cell)",
        )
    if "points" not in raw:
        raise AssignmentError(f"{where}: [{table}] has no points", hint="write points = 2")
    cell = {given[0]: _string(where, table, given[0], raw[given[0]])}
    title = _string(where, table, "title", raw["title"]) if "title" in raw else name
    return ManualQuestion(
        name=name,
        title=title,
        points=_points(where, table, raw["points"], positive=True),
        rubric=_rubric(where, name, raw.get("rubric", [])),
        **cell,
    )


def read_manual(where: Path, raw: object) -> tuple[ManualQuestion, ...]:
    """[manual]: one table per question, in the order of the file."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise AssignmentError(
            f"{where}: [manual] must hold one table per question",
            hint="write [manual.why_view] with title, points and tag/containing/after",
        )
    return tuple(_question(where, str(name), value) for name, value in raw.items())
