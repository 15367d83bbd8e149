"""The desk's pages: thin views over the service layer (grader.desk.service)."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable
from urllib.parse import quote

from grader.batch.adjustments import StaleEdit
from grader.desk.service import NotFound, User
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


def error_page(
    request: Any, status: int, heading: str, message: str, back: str, back_words: str, user: User | None = None
) -> Any:
    return render(
        request, "error.html.j2", status, user=user, heading=heading, message=message, back=back, back_words=back_words
    )


def page(handler: Handler) -> Handler:
    """A page: ?token= logs in (then the same page without it), no user is refused, a missing
    assignment or student is a 404 with a link back, a POST must carry the CSRF token."""

    @functools.wraps(handler)
    async def wrapped(request: Any) -> Any:
        if "token" in request.query_params:
            return log_in_by_token(request)
        user, by_token = current_user(request)
        if user is None:
            return error_page(
                request,
                401,
                "Not logged in",
                "Log in first: open the address grader serve printed, or log in with your name.",
                f"{base_of(request)}/login",
                "Log in",
            )
        if request.method == "POST" and not await csrf_ok(request, by_token):
            return error_page(
                request,
                403,
                "Refused",
                "This form did not come from this desk (its CSRF token is "
                "missing or wrong). Reload the page and try again.",
                f"{base_of(request)}/",
                "Back to the course",
                user,
            )
        request.state.user = user
        try:
            return await handler(request)
        except NotFound as exc:
            return not_found_page(request, user, exc)

    return wrapped


def log_in_by_token(request: Any) -> Any:
    """?token=: logged in, then the same page without it; a token that is not valid is a 401."""
    from starlette.responses import RedirectResponse

    user = state_of(request).auth.by_token(request.query_params["token"])
    if user is None:
        return error_page(
            request, 401, "Not logged in", "That login token is not valid.", f"{base_of(request)}/login", "Log in"
        )
    log_in(request, user)
    rest = "&".join(f"{quote(k)}={quote(v)}" for k, v in request.query_params.multi_items() if k != "token")
    return RedirectResponse(here(request) + (f"?{rest}" if rest else ""), 303)


def not_found_page(request: Any, user: User, exc: NotFound) -> Any:
    """The 404 of a missing assignment or student, with a link to the assignment (a missing
    student of one) or to the course."""
    slug = request.path_params.get("slug")
    if slug and "student" in request.path_params and exc.message.startswith("no student"):
        back, words = f"{base_of(request)}/assignments/{quote(slug, safe='')}", f"Back to {slug}"
    else:
        back, words = f"{base_of(request)}/", "Back to the course"
    return error_page(request, 404, "Not found", exc.message, back, words, user)


def student_url(request: Any, slug: str, student: str) -> str:
    return f"{base_of(request)}/assignments/{quote(slug, safe='')}/students/{quote(student, safe='')}"


def back_to(request: Any, url: str, words: str, kind: str = "error") -> Any:
    """The browser sent (303) to `url`, where the page it finds says `words`."""
    from starlette.responses import RedirectResponse

    flash(request, words, kind)
    return RedirectResponse(url, 303)


async def form_save(
    request: Any,
    back: str,
    save: Awaitable[object],
    done: str,
    *,
    then: Callable[[], Awaitable[str]] | None = None,
    missing_is_404: bool = True,
) -> Any:
    """The end of a form that saves a grade made from a version of it (the page's): `save` awaited;
    saved, the browser goes to `then()` (default: `back`) saying `done`. Refused, it goes back to
    `back` saying 'Not saved: ' and why: someone saved since the page was made (StaleEdit, StaleGrade:
    who and when, then 'This is the grade as it is now.'), or the change is not allowed (NotAllowed,
    any GraderError). A missing assignment or student is the page's 404 (unless not `missing_is_404`:
    refused like the rest)."""
    from grader.desk.questions import stale_words
    from grader.policy.grading import StaleGrade

    try:
        await save
    except (StaleEdit, StaleGrade) as exc:
        words = exc.message if isinstance(exc, StaleEdit) else stale_words(exc.by, exc.at)
        return back_to(request, back, f"Not saved: {words}. This is the grade as it is now.")
    except NotFound as exc:
        if missing_is_404:
            raise
        return back_to(request, back, f"Not saved: {exc.message}")
    except GraderError as exc:
        return back_to(request, back, f"Not saved: {exc.message}")
    return back_to(request, await then() if then is not None else back, done, "ok")


@page
async def course(request: Any) -> Any:
    desk = state_of(request).desk
    return render(
        request,
        "course.html.j2",
        user=request.state.user,
        assignments=await call(desk.assignments),
        gradebook=desk.describe(),
    )


@page
async def assignment(request: Any) -> Any:
    from grader.desk.classreport import page_data
    from grader.desk.questions import question_list

    state = state_of(request)
    slug = request.path_params["slug"]
    data = await call(page_data, state.desk, slug, base_of(request))
    questions = await call(question_list, state.desk, slug)
    return render(
        request,
        "assignment.html.j2",
        user=request.state.user,
        slug=slug,
        job=state.jobs.latest(slug),
        questions=questions,
        **data,
    )


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
    state = state_of(request)
    slug, name = request.path_params["slug"], request.path_params["student"]
    form = await request.form()
    here = student_url(request, slug, name)
    try:
        points = None if form.get("remove") else float(str(form.get("points", "")))
        version = int(str(form.get("version", "")))
    except ValueError:
        return back_to(request, here, "Points must be a number.")
    save = call(
        state.desk.adjust,
        request.state.user,
        slug,
        name,
        str(form.get("check", "")),
        points,
        str(form.get("reason", "")),
        version,
    )
    return await form_save(request, here, save, "Saved." if points is not None else "Adjustment removed.")


@page
async def waive(request: Any) -> Any:
    """The student page's waiver form (instructors): waive the late penalty, or restore it."""
    state = state_of(request)
    slug, name = request.path_params["slug"], request.path_params["student"]
    form = await request.form()
    here = student_url(request, slug, name)
    remove = bool(form.get("remove"))
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        return back_to(request, here, "Not saved: the form has no version; reload the page.")
    save = call(state.desk.waive, request.state.user, slug, name, str(form.get("reason", "")), version, remove)
    return await form_save(request, here, save, "Late penalty restored." if remove else "Late penalty waived.")


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
    return RedirectResponse(student_url(request, slug, name), 303)


@page
async def regrade(request: Any) -> Any:
    from starlette.responses import RedirectResponse

    from grader.desk.classreport import start_regrade

    state = state_of(request)
    slug = request.path_params["slug"]
    form = await request.form()
    one = str(form.get("student", ""))
    back = f"{base_of(request)}/assignments/{quote(slug, safe='')}" + (
        f"/students/{quote(one, safe='')}" if one else ""
    )
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
        return render(
            request, "login.html.j2", accounts=bool(state.auth.accounts), next=request.query_params.get("next", "")
        )
    if not await csrf_ok(request, False):
        return error_page(
            request, 403, "Refused", "The login form has expired; try again.", f"{base_of(request)}/login", "Log in"
        )
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
