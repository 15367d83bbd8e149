"""Bring a gradebook's tables to the code's revision with Alembic, in place, every verdict kept.

A new database gets every revision from the first; a gradebook written before the grader used
Alembic (its tables there, no alembic_version) is stamped at the baseline revision and upgraded
from there; one already at the head costs one query. Batches that open the same gradebook at
once take turns: an advisory lock on PostgreSQL (its DDL is transactional), retries elsewhere
(the loser of a race finds the work done when it tries again).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from grader.errors import GraderError

BASELINE = "0001_baseline"  # the tables every release before Alembic wrote
HEAD = "0004_manual"  # the newest revision in migrations/versions (a test holds the two equal)
ATTEMPTS = 8
MIGRATE_LOCK = 0x67726164  # the advisory lock under which batches migrate (PostgreSQL)
SCRIPTS = Path(__file__).resolve().parent / "migrations"
# Alembic's `context` is one module-level proxy per process: two threads migrating at once (a desk
# opening a gradebook while a regrade does) would take each other's. One at a time per process.
ALEMBIC_LOCK = threading.Lock()


class SchemaError(GraderError):
    """The gradebook's tables are of a revision this grader does not know."""


def upgrade(engine: Any) -> None:
    """Migrate the database behind `engine` to the newest revision."""
    import sqlalchemy as sa

    if at_head(engine):
        return
    from alembic.util import CommandError  # a writer that stamped the baseline while another migrated

    for attempt in range(ATTEMPTS):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
                upgrade_connection(conn)
            return
        except (sa.exc.IntegrityError, sa.exc.OperationalError, sa.exc.ProgrammingError, CommandError) as exc:
            raced = isinstance(exc, sa.exc.IntegrityError) or "already exists" in str(exc) or "overlaps" in str(exc)
            if not raced or attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def at_head(engine: Any) -> bool:
    """Whether the tables are at HEAD already: one query, without importing Alembic (~0.3 s of a
    batch's start-up, where the gradebook is almost always current)."""
    import sqlalchemy as sa

    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    except sa.exc.DBAPIError:
        return False


def head() -> str:
    """The newest revision this grader knows."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory(str(SCRIPTS)).get_current_head()
    assert found is not None, f"no revisions under {SCRIPTS}"
    return found


def current(conn: Any) -> str | None:
    """The revision the connected database is at (None: no alembic_version table)."""
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade_connection(conn: Any) -> None:
    """Migrate inside the caller's transaction."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    at, newest = current(conn), head()
    if at == newest:
        return
    if at is not None and at not in {rev.revision for rev in ScriptDirectory(str(SCRIPTS)).walk_revisions()}:
        raise SchemaError(
            f"the gradebook's tables are at revision {at!r}, which this grader does not know "
            f"(its newest is {newest!r})",
            hint="a newer grader wrote it: upgrade the grader (pip install -U) before opening it",
        )
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = conn
    with ALEMBIC_LOCK:
        if at is None and sa.inspect(conn).has_table("submissions"):
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
