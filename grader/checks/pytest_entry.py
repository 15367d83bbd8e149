"""pytest11 entry point: run an assignment's checks under a course's own pytest.

    pytest --notebook SUBMISSION.ipynb assignments/<slug>/checks [solutions/<slug>/checks]

With --notebook, the submission's cells run once per session in a sandboxed kernel (as
`grader check` runs them), the `nb` fixture is its live proxy, and the checks pass or fail
exactly as they do under `grader check`; pytest prints its own report, plus the score.
Without --notebook this plugin does nothing but register the points/exercise markers: it is
loaded in every pytest run of an environment where the grader is installed.

Exit status: 0 all passed; 1 a check failed or the notebook is unreadable (pytest's own);
2 the grader could not run (no assignment found, the kernel would not start, ...).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from grader.cli.options import DEVICE_HELP, DEVICES, SANDBOX_HELP, SANDBOX_MODES


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "notebook grading (torch-notebook-grader)")
    group.addoption(
        "--notebook",
        metavar="SUBMISSION",
        default=None,
        help="grade this notebook: run its cells in a kernel and give the checks an `nb` fixture",
    )
    group.addoption(
        "--assignment",
        "--notebook-assignment",
        dest="notebook_assignment",
        metavar="DIR",
        default=None,
        help="the assignment folder holding assignment.toml (default: found upward from the checks)",
    )
    group.addoption("--notebook-device", choices=DEVICES, default="auto", help=DEVICE_HELP)
    group.addoption("--notebook-sandbox", choices=SANDBOX_MODES, default="auto", help=SANDBOX_HELP)


# A hidden check module may have a public one's file name (`grader new` scaffolds them so):
# pytest's default import mode ("prepend") imports both as one module name and stops with
# "import file mismatch"; importlib imports each file on its own, as `grader check` does.
# A mode the user chose other than the default is kept.
IMPORT_MODE = "importlib"


def _choose_import_mode(namespace: Any) -> None:
    if getattr(namespace, "notebook", None) is not None and getattr(namespace, "importmode", None) == "prepend":
        namespace.importmode = IMPORT_MODE


def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    _choose_import_mode(early_config.known_args_namespace)  # conftest.py files in the checks folders


def pytest_configure(config: pytest.Config) -> None:
    from grader.checks.plugin import MARKERS

    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if config.getoption("notebook", None) is None:
        return
    _choose_import_mode(config.option)  # the check modules
    config.addinivalue_line("python_files", "check_*.py")  # as `grader check` collects them
    from grader.checks import _nb_fixture

    config.pluginmanager.register(NotebookSession(config), _nb_fixture.SESSION_PLUGIN)
    config.pluginmanager.register(_nb_fixture, "grader-notebook-fixture")
    from grader.checks.files import AssignmentFilesPlugin

    option = config.getoption("notebook_assignment")
    config.pluginmanager.register(
        AssignmentFilesPlugin(_arg_paths(config), Path(option) if option else None), "grader-assignment-files"
    )


# -- finding the assignment --------------------------------------------------------------------
def _arg_paths(config: pytest.Config) -> list[Path]:
    paths = []
    for arg in config.args:
        path = Path(str(arg).split("::")[0])
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
        if path.exists():
            paths.append(path)
    return paths


# -- failure text, as `grader check` words it ---------------------------------------------------
def _summary(s: Any) -> str:
    shape = "" if s.shape is None else "(" + ", ".join(map(str, s.shape)) + ("," if len(s.shape) == 1 else "") + ")"
    values = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in (s.values or []))
    return " ".join(part for part in (s.type, shape, s.dtype or "", values) if part)


def failure_text(exc: BaseException) -> str:
    from grader.failures import CheckFailed

    if not isinstance(exc, CheckFailed):
        return ""
    details = exc.details
    lines = [exc.message]
    if details.get("expected") is not None and details.get("actual") is not None:
        lines += [f"expected: {_summary(details['expected'])}", f"got:      {_summary(details['actual'])}"]
    if details.get("traceback"):
        lines += ["", str(details["traceback"])]
    if details.get("output"):
        lines += ["", "printed:", str(details["output"])]
    return "\n".join(lines)


class NotebookSession:
    """Registered only with --notebook: owns the kernel and provides `nb`."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.path = Path(config.getoption("notebook"))
        self.assignment: Any = None
        self.submission: Any = None
        self.isolation: Any = None
        self.device = "none"
        self._stack = ExitStack()
        self._nb: Any = None
        self._hidden_root: Path | None = None
        self.points: dict[str, tuple[float, float]] = {}  # nodeid -> (points, earned)

    # -- session ----------------------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from grader.course import assignment_dir_for_checks, load_assignment
        from grader.errors import GraderError

        if not self.path.is_file():
            pytest.exit(f"grader: no such notebook: {self.path}", returncode=2)
        try:
            option = self.config.getoption("notebook_assignment")
            root = Path(option) if option else assignment_dir_for_checks(_arg_paths(self.config))
            if root is None:
                pytest.exit("grader: no assignment.toml found above the checks; pass --assignment DIR", returncode=2)
            self.assignment = load_assignment(root)
        except GraderError as exc:
            pytest.exit(f"grader: error: {exc}", returncode=2)
        hidden = self.assignment.hidden_checks
        self._hidden_root = hidden.resolve() if hidden is not None else None
        from grader.submission.opened import open_submission

        # as `grader check` grades it: the other files of the notebook's folder come along
        self.submission = self._stack.enter_context(open_submission(self.path, self.assignment)).submission

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._stack.close()

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        if self.assignment is None:
            return []
        return [f"grader: notebook {self.path} for assignment '{self.assignment.slug}' ({self.assignment.root})"]

    # -- the notebook -----------------------------------------------------------------------
    def notebook(self) -> Any:
        """The `nb` of the checks: started on first use, once per session."""
        if self._nb is not None:
            return self._nb
        from grader.checks.context import CheckContext, set_current
        from grader.errors import GraderError
        from grader.grade import Options, UnreadableNotebook, live_notebook
        from grader.sandbox.isolation import detect

        if not self.submission.readable:
            self._nb = UnreadableNotebook(" ".join(self.submission.problems))
        else:
            options = Options(
                device=self.config.getoption("notebook_device"), sandbox=self.config.getoption("notebook_sandbox")
            )
            try:
                self.isolation = detect(options.sandbox)
                live = self._stack.enter_context(
                    live_notebook(self.submission, self.assignment, options, self.isolation)
                )
            except GraderError as exc:
                self._stack.close()
                pytest.exit(f"grader: error: {exc}", returncode=2)
            self.device = live.device
            self._nb = live.notebook
        set_current(
            CheckContext(
                device=self.device,
                tolerance=self.assignment.tolerance(self.device),
                uses=self.assignment.uses,
                carried_forward=self.assignment.carried_forward,
            )
        )
        return self._nb

    # -- verdicts ---------------------------------------------------------------------------
    def _hidden(self, item: pytest.Item) -> bool:
        return self._hidden_root is not None and Path(str(item.fspath)).resolve().is_relative_to(self._hidden_root)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]):  # type: ignore[no-untyped-def]
        from grader.checks.plugin import points_of
        from grader.verdict import earned

        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            points, credit = points_of(item), getattr(getattr(call.excinfo, "value", None), "credit", None)
            self.points[item.nodeid] = (points, earned(points, report.passed, credit))
        if report.passed or call.excinfo is None:
            return
        if self._hidden(item):
            report.longrepr = f"{item.name} (hidden): {self._hidden_words(call.excinfo.value)}"
            report.sections = []
            return
        text = failure_text(call.excinfo.value)
        if text:
            report.longrepr = text

    def _hidden_words(self, exc: BaseException) -> str:
        """A failed hidden check's words, as the verdict's ([visibility] hidden_checks)."""
        from grader.failures import CheckFailed
        from grader.verdict import hidden_failure

        diagnosis = exc.details.get("diagnosis") if isinstance(exc, CheckFailed) else None
        allowed = self.assignment is not None and self.assignment.hidden_feedback == "mistake"
        return hidden_failure(str(getattr(diagnosis, "public", "") or "") if allowed else "")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.points:
            return
        from grader.verdict import points_total

        score, total = points_total(self.points.values())
        where = f"device {self.device}" + (f", isolation: {self.isolation.kind}" if self.isolation is not None else "")
        if self.submission is not None and not self.submission.readable:
            where = "not graded: " + " ".join(self.submission.problems)
        terminalreporter.write_sep("=", f"grader: {score:g}/{total:g} points ({where})")
