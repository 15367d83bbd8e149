"""Project-wide test settings."""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_NOT_TESTS = (_HERE / "fixtures", _HERE / "submissions")


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:  # noqa: ANN001 - pytest.Config
    """Fixture assignments hold their own check files (test_*.py) that run only inside a grading
    session, against a notebook; the project's own run must not collect them.

    A grading session loads this conftest too (it is an ancestor of the fixtures' checks folders),
    so ignore only in the project's own session: a grading session's rootdir is the assignment."""
    if Path(config.rootpath).resolve() != _HERE.parent:
        return None
    if any(Path(collection_path).resolve().is_relative_to(p) for p in _NOT_TESTS):
        return True
    return None
