"""`grader serve`: the desk as an ASGI app (Starlette) under uvicorn.

Routes: the pages (/, /assignments/{slug}, /assignments/{slug}/students/{student},
/assignments/{slug}/questions/{question}[/students/{student}]), their forms,
and the JSON API under /api (grader.desk.api). Static files (one script, one stylesheet) come
from the package: the desk works offline.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from grader.desk.auth import SESSION_SECONDS, Auth
from grader.desk.regrade import Jobs, Plan
from grader.desk.service import Desk
from grader.desk.web import Headers, State

STATIC = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class ServeConfig:
    gradebook: str
    course: Path = Path(".")
    host: str = "127.0.0.1"
    port: int = 8000
    users: Path | None = None
    root_path: str = ""
    submissions: Path | None = None
    scheduler: str | None = None
    workers: int | None = None
    secure_cookies: bool = False
    extensions: Path | None = None  # CSV student,due, as grader batch --extensions


def make_state(config: ServeConfig) -> State:
    """The desk's state, every fault of the arguments found now (exit 2), before serving."""
    import tempfile

    from grader.errors import UsageError

    auth = Auth.create(config.users)
    if config.submissions is not None and not config.submissions.exists():
        raise UsageError(f"no such folder or zip: {config.submissions}", hint="give the class folder the batch graded")
    desk = Desk(config.gradebook, config.course, config.submissions)
    desk.check_course()
    if config.extensions is not None:
        desk.read_extensions(config.extensions)
    plan = None
    if config.submissions is not None:
        out = desk.out or Path(tempfile.mkdtemp(prefix="grader-desk-"))
        plan = Plan(
            submissions=config.submissions.resolve(),
            assignment_dir=Path("."),
            out=out,
            url=desk.url,
            scheduler=config.scheduler,
            workers=config.workers,
            extensions=config.extensions.resolve() if config.extensions else None,
        )
    return State(desk=desk, auth=auth, jobs=Jobs(), plan=plan, secure_cookies=config.secure_cookies)


def build_app(state: State, log: bool = True) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from grader.desk import api, pages, question_pages

    student = "/assignments/{slug}/students/{student}"
    question = "/assignments/{slug}/questions/{question}"
    routes = [
        Route("/", pages.course),
        Route("/login", pages.login, methods=["GET", "POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/assignments/{slug}", pages.assignment),
        Route("/assignments/{slug}/regrade", pages.regrade, methods=["POST"]),
        Route("/assignments/{slug}/similarity", pages.similarity),
        Route(student, pages.student),
        Route(student + "/feedback", pages.feedback),
        Route(student + "/adjust", pages.adjust, methods=["POST"]),
        Route(student + "/comment", pages.comment, methods=["POST"]),
        Route(student + "/waive", pages.waive, methods=["POST"]),
        Route(question, question_pages.question),
        Route(question + "/rubric", question_pages.item_points, methods=["POST"]),
        Route(question + "/students/{student}", question_pages.question),
        Route(question + "/students/{student}/grade", question_pages.save, methods=["POST"]),
        Route("/api/assignments", api.assignments),
        Route("/api/assignments/{slug}/questions", api.questions),
        Route("/api" + question, api.answers),
        Route("/api" + question + "/rubric", api.rubric_points, methods=["POST"]),
        Route("/api" + question + "/students/{student}/grade", api.grade, methods=["POST"]),
        Route("/api/assignments/{slug}/students", api.students),
        Route("/api/assignments/{slug}/stamp", api.stamp),
        Route("/api/assignments/{slug}/regrade", api.regrade, methods=["POST"]),
        Route("/api/assignments/{slug}/similarity", api.similarity),
        Route("/api" + student, api.student),
        Route("/api" + student + "/adjustments", api.adjust, methods=["POST"]),
        Route("/api" + student + "/waiver", api.waive, methods=["POST"]),
        Route("/api/jobs/{job}", api.job),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    middleware = [
        Middleware(Headers, log=log),
        Middleware(
            SessionMiddleware,
            secret_key=state.auth.secret,
            session_cookie="grader_desk",
            max_age=SESSION_SECONDS,
            same_site="strict",
            https_only=state.secure_cookies,
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.desk = state
    return app


def login_url(config: ServeConfig, token: str) -> str:
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{config.port}{config.root_path.rstrip('/')}/?token={token}"


def serve(config: ServeConfig, out: TextIO = sys.stdout) -> int:
    """Serve until interrupted; the address with the login token is printed once, here."""
    import uvicorn

    state = make_state(config)
    can_listen(config.host, config.port)
    warm = threading.Thread(target=state.desk.warm, name="desk-warm", daemon=True)
    warm.start()  # each assignment's class read once now, not on the first page
    app = build_app(state)
    print(f"grader desk: the gradebook {state.desk.describe()}, the course {state.desk.course}", file=out)
    if not state.auth.accounts:
        print("one instructor (no --users); to log in, open:", file=out)
    else:
        print(f"{len(state.auth.accounts)} graders from {config.users}; the instructor's login address:", file=out)
    print(f"    {login_url(config, state.auth.token)}", file=out, flush=True)
    try:
        uvicorn.run(
            app,
            host=config.host,
            port=config.port,
            root_path=config.root_path,
            access_log=False,
            log_level="warning",
            proxy_headers=bool(config.root_path),
            server_header=False,
        )
    finally:
        state.desk.settle(30.0)
        state.desk.close()
    return 0


def can_listen(host: str, port: int) -> None:
    """The address is free (else exit 2 in words, not uvicorn's log line)."""
    import socket

    from grader.errors import UsageError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(infos[0][4])
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="another program uses that port: pass --port N (or stop it)",
        ) from None
