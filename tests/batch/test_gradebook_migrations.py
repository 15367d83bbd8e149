"""The gradebook's schema through Alembic: new, upgraded in place from a release before Alembic,
refused when a newer grader wrote it."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gradebooks"
BEFORE_ALEMBIC = FIXTURES / "made-by-0.1.0-before-alembic.sqlite"  # grader batch of 0.1.0 (dc31f75), 3 students


def _rows(db: Path, query: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query).fetchall()


def test_head_names_the_newest_migration() -> None:
    from grader.batch.migrate import HEAD, head

    assert HEAD == head(), "a new migration was added: set grader.batch.migrate.HEAD to its revision"


def test_a_new_gradebook_is_at_the_newest_revision(tmp_path: Path) -> None:
    from grader.batch.gradebook import Gradebook
    from grader.batch.migrate import head

    Gradebook(f"sqlite:///{tmp_path / 'g.sqlite'}").close()
    assert _rows(tmp_path / "g.sqlite", "SELECT version_num FROM alembic_version") == [(head(),)]


def test_a_gradebook_made_before_alembic_is_upgraded_in_place_with_every_verdict(tmp_path: Path) -> None:
    from grader.batch.gradebook import Gradebook
    from grader.batch.migrate import head

    db = tmp_path / "old.sqlite"
    shutil.copy(BEFORE_ALEMBIC, db)
    assert not _rows(db, "SELECT name FROM sqlite_master WHERE name = 'alembic_version'")
    before = _rows(
        db,
        "SELECT s.student, s.sha256, v.status, v.score, v.result_json "
        "FROM submissions s JOIN verdicts v ON v.submission_id = s.id ORDER BY s.student",
    )
    book = Gradebook(f"sqlite:///{db}")
    stored = book.verdicts_of("neural-net-basics")
    assert {(v.student, v.status, v.score) for v in stored.values()} == {
        ("correct", "passed", 38.0),
        ("sigmoid_sign_error", "failed", 17.0),
        ("truncated", "unreadable", 0.0),
    }
    assert book.graded("neural-net-basics") == {(s, sha) for s, sha, *_ in before}
    book.close()
    assert _rows(db, "SELECT version_num FROM alembic_version") == [(head(),)]
    after = _rows(
        db,
        "SELECT s.student, s.sha256, v.status, v.score, v.result_json "
        "FROM submissions s JOIN verdicts v ON v.submission_id = s.id ORDER BY s.student",
    )
    assert after == before
    Gradebook(f"sqlite:///{db}").close()  # a second open finds nothing to do
    assert _rows(db, "SELECT count(*) FROM alembic_version") == [(1,)]


def test_a_gradebook_from_a_newer_grader_is_refused_in_words(tmp_path: Path) -> None:
    from grader.batch.gradebook import Gradebook
    from grader.errors import GraderError

    db = tmp_path / "g.sqlite"
    Gradebook(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(GraderError) as caught:
        Gradebook(f"sqlite:///{db}")
    assert "revision '9999_from_the_future'" in str(caught.value)
    assert "upgrade the grader" in caught.value.hint and caught.value.exit_code == 2


def _schema_of(url: str) -> tuple[list, dict]:
    """What Alembic finds different between the database and schema.py's tables (nothing, for a
    gradebook at the head), and the database's own description of each table."""
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from grader.batch.schema import desk_tables, manual_tables, tables

    meta = tables().meta
    desk_tables(meta)
    manual_tables(meta)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), meta)
        found = sa.inspect(conn)
        described = {
            name: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(name)],
                sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(name)),
                sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(name)),
                sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in found.get_foreign_keys(name)),
                found.get_pk_constraint(name)["constrained_columns"],
            )
            for name in sorted(found.get_table_names())
        }
    engine.dispose()
    return diffs, described


def _made_both_ways(new_url: str, migrated_url: str) -> None:
    import sqlalchemy as sa

    from grader.batch.gradebook import Gradebook
    from grader.batch.migrate import upgrade_connection

    Gradebook(new_url).close()  # an empty database: made from schema.py, stamped at the head
    engine = sa.create_engine(migrated_url)
    with engine.begin() as conn:  # the same through every revision from the first
        upgrade_connection(conn)
    engine.dispose()
    new, migrated = _schema_of(new_url), _schema_of(migrated_url)
    assert new[0] == [] and migrated[0] == [], (new[0], migrated[0])
    assert new[1] == migrated[1]


def test_a_new_gradebook_has_the_tables_every_revision_makes(tmp_path: Path) -> None:
    _made_both_ways(f"sqlite:///{tmp_path / 'new.sqlite'}", f"sqlite:///{tmp_path / 'migrated.sqlite'}")


def test_a_new_gradebook_has_the_tables_every_revision_makes_on_postgresql(postgres_server) -> None:
    _made_both_ways(
        postgres_server.url(postgres_server.new_database()), postgres_server.url(postgres_server.new_database())
    )
