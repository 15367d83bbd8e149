"""Project-wide test settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# `grader check` in tests (in-process or a subprocess) grades cold unless a test asks for the warm
# server (tests/warm/test_warm_server.py, with a server folder of its own): nothing lingers after a run.
os.environ.setdefault("GRADER_NO_SERVER", "1")

_HERE = Path(__file__).resolve().parent
_NOT_TESTS = (_HERE / "fixtures", _HERE / "submissions")


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:  # config: a pytest.Config
    """Fixture assignments hold their own check files (test_*.py) that run only inside a grading
    session, against a notebook; the project's own run must not collect them.

    A grading session loads this conftest too (it is an ancestor of the fixtures' checks folders),
    so ignore only in the project's own session: a grading session's rootdir is the assignment."""
    if Path(config.rootpath).resolve() != _HERE.parent:
        return None
    if any(Path(collection_path).resolve().is_relative_to(p) for p in _NOT_TESTS):
        return True
    return None


@pytest.fixture(scope="session")
def postgres_server():  # a pg_server.PostgresServer
    """A throwaway PostgreSQL server for the session (tests/pg_server.py): initdb and pg_ctl in a
    temporary folder, as an unprivileged user, on a unix socket only; stopped and removed at the
    end. Skips with the reason where PostgreSQL or psycopg is missing, unless
    GRADER_REQUIRE_POSTGRES_TESTS=1 (CI), where that is a failure."""
    import importlib.util
    import os
    import sys

    spec = importlib.util.spec_from_file_location("pg_server", _HERE / "pg_server.py")
    assert spec is not None and spec.loader is not None
    pg_server = sys.modules.setdefault("pg_server", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(pg_server)
    reason = pg_server.unavailable()
    if reason:
        if os.environ.get("GRADER_REQUIRE_POSTGRES_TESTS"):
            pytest.fail(f"GRADER_REQUIRE_POSTGRES_TESTS is set (CI) but {reason}")
        pytest.skip(reason)
    server = pg_server.PostgresServer.start()
    yield server
    server.stop()
