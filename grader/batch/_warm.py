"""Importing this module does, once, what every grading process would otherwise do first.

For a process that forks graders (the batch's worker server preloads it): each fresh worker
then starts with nbformat's schema validator compiled, pytest's built-in plugins imported,
the sandbox's probes (bubblewrap runs, its options) cached, one pytest session and one tensor
load already run through (their lazy imports, regexes and caches), the batch's own checks
collected (workers.PREPARE_VAR names them; see grader.checks.session), and the objects of all
of that frozen out of the garbage collector's sight (a worker's collections neither walk them
nor copy their pages). It grades nothing, renders nothing (a batch's feedback is written by its
CLI) and starts no kernel. Failures here are ignored: every step is only a head start on work a
grader would do anyway.
"""

from __future__ import annotations

import importlib
import json
import os

from grader.batch.workers import SAFE_PATH_MARK, SAFE_PATH_VAR
from grader.preloads import WORKER_MODULES

# the worker server was started without the current folder on its path (workers.start_worker_server);
# its workers and their kernels start as any other process does
if os.environ.pop(SAFE_PATH_MARK, None):
    os.environ.pop(SAFE_PATH_VAR, None)


def warm() -> None:
    # the collector paused throughout (grader.collector) and what all of it built frozen at the
    # end; no gc.collect() before the freeze (0.13 s): the little garbage left is frozen with it
    from grader.collector import paused

    with paused():
        for step in (
            _modules,
            _nbformat_validator,
            _pytest_plugins,
            _sandbox_probes,
            _tensor_load,
            _pytest_session,
            _batch_checks,
        ):
            try:
                step()
            except Exception:
                pass


def _nbformat_validator() -> None:
    from nbformat import validator

    # each schema version compiles apart (fastjsonschema, ~65 ms each, in every worker that meets
    # it): the current one and those submissions often come in (4.0 from Colab, 4.2 and 4.4 from
    # older Jupyter releases)
    validator.get_validator()
    for minor in (0, 2, 4):
        validator.get_validator(4, minor)


def _pytest_plugins() -> None:
    from _pytest.config import default_plugins

    for name in default_plugins:
        try:
            importlib.import_module(name if "." in name else f"_pytest.{name}")
        except Exception:
            pass


def _sandbox_probes() -> None:
    import shutil

    from grader.sandbox import isolation as sandbox

    isolation = sandbox.detect("auto")
    if isolation.bwrap:
        sandbox.bwrap_options(isolation.bwrap)
    sandbox.reachable_by_others(__import__("sys").executable)
    if shutil.which("setpriv"):
        sandbox.setpriv_knows("--ambient-caps")
        sandbox.setpriv_knows("--pdeathsig")


def _modules() -> None:
    for name in WORKER_MODULES:
        try:
            importlib.import_module(name)
        except Exception:
            pass


def _tensor_load() -> None:
    """A tensor through the bridge's own decoding (torch.load, weights only), as replies come."""
    import io

    import torch

    from grader.bridge.codec import load_tensors

    buffer = io.BytesIO()
    torch.save([torch.zeros(2, dtype=torch.float32), torch.zeros(1, dtype=torch.float64)], buffer)
    load_tensors(buffer.getvalue())


def _pytest_session() -> None:
    """One quiet in-process pytest run through the grader's plugin, on a throwaway check file."""
    import tempfile
    from pathlib import Path

    from grader.checks.plugin import GradingPlugin, run_checks

    with tempfile.TemporaryDirectory(prefix="grader-warm-") as tmp:
        checks = Path(tmp) / "checks"
        checks.mkdir()
        (checks / "test_warm.py").write_text(
            "import pytest\n\n\n@pytest.mark.points(1)\ndef test_warm(nb):\n    assert nb is None, 'warm'\n"
        )
        run_checks([checks], GradingPlugin(None, None))


def _batch_checks() -> None:
    """The checks the batch grades with, collected once for every worker forked from here."""
    from grader.batch.workers import PREPARE_VAR

    wanted = json.loads(os.environ.get(PREPARE_VAR) or "null")
    if not isinstance(wanted, dict):
        return
    from pathlib import Path

    from grader.checks.plugin import prepare_checks
    from grader.course import load_assignment
    from grader.grade import check_paths

    paths, hidden_root = check_paths(load_assignment(Path(wanted["assignment"])), bool(wanted.get("hidden", True)))
    prepare_checks(paths, hidden_root, select=wanted.get("select"))


warm()
