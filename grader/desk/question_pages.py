"""The desk's grade-by-question pages: one answer at a time, the rubric as buttons, a comment,
next and previous (thin views over grader.desk.questions, itself over grader.policy.grading)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from grader.batch.adjustments import NotAllowed
from grader.desk.pages import back_to, call, form_save, page, state_of
from grader.desk.questions import filter_of, grade, question_view, set_item_points, shown_outputs
from grader.desk.web import base_of, flash, render
from grader.errors import GraderError

ONLY_WORDS = {"all": "all", "not graded": "not-graded", "graded": "graded"}  # the filter back as ?only=


def question_url(request: Any, slug: str, question: str, student: str | None = None, only: str = "all") -> str:
    url = f"{base_of(request)}/assignments/{quote(slug, safe='')}/questions/{quote(question, safe='')}"
    if student:
        url += f"/students/{quote(student, safe='')}"
    return url + (f"?only={ONLY_WORDS.get(only, 'all')}" if only != "all" else "")


@page
async def question(request: Any) -> Any:
    """/assignments/{slug}/questions/{question}[/students/{student}]?only=not-graded"""
    slug, name = request.path_params["slug"], request.path_params["question"]
    only = filter_of(request.query_params.get("only", ""))
    view = await call(question_view, state_of(request).desk, slug, name, request.path_params.get("student"), only)
    row = view["row"]
    links = {
        "before": question_url(request, slug, name, view["before"], only) if view["before"] else "",
        "after": question_url(request, slug, name, view["after"], only) if view["after"] else "",
        "all": question_url(request, slug, name, row.student if row else None),
        "not_graded": question_url(request, slug, name, None, "not graded"),
    }
    return render(
        request,
        "question.html.j2",
        user=request.state.user,
        slug=slug,
        links=links,
        outputs=shown_outputs(row.answer.outputs) if row else [],
        only_param=ONLY_WORDS[only],
        **view,
    )


@page
async def save(request: Any) -> Any:
    """The question page's form: the items applied, extra points, a comment, the version it was made from."""
    slug, name, student = (request.path_params[k] for k in ("slug", "question", "student"))
    form = await request.form()
    only = filter_of(str(form.get("only", "")))
    here = question_url(request, slug, name, student, only)
    try:
        extra = float(str(form.get("extra") or 0))
        version = int(str(form.get("version", "")))
    except ValueError:
        return back_to(request, here, "Not saved: extra points must be a number.")
    items = [str(i) for i in form.getlist("item")]
    save = call(
        grade,
        state_of(request).desk,
        request.state.user,
        slug,
        name,
        student,
        items,
        extra,
        str(form.get("comment", "")),
        version,
    )

    async def then() -> str:
        """The next answer after saving with "save and next", else this one."""
        _, after = await call(_neighbours, request, slug, name, student, only)
        return question_url(request, slug, name, after, only) if after and form.get("next") else here

    return await form_save(request, here, save, f"Saved {student}'s grade.", then=then, missing_is_404=False)


def _neighbours(request: Any, slug: str, name: str, student: str, only: Any) -> tuple[str | None, str | None]:
    from grader.desk.questions import grading_of

    return grading_of(state_of(request).desk, slug).neighbours(name, student, only)


@page
async def item_points(request: Any) -> Any:
    """An instructor changes a rubric item's points; the page says how many grades followed."""
    from starlette.responses import RedirectResponse

    slug, name = request.path_params["slug"], request.path_params["question"]
    form = await request.form()
    student = str(form.get("student", "")) or None
    here = question_url(request, slug, name, student, filter_of(str(form.get("only", ""))))
    item = str(form.get("item", ""))
    try:
        points = float(str(form.get("points", "")))
        changed = await call(set_item_points, state_of(request).desk, request.state.user, slug, name, item, points)
    except ValueError:
        flash(request, "Not changed: points must be a number.", "error")
    except (NotAllowed, GraderError) as exc:
        flash(request, f"Not changed: {exc.message}", "error")
    else:
        flash(request, f"Rubric item {item} is now worth {points:g}: {changed} grade(s) followed.")
    return RedirectResponse(here, 303)
