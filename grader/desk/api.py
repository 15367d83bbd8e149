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

    brief = request.query_params.get("checks") == "0"     # what the assignment page's table needs, for its polling
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
    job = await call(start_regrade, state_of(request), request.state.user, request.path_params["slug"],
                     body.get("student"), str(body.get("status", "")))
    return ok(job.to_json(), 202)


@endpoint
async def job(request: Any) -> Any:
    found = state_of(request).jobs.get(int(request.path_params["job"]))
    if found is None:
        return problem(404, "no such regrade")
    return ok(found.to_json())
