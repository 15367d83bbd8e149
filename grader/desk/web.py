"""What every view of the desk shares: the templates, who is asking (session or Bearer token),
the CSRF check, the security headers, and the access log (paths without their query: a login
token never reaches a log)."""

from __future__ import annotations

import functools
import re
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable
from urllib.parse import quote

from grader.desk.auth import SESSION_SECONDS, Auth, same
from grader.desk.regrade import Jobs, Plan
from grader.desk.service import Desk, User

# every page: no inline script, no script from anywhere but the desk itself, no plugins, no framing
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'"
)
# the student's feedback page, shown in a sandboxed frame: its own inline styles, no script at all
FEEDBACK_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"

FEEDBACK_PATH = re.compile(r"/assignments/[^/]+/students/[^/]+/feedback$")  # after any --root-path


@dataclass
class State:
    """What the app holds: the service layer, the secrets, the regrades."""

    desk: Desk
    auth: Auth
    jobs: Jobs
    plan: Plan | None  # None: no --submissions, no regrades
    secure_cookies: bool = False


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2

    from grader.feedback.render import environment as feedback_env

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader.desk", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["num"] = feedback_env().filters["num"]
    env.filters["urlpart"] = lambda value: quote(str(value), safe="")
    env.filters["when"] = when
    env.filters["ticks"] = ticks
    return env


def ticks(value: str) -> Any:
    """Text whose `backticked` parts are shown as code (everything escaped)."""
    from markupsafe import Markup, escape

    parts = str(value).split("`")
    if len(parts) % 2 == 0:  # an odd backtick: the text as it is
        return escape(value)
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else escape(p) for i, p in enumerate(parts))


def when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "—"


def base_of(request: Any) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def csrf_of(request: Any) -> str:
    """The session's CSRF token (made on first use)."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(24)
    return str(request.session["csrf"])


def render(request: Any, template: str, status: int = 200, **context: Any) -> Any:
    from starlette.responses import HTMLResponse

    flash = request.session.pop("flash", None) if hasattr(request, "session") else None
    page = (
        environment()
        .get_template(template)
        .render(
            base=base_of(request),
            user=context.pop("user", None),
            csrf=csrf_of(request),
            flash=(flash or {}).get("text", ""),
            flash_kind=(flash or {}).get("kind", ""),
            **context,
        )
    )
    return HTMLResponse(page, status_code=status)


def flash(request: Any, text: str, kind: str = "ok") -> None:
    request.session["flash"] = {"text": text, "kind": kind}


def bearer(request: Any) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def current_user(request: Any) -> tuple[User | None, bool]:
    """(the user, whether by a Bearer token); a session older than SESSION_SECONDS is over."""
    state: State = request.app.state.desk
    token = bearer(request)
    if token:
        return state.auth.by_token(token), True
    session = request.session
    if not session.get("user") or time.time() - float(session.get("at", 0)) > SESSION_SECONDS:
        return None, False
    return state.auth.known(str(session["user"]), str(session.get("role", ""))), False


def log_in(request: Any, user: User) -> None:
    request.session.clear()
    request.session.update({"user": user.name, "role": user.role, "at": time.time(), "csrf": secrets.token_urlsafe(24)})


async def csrf_ok(request: Any, by_token: bool) -> bool:
    """A state-changing request from a browser carries the session's CSRF token (form field
    `csrf` or header X-CSRF-Token); a script with a Bearer token has no cookie to forge."""
    if by_token:
        return True
    sent = request.headers.get("x-csrf-token", "")
    if not sent and request.headers.get("content-type", "").startswith(("application/x-www-form", "multipart/")):
        sent = str((await request.form()).get("csrf", ""))
    return same(sent, str(request.session.get("csrf", "")))


Handler = Callable[[Any], Awaitable[Any]]


class Headers:
    """ASGI middleware: the security headers on every response, and one access-log line per
    request with its path only."""

    def __init__(self, app: Any, log: bool = True) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 0}

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                framed = FEEDBACK_PATH.search(scope.get("path", "")) is not None
                csp = FEEDBACK_CSP if framed else CSP
                headers += [
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-store"),
                ]
                if not framed:
                    headers.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
        if self.log:
            print(
                f"{scope.get('method', '')} {scope.get('root_path', '')}{scope.get('path', '')} {status['code']}",
                file=sys.stderr,
                flush=True,
            )
