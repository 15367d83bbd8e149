"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl in a temporary folder, listening
only on a unix socket in that folder (no TCP port), trusting local connections, stopped and
removed at the end.

PostgreSQL refuses to run as root, and CI runs as root: there the server runs as an
unprivileged user (`postgres` when the system has one, else `nobody`) that owns the folder;
root still reaches the socket. As a normal user it simply runs as that user.

`find_binaries()` looks on PATH, then where Debian/Ubuntu (/usr/lib/postgresql/<ver>/bin) and
RHEL (/usr/pgsql-<ver>/bin) put them. `unavailable()` says why the tests cannot run here, or "".
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "grader"  # the database role initdb creates; no password (trust on the socket only)
UNPRIVILEGED = ("postgres", "nobody")


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"):
        for folder in sorted(glob.glob(pattern), key=_version_key, reverse=True):
            if os.access(Path(folder) / "initdb", os.X_OK) and os.access(Path(folder) / "pg_ctl", os.X_OK):
                return Path(folder)
    return None


def server_user() -> str | None:
    """The user the server runs as: None for ourselves, else an unprivileged account (we are root)."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise LookupError("running as root, and neither a 'postgres' nor a 'nobody' user exists to run the server as")


def unavailable() -> str:
    """Why a throwaway server cannot be started here ("" when it can)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the PostgreSQL driver is not installed (pip install 'psycopg[binary]')"
    if find_binaries() is None:
        return (
            "PostgreSQL's initdb and pg_ctl are not on PATH nor in /usr/lib/postgresql/*/bin "
            "(apt-get install postgresql)"
        )
    try:
        server_user()
    except LookupError as exc:
        return str(exc)
    return ""


@dataclass
class PostgresServer:
    bindir: Path
    root: Path  # the temporary folder: data/, the socket, the log
    user: str | None  # the OS user the server runs as (None: ourselves)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    # -- life ---------------------------------------------------------------------------
    @classmethod
    def start(cls) -> "PostgresServer":
        bindir = find_binaries()
        if bindir is None:
            raise RuntimeError(unavailable())
        user = server_user()
        # short (a socket path is at most 107 bytes) and reachable by the server's user
        root = Path(tempfile.mkdtemp(prefix="grader-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chmod(root, 0o700)
        server = cls(bindir, root, user)
        try:
            server._run(
                "initdb",
                "-D",
                str(server.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
            server.launch()
        except BaseException:
            server.stop()
            raise
        return server

    def launch(self) -> None:
        """Start the server on its data folder (again, after `halt`)."""
        # fsync=off: a commit is in the OS's hands, not the disk's; it survives the server's crash
        # (`halt`), which is what the tests do, though not the machine's (they never do that)
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.root}' -c fsync=off "
            "-c max_connections=60 -c shared_buffers=32MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")

    def halt(self) -> None:
        """Stop the server at once, as a crash would (its data stays)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            try:
                self.halt()
            except RuntimeError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
        proc = subprocess.run(
            [str(self.bindir / tool), *args],
            cwd=self.root,
            env=env,
            user=self.user,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}\n{log}")

    # -- databases ----------------------------------------------------------------------
    def url(self, database: str, scheme: str = "postgresql") -> str:
        """A SQLAlchemy URL of `database` through the socket (no password, no TCP)."""
        return f"{scheme}://{SUPERUSER}@/{database}?host={self.root}"

    def connect(self, database: str = "postgres"):  # a psycopg.Connection
        import psycopg

        return psycopg.connect(host=str(self.root), user=SUPERUSER, dbname=database, autocommit=True)

    def new_database(self) -> str:
        """A fresh, empty database; its name."""
        name = f"gradebook_{uuid.uuid4().hex[:12]}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name
