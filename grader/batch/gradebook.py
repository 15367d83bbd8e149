"""The gradebook: every verdict of every batch, in any database SQLAlchemy can reach.

Three tables. `submissions` holds one row per (assignment, student, sha256): a student who
submits new content gets a new row, the same content is the same row. `verdicts` holds at
most one verdict per submission (a unique key), with the whole Result as JSON; `checks`
holds its checks, one row each, for queries across a class. Each verdict, its checks and
(when new) its submission row are written in one transaction: a batch killed at any moment
leaves every verdict either complete or absent, never half-written and never twice.

The tables are defined in schema.py and brought there by Alembic (migrate.py): a gradebook
written by an earlier release is upgraded in place on first use, every verdict kept.
Several batches may write one gradebook at once (tests/batch/test_postgres.py runs them on a real
PostgreSQL): the tables are migrated under an advisory lock (PostgreSQL) or retried (SQLite);
writers of one submission take turns on its row lock, and a transaction that loses a race on a
unique key is rolled back whole and tried again. Text is stored as every database takes it
(`db_text`); SQLite and PostgreSQL hold the same rows for the same class.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Literal, get_args

from grader.batch.migrate import upgrade
from grader.batch.schema import desk_tables, tables
from grader.errors import GraderError
from grader.results import CheckResult, Result

VerdictStatus = Literal["passed", "failed", "unreadable", "crashed", "timeout"]
STATUSES: tuple[str, ...] = get_args(VerdictStatus)
ATTEMPTS = 8  # tries of a transaction that lost a race to another writer


class GradebookError(GraderError):
    """The gradebook database cannot be opened or written."""


SQLITE_FILE = "gradebook.sqlite"  # the default gradebook, in the batch's output folder


def default_url(out: Path) -> str:
    return f"sqlite:///{Path(out).resolve() / SQLITE_FILE}"


@dataclass
class StoredVerdict:
    """One verdict as the gradebook holds it."""

    student: str
    sha256: str
    source: str
    status: str
    score: float
    max_score: float
    reason: str
    graded_at: datetime
    result: Result


class Gradebook:
    """Open (and create when needed) the gradebook at a SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.url = url
        try:
            target = engine_url(url)
            # a long batch on a department's server: connections idle between verdicts may be dropped
            options: dict[str, Any] = {} if target.get_backend_name() == "sqlite" else {"pool_pre_ping": True}
            self.engine = sa.create_engine(target, **options)
            if self.engine.dialect.name == "sqlite":
                self._sqlite_pragmas()
            self.tables = tables()
            self.submissions, self.verdicts, self.checks = (
                self.tables.submissions,
                self.tables.verdicts,
                self.tables.checks,
            )
            self.desk = desk_tables(
                self.tables.meta
            )  # adjustments, their versions, the history (grader.batch.adjustments)
            upgrade(self.engine)
        except ModuleNotFoundError as exc:
            raise GradebookError(
                f"the database driver for {safe_url(url)} is not installed ({exc.name})",
                hint="install it into the grader's environment, e.g. pip install 'psycopg[binary]' for postgresql://",
            ) from None
        except sa.exc.SQLAlchemyError as exc:
            raise GradebookError(f"cannot open the gradebook {safe_url(url)}: {str(exc).splitlines()[0]}") from None

    def _sqlite_pragmas(self) -> None:
        from sqlalchemy import event

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout = 30000")  # readers (a report, a test) never fail the writer
            cur.execute("PRAGMA synchronous = FULL")  # a committed verdict survives a power cut
            cur.close()

    def close(self) -> None:
        self.engine.dispose()

    # -- reading ----------------------------------------------------------------------
    def graded(self, assignment: str) -> set[tuple[str, str]]:
        """(student, sha256) of every submission of `assignment` that has a verdict."""
        import sqlalchemy as sa

        s, v = self.submissions, self.verdicts
        query = (
            sa.select(s.c.student, s.c.sha256).join(v, v.c.submission_id == s.c.id).where(s.c.assignment == assignment)
        )
        with self.engine.connect() as conn:
            return {(row.student, row.sha256) for row in conn.execute(query)}

    def verdicts_of(
        self, assignment: str, keys: Iterable[tuple[str, str]] | None = None
    ) -> dict[tuple[str, str], StoredVerdict]:
        """Verdicts of `assignment`, keyed by (student, sha256); only `keys` when given."""
        import sqlalchemy as sa

        s, v = self.submissions, self.verdicts
        query = (
            sa.select(
                s.c.student,
                s.c.sha256,
                s.c.source,
                v.c.status,
                v.c.score,
                v.c.max_score,
                v.c.reason,
                v.c.graded_at,
                v.c.result_json,
            )
            .join(v, v.c.submission_id == s.c.id)
            .where(s.c.assignment == assignment)
        )
        wanted = set(keys) if keys is not None else None
        out: dict[tuple[str, str], StoredVerdict] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                key = (row.student, row.sha256)
                if wanted is not None and key not in wanted:
                    continue
                # SQLite hands back the UTC time it was given without its zone; PostgreSQL with it
                graded_at = row.graded_at if row.graded_at.tzinfo else row.graded_at.replace(tzinfo=timezone.utc)
                out[key] = StoredVerdict(
                    row.student,
                    row.sha256,
                    row.source,
                    row.status,
                    row.score,
                    row.max_score,
                    row.reason,
                    graded_at,
                    Result.from_dict(json.loads(row.result_json)),
                )
        return out

    def count(self, table: str = "verdicts") -> int:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(getattr(self, table))).scalar_one())

    # -- writing ----------------------------------------------------------------------
    def record(
        self,
        *,
        assignment: str,
        student: str,
        sha256: str,
        source: str,
        status: VerdictStatus,
        result: Result,
        reason: str = "",
        replace: bool = False,
    ) -> bool:
        """Write one verdict in one transaction. False when one already exists and `replace` is off.

        Another batch may write the same submission at the same moment: whoever inserts second
        hits a unique key, its transaction is rolled back whole, and it tries again, now seeing the
        other's committed rows (so: False, or with `replace` a replacement)."""
        import sqlalchemy as sa

        if status not in STATUSES:
            raise ValueError(f"unknown verdict status {status!r}")
        key = (assignment, student, sha256)
        for attempt in range(ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    return self._write(conn, key, source, status, result, reason, replace)
            except sa.exc.IntegrityError as exc:
                if attempt == ATTEMPTS - 1:
                    raise GradebookError(
                        f"cannot write the verdict of {student} to the gradebook {safe_url(self.url)}: "
                        f"other writers kept taking it ({str(exc).splitlines()[0]})",
                        hint="run the same command again; verdicts already written are kept",
                    ) from None
                time.sleep(0.02 * (attempt + 1))
            except sa.exc.SQLAlchemyError as exc:
                raise GradebookError(
                    f"cannot write to the gradebook {safe_url(self.url)}: {str(exc).splitlines()[0]}",
                    hint="the verdicts written before are kept; when the database is back, "
                    "run the same command again to grade the rest",
                ) from None
        raise AssertionError("unreachable")

    def _write(
        self, conn: Any, key: tuple[str, str, str], source: str, status: str, result: Result, reason: str, replace: bool
    ) -> bool:
        import sqlalchemy as sa

        v, c = self.verdicts, self.checks
        now = datetime.now(timezone.utc)
        sub_id = self._submission_id(conn, key, source, now)
        old = conn.execute(sa.select(v.c.id).where(v.c.submission_id == sub_id)).scalar()
        if old is not None:
            if not replace:
                return False
            conn.execute(c.delete().where(c.c.verdict_id == old))
            conn.execute(v.delete().where(v.c.id == old))
        inserted = conn.execute(v.insert().values(submission_id=sub_id, **_verdict_values(status, result, reason, now)))
        assert inserted.inserted_primary_key is not None
        verdict_id = inserted.inserted_primary_key[0]
        rows = [{"verdict_id": verdict_id, **_check_values(check)} for check in result.checks]
        if rows:
            conn.execute(c.insert(), rows)
        return True

    def _submission_id(self, conn: Any, key: tuple[str, str, str], source: str, now: datetime) -> int:
        """The submission's row, created when new, locked (FOR UPDATE) until the transaction ends so
        that writers of the same submission take turns (SQLite has one writer at a time anyway)."""
        import sqlalchemy as sa

        s = self.submissions
        assignment, student, sha256 = key
        where = (s.c.assignment == assignment, s.c.student == student, s.c.sha256 == sha256)
        sub_id = conn.execute(sa.select(s.c.id).where(*where).with_for_update()).scalar()
        if sub_id is None:
            inserted = conn.execute(
                s.insert().values(
                    assignment=assignment, student=student, sha256=sha256, source=db_text(source), first_seen=now
                )
            ).inserted_primary_key
            assert inserted is not None
            sub_id = inserted[0]
        return int(sub_id)


def _verdict_values(status: str, result: Result, reason: str, now: datetime) -> dict[str, Any]:
    return {
        "status": status,
        "score": float(result.score),
        "max_score": float(result.max_score),
        "reason": db_text(reason),
        "device": db_text(result.device, 40),
        "isolation": db_text(result.isolation),
        "grader_version": db_text(result.grader_version, 40),
        "execution_time": float(result.execution_time),
        "graded_at": now,
        "result_json": json.dumps(result.to_dict()),
    }


def _check_values(check: CheckResult) -> dict[str, Any]:
    return {
        "exercise": db_text(check.exercise, 200),
        "name": db_text(check.name, 300),
        "hidden": bool(check.hidden),
        "points": float(check.points),
        "score": float(check.score),
        "status": db_text(check.status, 20),
        "message": db_text(check.message, 4000),
    }


def db_text(text: str, limit: int | None = None) -> str:
    """`text` as every database stores it: PostgreSQL refuses NUL characters (student output can hold
    them) and UTF-8 has no lone surrogates; a VARCHAR(n) column refuses longer values (SQLite does
    not). The whole verdict, exact, is in result_json (JSON escapes all of these)."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if limit is None else text[:limit]


def engine_url(url: str) -> Any:
    """The URL SQLAlchemy is given: `postgresql://` and `postgres://` mean psycopg 3 (the driver the
    docs name) when it is installed; SQLAlchemy 2.0 alone would look for psycopg2."""
    import importlib.util

    from sqlalchemy.engine import make_url

    target = make_url(url)
    if target.drivername in ("postgresql", "postgres"):
        driver = "postgresql+psycopg" if importlib.util.find_spec("psycopg") is not None else "postgresql"
        target = target.set(drivername=driver)
    return target


def safe_url(url: str) -> str:
    """A URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"
