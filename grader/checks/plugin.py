"""The pytest side of grading: the `nb` fixture, points/exercise markers, and result capture."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from grader.checks.files import AssignmentFilesPlugin
from grader.checks.session import imported_from, no_bytecode_written, prepare, prepared_for, pytest_args, run_pytest
from grader.failures import CheckFailed
from grader.nb import readings
from grader.nb.proxy import bridge_of
from grader.results import CheckResult
from grader.verdict import CheckRun, earned

PASSED = "Passed."
TB_STYLE = "native"  # pytest's --tb, whose option the terminal plugin (off here) would add
MARKERS = (
    "points(n): the points a check is worth (default 1)",
    "exercise(name): the exercise a check belongs to (default: NAME in test_NAME.py)",
)


def exercise_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("exercise")
    if marker is not None and marker.args:
        return str(marker.args[0])
    stem = Path(str(item.fspath)).stem
    return stem[5:] if stem.startswith("test_") else stem


def points_of(item: pytest.Item) -> float:
    marker = item.get_closest_marker("points")
    return float(marker.args[0]) if marker is not None and marker.args else 1.0


def _first_lines(text: str) -> str:
    """A plain assert's message without pytest's rewritten expression."""
    keep = []
    for line in text.splitlines():
        if line.startswith("assert ") or line.startswith("where ") or line.startswith(" +"):
            break
        keep.append(line)
    return "\n".join(keep).strip()


class GradingPlugin:
    """Passed to pytest.main(plugins=[...]); holds the notebook proxy and collects verdicts."""

    def __init__(self, nb: Any, hidden_root: Path | None) -> None:
        self.notebook = nb
        self.hidden_root = hidden_root.resolve() if hidden_root else None
        self.results: list[CheckResult] = []
        self.internal_errors: list[str] = []  # the checks could not be loaded: the assignment is broken
        self.check_crashes: list[str] = []  # a check raised something other than a verdict
        self._started: dict[str, float] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        for marker in MARKERS:
            config.addinivalue_line("markers", marker)
        # Verdicts are read from the exception itself (_result); pytest's own failure report, which
        # parses each failing check's source to draw a long traceback, is never shown: ~25 ms of CPU
        # per failed check, most of a failing submission's grading. A native traceback costs ~nothing.
        config.option.tbstyle = TB_STYLE

    @pytest.fixture(scope="session")
    def nb(self) -> Any:
        return self.notebook

    def _hidden(self, item: pytest.Item) -> bool:
        if self.hidden_root is None:
            return False
        return Path(str(item.fspath)).resolve().is_relative_to(self.hidden_root)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            text = str(report.longrepr).strip().splitlines()
            self.internal_errors.append(
                f"checks in {report.nodeid or 'the checks folder'} could not be loaded: "
                + (text[-1] if text else "collection failed")
            )

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self._started[nodeid] = time.monotonic()
        readings.clear()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):  # type: ignore[no-untyped-def]
        """A failed check whose calls reached a failed exercise runs once more with stand-ins
        (checks/carry.py); the check of a submission with nothing failing costs nothing more."""
        from grader.checks.references import running

        bridge = bridge_of(self.notebook) if self.notebook is not None else None
        if bridge is not None:
            bridge.reached.clear()
        running().append((exercise_of(item), Path(str(item.fspath)).resolve()))
        try:
            outcome = yield
        finally:
            running().pop()
        failure = outcome.excinfo[1] if outcome.excinfo else None
        if isinstance(failure, CheckFailed) and bridge is not None and bridge.carries_forward:
            from grader.checks.carry import retry

            retry(item, failure, bridge, exercise_of(item), self.results)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]):  # type: ignore[no-untyped-def]
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.results.append(self._result(item, call, report))

    def _result(self, item: pytest.Item, call: pytest.CallInfo[Any], report: Any) -> CheckResult:
        points = points_of(item)
        result = CheckResult(
            name=item.name,
            exercise=exercise_of(item),
            points=points,
            score=0.0,
            status="failed",
            hidden=self._hidden(item),
            nodeid=item.nodeid,
            duration=time.monotonic() - self._started.get(item.nodeid, time.monotonic()),
        )
        if report.passed:
            result.status, result.score, result.message = "passed", points, PASSED
            return result
        if report.skipped:
            result.message = f"Not run: {getattr(call.excinfo, 'value', '') or 'skipped'}. No points."
            return result
        exc = call.excinfo.value if call.excinfo is not None else None
        if isinstance(exc, CheckFailed):
            result.message = exc.message
            details = exc.details
            result.score = earned(points, False, details.get("credit"))  # a PartialCredit's part
            result.expected = details.get("expected")
            result.actual = details.get("actual")
            result.mismatches = list(details.get("mismatches", []))
            result.traceback = str(details.get("traceback", ""))
            result.output = str(details.get("output", ""))
            diagnosis = details.get("diagnosis")
            result.diagnosis = str(getattr(diagnosis, "public", "") or "")
            result.diagnosed_by = str(getattr(diagnosis, "recognised_by", "") or "") if result.diagnosis else ""
            result.carried_forward = str(details.get("carried_forward", ""))
        elif isinstance(exc, AssertionError):
            result.message = _first_lines(str(exc)) or "The check's assertion failed."
        else:
            name = type(exc).__name__ if exc is not None else "error"
            result.message = (
                f"The check could not run ({name}: {exc}). "
                "This is a fault in the check, not in your work; tell your instructor."
            )
            self.check_crashes.append(f"check {item.name} crashed: {name}: {exc}")
        read = readings.sentence()
        if read and result.status == "failed":
            result.message = f"{result.message} {read}"
        nb_call = getattr(self.notebook, "last_call", None)
        if not result.output and nb_call is not None and nb_call.output:
            result.output = nb_call.output
        return result


def run_checks(paths: list[Path], plugin: GradingPlugin, *, select: str | None = None) -> CheckRun:
    """Run the check files under `paths` in this process: one CheckResult per check, and the
    faults of the checks themselves. In a fork of a process that collected these checks ahead
    (`prepare_checks`), the collected checks run; otherwise pytest.main does it all."""
    args = pytest_args(paths, select=select)
    if not args:
        return CheckRun()
    prepared = prepared_for(paths, plugin.hidden_root, select)
    with no_bytecode_written():
        if prepared is not None:  # collected ahead by the process this one was forked from
            prepared.plugin.notebook = plugin.notebook
            plugin = prepared.plugin
            code = prepared.run()
        else:
            before = set(sys.modules)
            try:
                code = run_pytest(args, [plugin, AssignmentFilesPlugin([Path(p) for p in paths])])
            finally:
                _forget_check_modules(set(sys.modules) - before, paths)
    if code not in (0, 1, 5):  # 2 interrupted, 3 internal error, 4 usage error
        plugin.internal_errors.append(f"pytest could not run the checks (exit code {int(code)})")
    return CheckRun(plugin.results, plugin.internal_errors, plugin.check_crashes)


def prepare_checks(paths: list[Path], hidden_root: Path | None, *, select: str | None = None) -> str:
    """In a process that forks its graders: pytest configured and these checks collected once,
    for the first grading in each fork (grader.checks.session). '' or why not."""
    plugin = GradingPlugin(None, hidden_root)
    return prepare(paths, [plugin, AssignmentFilesPlugin([Path(p) for p in paths])], select=select)


def _forget_check_modules(names: set[str], paths: list[Path]) -> None:
    """Drop the check modules (and conftests) this run imported, `names`, from sys.modules.

    With --import-mode=importlib pytest reuses a module already in sys.modules under the same
    name, and names come from paths relative to the rootdir: the next run in this process, of
    another assignment whose checks are also checks/test_activation.py, would otherwise run
    these checks instead of its own."""
    for name in imported_from(names, paths):
        sys.modules.pop(name, None)
