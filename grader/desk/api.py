"""The desk for scripts: JSON under /api, the same service layer as the pages. A script sends
`Authorization: Bearer <token>`; the desk's own pages call it with their session (and the CSRF
token in X-CSRF-Token for a POST)."""

from __future__ import annotations

import functools
import json
from typing import Any

from grader.batch.adjustments import NotAllowed, StaleEdit
from grader.desk.pages import call, state_of
from grader.desk.service import NotFound
from grader.desk.web import Handler, csrf_ok, current_user
from grader.errors import GraderError


def problem(status: int, message: str, **extra: Any) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message, **extra}, status_code=status)


def endpoint(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: Any) -> Any:
        user, by_token = current_user(request)
        if user is None:
            return problem(401, "not logged in: send Authorization: Bearer <the token grader serve printed>")
        if request.method == "POST" and not await csrf_ok(request, by_token):
            return problem(403, "refused: a browser's POST must carry its session's CSRF token (X-CSRF-Token)")
        request.state.user = user
        try:
            return await handler(request)
        except NotFound as exc:
            return problem(404, exc.message)
        except StaleEdit as exc:
            return problem(409, exc.message, version=exc.version, by=exc.by)
        except NotAllowed as exc:
            return problem(403, exc.message)
        except GraderError as exc:
            return problem(400, exc.message)

    return wrapped


def ok(data: Any, status: int = 200) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse(data, status_code=status)


@endpoint
async def assignments(request: Any) -> Any:
    found = await call(state_of(request).desk.assignments)
    return ok({"assignments": [a.to_json() for a in found]})


@endpoint
async def students(request: Any) -> Any:
    from starlette.responses import Response

    brief = request.query_params.get("checks") == "0"  # what the assignment page's table needs, for its polling
    body = await call(state_of(request).desk.students_json, request.path_params["slug"], brief)
    return Response(body, media_type="application/json")


@endpoint
async def student(request: Any) -> Any:
    row = await call(state_of(request).desk.student, request.path_params["slug"], request.path_params["student"])
    return ok(row.to_json())


@endpoint
async def stamp(request: Any) -> Any:
    return ok({"stamp": await call(state_of(request).desk.stamp, request.path_params["slug"])})


@endpoint
async def adjust(request: Any) -> Any:
    """{"check": NAME, "points": P, "reason": TEXT} (optional "version": the student's version
    your change was made from; a stale one is refused with 409). "points": null removes it."""
    slug, name = request.path_params["slug"], request.path_params["student"]
    try:
        body = json.loads(await request.body())
        check = body["check"]
        points = None if body.get("points") is None else float(body["points"])
        reason = body.get("reason", "")
        version = None if body.get("version") is None else int(body["version"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return problem(400, 'send JSON {"check": NAME, "points": P, "reason": TEXT}')
    if not isinstance(check, str) or not isinstance(reason, str) or not reason.strip():
        return problem(400, "an adjustment needs a check (or exercise) name and a reason")
    desk = state_of(request).desk
    saved = await call(desk.adjust, request.state.user, slug, name, check, points, reason, version)
    row = await call(desk.student, slug, name)
    return ok({**row.to_json(), "version": saved.version}, 201)


@endpoint
async def regrade(request: Any) -> Any:
    """{"student": ID} or {"status": STATUS} ("*": every student)."""
    from grader.desk.classreport import start_regrade

    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return problem(400, 'send JSON {"student": ID} or {"status": STATUS}')
    job = await call(
        start_regrade,
        state_of(request),
        request.state.user,
        request.path_params["slug"],
        body.get("student"),
        str(body.get("status", "")),
    )
    return ok(job.to_json(), 202)


@endpoint
async def job(request: Any) -> Any:
    found = state_of(request).jobs.get(int(request.path_params["job"]))
    if found is None:
        return problem(404, "no such regrade")
    return ok(found.to_json())


@endpoint
async def similarity(request: Any) -> Any:
    """The pairs at or above the threshold (whole and per exercise, each with its words), the
    clusters of three or more, the answers too short to compare."""
    from grader.desk.similarity import to_json

    return ok(await call(to_json, state_of(request).desk, request.path_params["slug"]))


@endpoint
async def waive(request: Any) -> Any:
    """{"reason": TEXT} waives the student's late penalty (instructors only); {"remove": true,
    "reason": TEXT} restores it; optional "version" as for adjustments."""
    slug, name = request.path_params["slug"], request.path_params["student"]
    try:
        body = json.loads(await request.body())
        reason, remove = body.get("reason", ""), bool(body.get("remove", False))
        version = None if body.get("version") is None else int(body["version"])
    except (ValueError, TypeError, AttributeError):
        return problem(400, 'send JSON {"reason": TEXT} (or {"remove": true, "reason": TEXT})')
    if not isinstance(reason, str) or not reason.strip():
        return problem(400, "a waiver needs a reason")
    desk = state_of(request).desk
    saved = await call(desk.waive, request.state.user, slug, name, reason, version, remove)
    row = await call(desk.student, slug, name)
    return ok({**row.to_json(), "version": saved.version}, 201)


@endpoint
async def questions(request: Any) -> Any:
    """The assignment's questions a person grades, each with how many answers wait."""
    from grader.desk.questions import question_list

    found = await call(question_list, state_of(request).desk, request.path_params["slug"])
    return ok({"assignment": request.path_params["slug"], "questions": [q.to_json() for q in found]})


@endpoint
async def answers(request: Any) -> Any:
    """One question: its rubric, its kept comments, its answers (?only=not-graded or graded)."""
    from grader.desk.questions import answers_json, filter_of

    only = filter_of(request.query_params.get("only", ""))
    return ok(
        await call(
            answers_json, state_of(request).desk, request.path_params["slug"], request.path_params["question"], only
        )
    )


@endpoint
async def grade(request: Any) -> Any:
    """{"items": [ID, ...], "extra": P, "comment": TEXT, "version": N}: N is the version of the
    grade your change was made from (0: none yet); a stale one is refused with 409, who and when."""
    from grader.desk.questions import answer_json, grade as save, grading_of
    from grader.policy.grading import StaleGrade

    slug, name, student = (request.path_params[k] for k in ("slug", "question", "student"))
    try:
        body = json.loads(await request.body())
        items, comment = body.get("items", []), body.get("comment", "")
        extra, version = float(body.get("extra") or 0), int(body["version"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return problem(400, 'send JSON {"items": [ID, ...], "extra": P, "comment": TEXT, "version": N}')
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items) or not isinstance(comment, str):
        return problem(400, '"items" is a list of rubric item ids and "comment" a text')
    desk = state_of(request).desk
    try:
        await call(save, desk, request.state.user, slug, name, student, items, extra, comment, version)
    except StaleGrade as exc:
        return problem(409, exc.message, by=exc.by, at=exc.at, version=exc.version)
    rows = await call(lambda: grading_of(desk, slug).answers(name))
    return ok(answer_json(next(r for r in rows if r.student == student)), 201)


@endpoint
async def rubric_points(request: Any) -> Any:
    """{"item": ID, "points": P} (instructors): every grade that applied the item follows; how many."""
    from grader.desk.questions import set_item_points

    try:
        body = json.loads(await request.body())
        item, points = str(body["item"]), float(body["points"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return problem(400, 'send JSON {"item": ID, "points": P}')
    changed = await call(
        set_item_points,
        state_of(request).desk,
        request.state.user,
        request.path_params["slug"],
        request.path_params["question"],
        item,
        points,
    )
    return ok({"item": item, "points": points, "grades_changed": changed})
