"""Render a Result for people. Hidden checks are shown through `Result.public_view()` only."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from grader.policy.answers import IMAGES, is_base64
from grader.policy.manual import STUDENT_WORDS, WAITING_WORDS, final_of, points_of, status
from grader.results import ManualAnswer, Result, detail_lines, number_text, shape_text
from grader.verdict import exercise_totals

if TYPE_CHECKING:
    from grader.policy.final import FinalGrade


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    """The Jinja environment of the feedback templates (made once; jinja2 is imported here)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader.feedback", "templates"),
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),  # feedback.html.j2 must be escaped
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        finalize=_printable,
    )
    env.filters["num"] = number_text
    env.filters["mdquote"] = _md_quote
    env.filters["mdcell"] = _md_cell
    env.filters["shape"] = shape_text
    env.filters["details"] = detail_lines
    return env


# Control characters (escape sequences, carriage returns ...) in student text could redraw a
# terminal, e.g. clear it and print a fake "Score: 4/4". Tab and newline stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(value: Any) -> Any:
    if isinstance(value, str) and _CONTROL.search(value):
        cleaned = _CONTROL.sub("", value)
        return type(value)(cleaned) if type(value) is not str else cleaned  # keeps markupsafe.Markup
    return value


_MD_SPECIAL = re.compile(r"([\\*\[\]<>#|!~])")


def _md_escape(value: Any) -> str:
    """Student text as literal Markdown: no heading, link, HTML or table cell of its own."""
    return _MD_SPECIAL.sub(r"\\\1", str(value))


def _md_quote(value: Any) -> str:
    """Literal text that stays inside the `> ` block quote it starts in, however many lines it has."""
    return "\n> ".join(_md_escape(line) for line in str(value).splitlines() or [""])


def _md_cell(value: Any) -> str:
    """Literal text on one line, for a table cell."""
    return _md_escape(" ".join(str(value).split()))


def context(
    result: Result, title: str | None, late: dict[str, Any] | None = None, grade: "FinalGrade | None" = None
) -> dict[str, Any]:
    """What every template is given: the public view of `result`, grouped by exercise; `late`: the
    late policy's facts; `grade`: the final grade when a grader adjusted it (grader.policy.final)."""
    view = result.public_view()
    groups = view.by_exercise()
    sums = exercise_totals(groups)
    exercises = []
    for name, checks in groups.items():
        if not checks:
            continue
        score, points = sums[name]
        carried = sorted({n for c in checks if c.carried_forward for n in c.carried_forward.split(", ")})
        exercises.append(
            {
                "name": name,
                "title": result.exercises.get(name, name),
                "checks": checks,
                "score": score,
                "points": points,
                "passed": all(c.passed for c in checks),
                "carried": carried,
            }
        )  # right given correct ones of these (checks/carry.py)
    grade = grade if grade is not None and grade.applied else None  # the desk's adjustments, where any
    final = grade or final_of(result, late["penalty_percent"] if late else None)  # late["final"] is final.final
    return {
        "r": view,
        "title": title or result.assignment,
        "exercises": exercises,
        "final": final,
        "late": late,
        "grade": grade,
        "manual": [manual_entry(a) for a in result.manual],
        "waiting_words": WAITING_WORDS,
        "student_words": STUDENT_WORDS,
        "percent": (100.0 * final.final / final.max_score) if final.max_score else 0.0,
    }


def manual_entry(answer: ManualAnswer) -> dict[str, Any]:
    """A manual question as the templates show it; images only as checked base64 PNG/JPEG data."""
    images = [o for o in answer.outputs if o.get("mime") in IMAGES and is_base64(o.get("data"))]
    texts = [o["data"] for o in answer.outputs if o.get("mime") == "text/plain"]
    return {"a": answer, "status": status(answer), "points": points_of(answer), "images": images, "texts": texts}


def compile_templates() -> None:
    """Compile every feedback template now (~0.04 s): a process that forks the checks that render
    them (the warm server) does it once, not each check."""
    env = environment()
    for name in env.list_templates(extensions=["j2"]):
        env.get_template(name)


def render_html(
    result: Result, *, title: str | None = None, late: dict[str, Any] | None = None, grade: "FinalGrade | None" = None
) -> str:
    """One self-contained HTML page: no external assets. `late`: the late policy's facts
    (grader.policy.submitted.Shown.late_data), shown under the score; `grade`: the final grade with
    the graders' adjustments, each shown with its reason."""
    return environment().get_template("feedback.html.j2").render(**context(result, title, late, grade))


def render_markdown(result: Result, *, title: str | None = None) -> str:
    return environment().get_template("feedback.md.j2").render(**context(result, title))


def render_inline(result: Result, *, title: str | None = None) -> str:
    """A compact HTML fragment (scoped styles, no <html>/<body>) for a notebook's output area."""
    return environment().get_template("feedback.inline.html.j2").render(**context(result, title))


def render_text(result: Result, *, title: str | None = None) -> str:
    """A terminal summary readable without colour."""
    return environment().get_template("feedback.txt.j2").render(**context(result, title))
