"""The similarity section of the class report, and the pairs as JSON.

Everything a student wrote is escaped: the side-by-side code is cut into pieces at the matched
regions and each piece goes through the template's autoescape; the highlight is a <mark> around
escaped text, never markup built from the code.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from grader.similarity.compare import Findings, Pair, Side

SHOWN = 50  # pairs shown side by side in the report (all are in --json)
ROWS = 200  # rows of the per-exercise table


@dataclass(frozen=True)
class Piece:
    text: str
    marked: bool


def pieces(code: str, regions: list[tuple[int, int]]) -> list[Piece]:
    """`code` cut at the regions, each piece marked or not (the text as written: escaped later)."""
    out, at = [], 0
    for start, end in sorted(regions):
        start, end = max(start, at), min(end, len(code))
        if start >= end:
            continue
        if start > at:
            out.append(Piece(code[at:start], False))
        out.append(Piece(code[start:end], True))
        at = end
    if at < len(code):
        out.append(Piece(code[at:], False))
    return out


def side_view(found: Findings, side: Side, exercise: str) -> list[dict[str, Any]]:
    """The parts of one side with their matched regions: only the parts in the comparison's scope
    that hold a match."""
    code = found.code.get((side.earlier, side.student), {})
    shown = []
    for part, text in code.items():
        if exercise and part != exercise:
            continue
        regions = [(r.start, r.end) for r in side.regions if r.exercise == part]
        if regions:
            shown.append({"part": part or "outside the exercises", "pieces": pieces(text, regions)})
    return shown


def percent(share: float) -> str:
    return f"{share:.0%}"


def sentence(pair: Pair) -> str:
    """The words of a pair: they describe what matches, they judge nothing."""
    a, b = pair.a, pair.b
    what = f"in {pair.exercise}" if pair.exercise else "of their own code"
    if percent(a.share) == percent(b.share):
        return f"these two share {percent(a.share)} {what} ({a.tokens} and {b.tokens} tokens)"
    return (
        f"{percent(a.share)} of {a.label}'s own code {'in ' + pair.exercise if pair.exercise else ''} "
        f"({a.tokens} tokens) matches {b.label}'s; {percent(b.share)} of {b.label}'s ({b.tokens} tokens) "
        f"matches {a.label}'s"
    ).replace("  ", " ")


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.similarity", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_section(found: Findings) -> str:
    """The report's section (HTML, every student's text escaped)."""
    whole = found.whole()
    views = [
        {
            "pair": p,
            "words": sentence(p),
            "a": side_view(found, p.a, p.exercise),
            "b": side_view(found, p.b, p.exercise),
        }
        for p in whole[:SHOWN]
    ]
    by_exercise = [p for p in found.pairs if p.exercise]
    per_exercise = [{"pair": p, "words": sentence(p)} for p in by_exercise[:ROWS]]
    return (
        _env()
        .get_template("similarity.html.j2")
        .render(
            found=found,
            views=views,
            hidden=max(0, len(whole) - SHOWN),
            per_exercise=per_exercise,
            rows_hidden=max(0, len(by_exercise) - ROWS),
            percent=percent,
        )
    )


def pairs_json(found: Findings) -> str:
    """`grader similarity --json`: every pair at or above the threshold, whole and per exercise."""
    return json.dumps([p.row() for p in found.pairs], indent=1, ensure_ascii=False) + "\n"


def page(title: str, found: Findings) -> str:
    """The section as a page of its own (`grader similarity --html`)."""
    return _env().get_template("page.html.j2").render(title=title, section=_markup(render_section(found)))


def _markup(html: str) -> Any:
    from markupsafe import Markup

    return Markup(html)  # render_section's own output: its student text is escaped already
