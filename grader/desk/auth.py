"""Who may use the desk: graders named in users.toml (a password hash each, made by
`grader serve --hash-password`), or without it one instructor; the login token printed at start;
session cookies signed by the server; a CSRF token per session for every form.

users.toml:

    [[user]]
    name = "sam"
    role = "ta"                      # or "instructor"
    password = "scrypt$16384$8$1$..."

The token printed at start logs a browser in (?token=...) as the first instructor of users.toml
(or as "instructor" without one) and is the Bearer token of /api.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from grader.desk.service import Role, User
from grader.errors import UsageError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_SECONDS = 8 * 3600  # a browser's session lasts a working day
DEFAULT_USER = User("instructor", "instructor")


@dataclass(frozen=True)
class Account:
    user: User
    password_hash: str


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.urlsafe_b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(base64.urlsafe_b64decode(digest)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.urlsafe_b64decode(digest))


def read_users(path: Path) -> dict[str, Account]:
    """users.toml as accounts by name; UsageError (exit 2) naming the file and the entry."""
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"no users file {path}", hint="write one (docs/desk.md shows how) or leave --users out"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    accounts: dict[str, Account] = {}
    for i, entry in enumerate(data.get("user", []), start=1):
        where = f"{path}: [[user]] number {i}"
        name, role, password = entry.get("name"), entry.get("role"), entry.get("password")
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f"{where} has no name")
        if role not in get_args(Role):
            raise UsageError(f'{where} ({name}): role must be "instructor" or "ta", not {role!r}')
        if not isinstance(password, str) or not password.startswith("scrypt$"):
            raise UsageError(
                f"{where} ({name}): password must be a hash", hint="make one with `grader serve --hash-password`"
            )
        if name in accounts:
            raise UsageError(f"{where}: {name} is named twice")
        accounts[name] = Account(User(name, role), password)
    if not accounts:
        raise UsageError(f"{path} names no [[user]]", hint="docs/desk.md shows the file")
    return accounts


@dataclass
class Auth:
    """The server's secrets: the login token, the key that signs cookies, the accounts."""

    token: str
    secret: str
    accounts: dict[str, Account]

    @classmethod
    def create(cls, users: Path | None) -> "Auth":
        return cls(
            token=secrets.token_urlsafe(32),
            secret=secrets.token_urlsafe(48),
            accounts=read_users(users) if users is not None else {},
        )

    @property
    def token_user(self) -> User:
        """Whom the printed token logs in: the first instructor of users.toml, else "instructor"."""
        for account in self.accounts.values():
            if account.user.role == "instructor":
                return account.user
        return DEFAULT_USER

    def by_token(self, token: str) -> User | None:
        return self.token_user if token and hmac.compare_digest(token.encode(), self.token.encode()) else None

    def by_password(self, name: str, password: str) -> User | None:
        account = self.accounts.get(name)
        if account is None:
            verify_password(password, hash_password("x"))  # the same time for a name that does not exist
            return None
        return account.user if verify_password(password, account.password_hash) else None

    def known(self, name: str, role: str) -> User | None:
        """The user a session cookie names, if still an account (or the token's user)."""
        if name == self.token_user.name and role == self.token_user.role:
            return self.token_user
        account = self.accounts.get(name)
        return account.user if account is not None and account.user.role == role else None


def same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())
