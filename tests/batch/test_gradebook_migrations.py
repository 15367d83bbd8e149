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
