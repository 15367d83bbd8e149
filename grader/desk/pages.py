"""The desk's pages: thin views over the service layer (grader.desk.service)."""
from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote

from grader.batch.adjustments import NotAllowed, StaleEdit
from grader.desk.service import NotFound
from grader.desk.web import Handler, State, base_of, csrf_ok, current_user, flash, log_in, render
from grader.errors import GraderError


async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args, **kwargs)


def state_of(request: Any) -> State:
    return request.app.state.desk  # type: ignore[no-any-return]


def here(request: Any) -> str:
    """The request's path as the browser asked for it (behind a proxy: with --root-path)."""
    base, path = base_of(request), request.url.path
    return path if not base or path == base or path.startswith(base + "/") else base + path


def page(handler: Handler) -> Handler:
    """A page: ?token= logs in (then the same page without it), no user is refused, a missing
    assignment or student is a 404 with a link back, a POST must carry the CSRF token."""
    from starlette.responses import RedirectResponse

    @functools.wraps(handler)
    async def wrapped(request: Any) -> Any:
        state = state_of(request)
        if "token" in request.query_params:
            user = state.auth.by_token(request.query_params["token"])
            if user is None:
                return render(request, "error.html.j2", 401, heading="Not logged in", message="That login token is not valid.",
                              back=f"{base_of(request)}/login", back_words="Log in")
            log_in(request, user)
            rest = "&".join(f"{quote(k)}={quote(v)}" for k, v in request.query_params.multi_items() if k != "token")
            return RedirectResponse(here(request) + (f"?{rest}" if rest else ""), 303)
        user, by_token = current_user(request)
        if user is None:
            return render(request, "error.html.j2", 401, heading="Not logged in",
                          message="Log in first: open the address grader serve printed, or log in with your name.",
                          back=f"{base_of(request)}/login", back_words="Log in")
        if request.method == "POST" and not await csrf_ok(request, by_token):
            return render(request, "error.html.j2", 403, user=user, heading="Refused",
                          message="This form did not come from this desk (its CSRF token is missing or wrong). "
                                  "Reload the page and try again.", back=f"{base_of(request)}/", back_words="Back to the course")
        request.state.user = user
        try:
            return await handler(request)
        except NotFound as exc:
            slug = request.path_params.get("slug")
            if slug and "student" in request.path_params and exc.message.startswith("no student"):
                back, words = f"{base_of(request)}/assignments/{quote(slug, safe='')}", f"Back to {slug}"
            else:
                back, words = f"{base_of(request)}/", "Back to the course"
            return render(request, "error.html.j2", 404, user=user, heading="Not found", message=exc.message,
                          back=back, back_words=words)
    return wrapped


@page
async def course(request: Any) -> Any:
    desk = state_of(request).desk
    return render(request, "course.html.j2", user=request.state.user, assignments=await call(desk.assignments),
                  gradebook=desk.describe())


@page
async def assignment(request: Any) -> Any:
    from grader.desk.classreport import page_data
    from grader.desk.questions import question_list

    state = state_of(request)
    slug = request.path_params["slug"]
    data = await call(page_data, state.desk, slug, base_of(request))
    questions = await call(question_list, state.desk, slug)
    return render(request, "assignment.html.j2", user=request.state.user, slug=slug, job=state.jobs.latest(slug),
                  questions=questions, **data)


@page
async def student(request: Any) -> Any:
    from grader.desk.classreport import student_data

    state = state_of(request)
    slug, name = request.path_params["slug"], request.path_params["student"]
    data = await call(student_data, state.desk, slug, name)
    return render(request, "student.html.j2", user=request.state.user, slug=slug, job=state.jobs.latest(slug), **data)


@page
async def feedback(request: Any) -> Any:
    """The student's own feedback page, as they get it, for the desk's sandboxed frame."""
    from starlette.responses import HTMLResponse

    from grader.desk.classreport import feedback_html

    slug, name = request.path_params["slug"], request.path_params["student"]
    return HTMLResponse(await call(feedback_html, state_of(request).desk, slug, name))


