"""The desk's page of code shared between students (`/assignments/{slug}/similarity`) and its
JSON twin under /api: grader.similarity's comparison of the class's fingerprints in the gradebook,
shown with the report's own section (grader.similarity.view: every student's text escaped there).
The comparison runs again only when the class's verdicts change."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.desk.service import Desk
    from grader.similarity.compare import Findings

_LOCK = threading.Lock()
# each desk's slug -> (its verdicts' stamp, findings)
_CACHE: "weakref.WeakKeyDictionary[Desk, dict[str, tuple[str, Findings]]]" = weakref.WeakKeyDictionary()


def findings(desk: "Desk", slug: str) -> "Findings":
    """The class's pairs, clusters and too-short answers, compared from the fingerprints each
    verdict keeps (a submission graded before they were kept is left out: no notebook is read)."""
    from grader.similarity.classwide import for_class

    rows = desk.students(slug)  # NotFound for an assignment the gradebook lacks
    stamp = verdicts_stamp(rows)
    with _LOCK:
        mine = _CACHE.setdefault(desk, {})
        cached = mine.get(slug)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        found = for_class(desk.book, desk.assignment(slug), [(r.student, r.sha256, None) for r in rows])
        mine[slug] = (stamp, found)
        return found


def verdicts_stamp(rows: list[Any]) -> str:
    return "|".join(f"{r.student}:{r.sha256}" for r in rows)


def page_data(desk: "Desk", slug: str) -> dict[str, Any]:
    """What the page shows: the report's section (its student text escaped) and a count of pairs."""
    from markupsafe import Markup

    from grader.similarity.view import render_section

    found = findings(desk, slug)
    # render_section's own output: every piece of student code went through its autoescape
    return {
        "title": desk.assignment(slug).title,
        "section": Markup(render_section(found)),
        "pairs": len(found.whole()),
        "compared": found.students,
    }


def to_json(desk: "Desk", slug: str) -> dict[str, Any]:
    """GET /api/assignments/{slug}/similarity."""
    from grader.similarity.view import sentence

    found = findings(desk, slug)
    return {
        "assignment": slug,
        "compared": found.students,
        "threshold": found.config.threshold,
        "min_tokens": found.config.min_tokens,
        "pairs": [{**p.row(), "words": sentence(p)} for p in found.pairs],
        "clusters": [list(group) for group in found.clusters],
        "too_short": {exercise: list(students) for exercise, students in found.too_short.items()},
        "no_code": list(found.no_code),
    }
