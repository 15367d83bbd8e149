"""`import grader.cli` stays cheap: no torch, nbclient, jupyter_client, pytest or jinja2."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "nbclient", "jupyter_client", "pytest", "jinja2")


def test_import_grader_cli_imports_nothing_heavy() -> None:
    code = (
        "import json, sys; import grader.cli; from grader.cli.main import build_parser; build_parser(); "
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