@page
async def adjust(request: Any) -> Any:
    from starlette.responses import RedirectResponse

    state = state_of(request)
    slug, name = request.path_params["slug"], request.path_params["student"]
    form = await request.form()
    here = f"{base_of(request)}/assignments/{quote(slug, safe='')}/students/{quote(name, safe='')}"
    try:
        points = None if form.get("remove") else float(str(form.get("points", "")))
        version = int(str(form.get("version", "")))
    except ValueError:
        flash(request, "Points must be a number.", "error")
        return RedirectResponse(here, 303)
    try:
        await call(state.desk.adjust, request.state.user, slug, name, str(form.get("check", "")), points,
                   str(form.get("reason", "")), version)
    except StaleEdit as exc:
        flash(request, f"Not saved: {exc.message}. This is the grade as it is now.", "error")
        return RedirectResponse(here, 303)
    except NotFound:
        raise
    except (NotAllowed, GraderError) as exc:
        flash(request, f"Not saved: {exc.message}", "error")
        return RedirectResponse(here, 303)
    flash(request, "Saved." if points is not None else "Adjustment removed.")
    return RedirectResponse(here, 303)


@page
async def waive(request: Any) -> Any:
    """The student page's waiver form (instructors): waive the late penalty, or restore it."""
    from starlette.responses import RedirectResponse

    state = state_of(request)
    slug, name = request.path_params["slug"], request.path_params["student"]
    form = await request.form()
    here = f"{base_of(request)}/assignments/{quote(slug, safe='')}/students/{quote(name, safe='')}"
    remove = bool(form.get("remove"))
    try:
        version = int(str(form.get("version", "")))
        await call(state.desk.waive, request.state.user, slug, name, str(form.get("reason", "")), version, remove)
    except ValueError:
        flash(request, "Not saved: the form has no version; reload the page.", "error")
        return RedirectResponse(here, 303)
    except StaleEdit as exc:
        flash(request, f"Not saved: {exc.message}. This is the grade as it is now.", "error")
        return RedirectResponse(here, 303)
    except NotFound:
        raise
    except (NotAllowed, GraderError) as exc:
        flash(request, f"Not saved: {exc.message}", "error")
        return RedirectResponse(here, 303)
    flash(request, "Late penalty restored." if remove else "Late penalty waived.")
    return RedirectResponse(here, 303)


@page
async def comment(request: Any) -> Any:
    from starlette.responses import RedirectResponse

    state = state_of(request)
    slug, name = request.path_params["slug"], request.path_params["student"]
    form = await request.form()
    try:
        await call(state.desk.comment, request.state.user, slug, name, str(form.get("text", "")))
    except GraderError as exc:
        flash(request, exc.message, "error")
    return RedirectResponse(f"{base_of(request)}/assignments/{quote(slug, safe='')}/students/{quote(name, safe='')}", 303)


@page
async def regrade(request: Any) -> Any:
    from starlette.responses import RedirectResponse

    from grader.desk.classreport import start_regrade

    state = state_of(request)
    slug = request.path_params["slug"]
    form = await request.form()
    one = str(form.get("student", ""))
    back = f"{base_of(request)}/assignments/{quote(slug, safe='')}" + (f"/students/{quote(one, safe='')}" if one else "")
    try:
        job = await call(start_regrade, state, request.state.user, slug, one or None, str(form.get("status", "")))
        flash(request, job.words)
    except GraderError as exc:
        flash(request, f"Not started: {exc.message}", "error")
    return RedirectResponse(back, 303)


async def login(request: Any) -> Any:
    from starlette.responses import RedirectResponse

    state = state_of(request)
    if request.method == "GET":
        return render(request, "login.html.j2", accounts=bool(state.auth.accounts), next=request.query_params.get("next", ""))
    if not await csrf_ok(request, False):
        return render(request, "error.html.j2", 403, heading="Refused", message="The login form has expired; try again.",
                      back=f"{base_of(request)}/login", back_words="Log in")
    form = await request.form()
    user = await call(state.auth.by_password, str(form.get("name", "")), str(form.get("password", "")))
    if user is None:
        flash(request, "Wrong name or password.", "error")
        return RedirectResponse(f"{base_of(request)}/login", 303)
    log_in(request, user)
    return RedirectResponse(f"{base_of(request)}/", 303)


@page
async def logout(request: Any) -> Any:
    from starlette.responses import RedirectResponse

    request.session.clear()
    return RedirectResponse(f"{base_of(request)}/login", 303)


@page
async def similarity(request: Any) -> Any:
    """The code the class's students share (grader.desk.similarity)."""
    from grader.desk.similarity import page_data

    slug = request.path_params["slug"]
    data = await call(page_data, state_of(request).desk, slug)
    return render(request, "similarity.html.j2", user=request.state.user, slug=slug, **data)
