"""The `nb` fixture of `pytest --notebook`: registered by grader.checks.pytest_entry only when
--notebook is given, so that other pytest runs never see a fixture of that name."""

from __future__ import annotations

from typing import Any

import pytest

SESSION_PLUGIN = "grader-notebook-session"


@pytest.fixture(scope="session")
def nb(request: pytest.FixtureRequest) -> Any:
    """The student's notebook, live in its kernel (see grader.nb.proxy.Notebook)."""
    session = request.config.pluginmanager.get_plugin(SESSION_PLUGIN)
    assert session is not None, "registered with this fixture by grader.checks.pytest_entry"
    return session.notebook()
