"""The desk's notebook view reads the cells of any notebook form it may be given, as text."""

from __future__ import annotations

import json
from pathlib import Path

from grader.desk.notebook_view import cells

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bad_files"


def test_nbformat3_cells_come_from_the_worksheets() -> None:
    data = json.loads((FIXTURES / "nbformat3.ipynb").read_text())
    shown = cells(data)
    assert [(c.kind, c.source.splitlines()[0]) for c in shown] == [("code", "import torch")]


def test_json_that_is_no_notebook_shows_no_cells() -> None:
    for data in ([], "cells", {"cells": "x"}, {"worksheets": [{"cells": "abc"}, 3]}, {"cells": [1, None, "<b>"]}):
        assert cells(data) == []
