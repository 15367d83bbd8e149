"""The gradebook: every verdict of every batch, in any database SQLAlchemy can reach.

Three tables. `submissions` holds one row per (assignment, student, sha256): a student who
submits new content gets a new row, the same content is the same row. `verdicts` holds at
most one verdict per submission (a unique key), with the whole Result as JSON; `checks`
holds its checks, one row each, for queries across a class. Each verdict, its checks and
(when new) its submission row are written in one transaction: a batch killed at any moment
leaves every verdict either complete or absent, never half-written and never twice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Literal, get_args

from grader.errors import GraderError
from grader.results import Result

VerdictStatus = Literal["passed", "failed", "unreadable", "crashed", "timeout"]
STATUSES: tuple[str, ...] = get_args(VerdictStatus)


class GradebookError(GraderError):
    """The gradebook database cannot be opened or written."""


def default_url(out: Path) -> str:
    return f"sqlite:///{Path(out).resolve() / 'gradebook.sqlite'}"


def _tables() -> tuple[Any, ...]:
    import sqlalchemy as sa

    meta = sa.MetaData()
    submissions = sa.Table(
        "submissions", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("student", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False, default=""),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("assignment", "student", "sha256", name="uq_submission"),
    )
    verdicts = sa.Table(
        "verdicts", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("max_score", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, default=""),
        sa.Column("device", sa.String(40), nullable=False, default=""),
        sa.Column("isolation", sa.Text, nullable=False, default=""),
        sa.Column("grader_version", sa.String(40), nullable=False, default=""),
        sa.Column("execution_time", sa.Float, nullable=False, default=0.0),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result_json", sa.Text, nullable=False),
        sa.UniqueConstraint("submission_id", name="uq_verdict_submission"),
    )
    checks = sa.Table(
        "checks", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("verdict_id", sa.Integer, sa.ForeignKey("verdicts.id"), nullable=False, index=True),
        sa.Column("exercise", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False, default=""),
    )
    return meta, submissions, verdicts, checks


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
            self.engine = sa.create_engine(url, future=True)
            if self.engine.dialect.name == "sqlite":
                self._sqlite_pragmas()
            self.meta, self.submissions, self.verdicts, self.checks = _tables()
            self.meta.create_all(self.engine)
        except ModuleNotFoundError as exc:
            raise GradebookError(f"the database driver for {safe_url(url)} is not installed ({exc.name})",
                                 hint="install it into the grader's environment, e.g. pip install 'psycopg[binary]' for postgresql://") from None
        except sa.exc.SQLAlchemyError as exc:
            raise GradebookError(f"cannot open the gradebook {safe_url(url)}: {str(exc).splitlines()[0]}") from None

    def _sqlite_pragmas(self) -> None:
        from sqlalchemy import event

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout = 30000")   # readers (a report, a test) never fail the writer
            cur.execute("PRAGMA synchronous = FULL")     # a committed verdict survives a power cut
            cur.close()

    def close(self) -> None:
        self.engine.dispose()

    # -- reading ----------------------------------------------------------------------
    def graded(self, assignment: str) -> set[tuple[str, str]]:
        """(student, sha256) of every submission of `assignment` that has a verdict."""
        import sqlalchemy as sa

        s, v = self.submissions, self.verdicts
        query = sa.select(s.c.student, s.c.sha256).join(v, v.c.submission_id == s.c.id).where(s.c.assignment == assignment)
        with self.engine.connect() as conn:
            return {(row.student, row.sha256) for row in conn.execute(query)}

    def verdicts_of(self, assignment: str, keys: Iterable[tuple[str, str]] | None = None) -> dict[tuple[str, str], StoredVerdict]:
        """Verdicts of `assignment`, keyed by (student, sha256); only `keys` when given."""
        import sqlalchemy as sa

        s, v = self.submissions, self.verdicts
        query = (sa.select(s.c.student, s.c.sha256, s.c.source, v.c.status, v.c.score, v.c.max_score, v.c.reason,
                           v.c.graded_at, v.c.result_json)
                 .join(v, v.c.submission_id == s.c.id).where(s.c.assignment == assignment))
        wanted = set(keys) if keys is not None else None
        out: dict[tuple[str, str], StoredVerdict] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                key = (row.student, row.sha256)
                if wanted is not None and key not in wanted:
                    continue
                out[key] = StoredVerdict(row.student, row.sha256, row.source, row.status, row.score, row.max_score,
                                         row.reason, row.graded_at, Result.from_dict(json.loads(row.result_json)))
        return out

    def count(self, table: str = "verdicts") -> int:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(getattr(self, table))).scalar_one())

    # -- writing ----------------------------------------------------------------------
    def record(self, *, assignment: str, student: str, sha256: str, source: str, status: VerdictStatus, result: Result,
               reason: str = "", replace: bool = False) -> bool:
        """Write one verdict in one transaction. False when one already exists and `replace` is off."""
        import sqlalchemy as sa

        if status not in STATUSES:
            raise ValueError(f"unknown verdict status {status!r}")
        s, v, c = self.submissions, self.verdicts, self.checks
        now = datetime.now(timezone.utc)
        try:
            with self.engine.begin() as conn:
                sub_id = conn.execute(sa.select(s.c.id).where(
                    s.c.assignment == assignment, s.c.student == student, s.c.sha256 == sha256)).scalar()
                if sub_id is None:
                    inserted = conn.execute(s.insert().values(assignment=assignment, student=student, sha256=sha256,
                                                              source=source, first_seen=now)).inserted_primary_key
                    assert inserted is not None
                    sub_id = inserted[0]
                old = conn.execute(sa.select(v.c.id).where(v.c.submission_id == sub_id)).scalar()
                if old is not None:
                    if not replace:
                        return False
                    conn.execute(c.delete().where(c.c.verdict_id == old))
                    conn.execute(v.delete().where(v.c.id == old))
                verdict_key = conn.execute(v.insert().values(
                    submission_id=sub_id, status=status, score=float(result.score), max_score=float(result.max_score),
                    reason=reason, device=result.device, isolation=result.isolation,
                    grader_version=result.grader_version, execution_time=float(result.execution_time),
                    graded_at=now, result_json=json.dumps(result.to_dict()),
                )).inserted_primary_key
                assert verdict_key is not None
                verdict_id = verdict_key[0]
                rows = [{"verdict_id": verdict_id, "exercise": ch.exercise, "name": ch.name, "hidden": ch.hidden,
                         "points": ch.points, "score": ch.score, "status": ch.status, "message": ch.message[:4000]}
                        for ch in result.checks]
                if rows:
                    conn.execute(c.insert(), rows)
        except sa.exc.IntegrityError:
            # another writer recorded this submission between our read and our insert
            if replace:
                raise
            return False
        except sa.exc.SQLAlchemyError as exc:
            raise GradebookError(f"cannot write to the gradebook {safe_url(self.url)}: {str(exc).splitlines()[0]}") from None
        return True


def safe_url(url: str) -> str:
    """A URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"
