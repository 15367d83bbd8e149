"""Grade one submission: read -> execute -> check -> verdict. The one code path for every command."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import grader
from grader.config import Assignment
from grader.errors import DeviceUnavailable, GraderError
from grader.failures import CheckFailed
from grader.notebook import Submission, read_submission
from grader.results import Result
from grader.sandbox.isolation import Isolation, detect

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Options:
    device: str = "auto"
    sandbox: str = "auto"            # auto | none | require
    hidden: bool = True              # run solutions/<slug>/checks when present
    select: str | None = None        # pytest -k expression (one exercise, say)
    fork_server: bool = True         # kernels forked from a zygote with torch imported (grader/forkserver.py);
                                     # False: a plain kernel per submission (--no-fork-server)


class UnreadableNotebook:
    """The `nb` of a submission that could not be read: every check fails with the reason."""

    last_call = None
    device = "none"

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise CheckFailed(f"Not graded: {self._reason}")

    def cell(self, **_: Any) -> Any:
        raise CheckFailed(f"Not graded: {self._reason}")


def choose_device(requested: str, available: dict[str, Any]) -> str:
    if requested not in DEVICES:
        raise DeviceUnavailable(f"unknown device '{requested}'", hint="use one of: " + ", ".join(DEVICES))
    if requested == "auto":
        return "cuda" if available.get("cuda") else "mps" if available.get("mps") else "cpu"
    if requested != "cpu" and not available.get(requested):
        raise DeviceUnavailable(
            f"--device {requested} was asked for, but the kernel sees no {requested.upper()} device on this machine",
            hint="use --device auto (the best device present) or --device cpu",
        )
    return requested


def check_paths(assignment: Assignment, hidden: bool) -> tuple[list[Path], Path | None]:
    paths = [assignment.public_checks]
    hidden_dir = assignment.hidden_checks if hidden else None
    if hidden_dir is not None:
        paths.append(hidden_dir)
    return paths, hidden_dir


KernelFactory = Callable[[Assignment, Isolation], Any]


def default_kernel(assignment: Assignment, isolation: Isolation) -> Any:
    from grader.sandbox.kernel import Kernel

    return Kernel(assignment.limits, sandbox=isolation, start_timeout=assignment.timeouts.kernel_start)


def kernel_factory_for(options: Options) -> KernelFactory:
    """The kernels of `options`: forked from the zygote (the default), or plain."""
    if options.fork_server:
        from grader.sandbox.forkserver import fast_kernel

        return fast_kernel
    return default_kernel


def grade(path: Path, assignment: Assignment, options: Options = Options(), *,
          isolation: Isolation | None = None, kernel_factory: KernelFactory | None = None) -> Result:
    """Grade the notebook at `path`. Student faults end in the verdict; grader faults raise."""
    started = time.monotonic()
    kernel_factory = kernel_factory or kernel_factory_for(options)
    isolation = isolation or detect(options.sandbox)
    warm = getattr(kernel_factory, "warm", None)
    if warm is not None:
        warm(assignment, isolation)     # the fork server boots while the notebook is read
    submission = read_submission(Path(path))
    result = Result(
        submission=str(path), assignment=assignment.slug, sha256=submission.sha256,
        grader_version=grader.__version__, isolation=isolation.label, readable=submission.readable,
        exercises=dict(assignment.exercises),
    )
    result.errors += submission.problems + submission.warnings
    paths, hidden_dir = check_paths(assignment, options.hidden)
    result.hidden_ran = hidden_dir is not None
    if not submission.readable:
        _run_checks(result, assignment, UnreadableNotebook(" ".join(submission.problems)), paths, hidden_dir, options)
        result.device = "none"
    else:
        _grade_live(result, submission, assignment, options, isolation, kernel_factory, paths, hidden_dir)
    result.score = round(sum(c.score for c in result.checks), 6)
    result.max_score = round(sum(c.points for c in result.checks), 6)
    result.execution_time = time.monotonic() - started
    return result


@dataclass
class LiveNotebook:
    """A submission whose cells have run in a live kernel: `notebook` is the `nb` of the checks."""

    notebook: Any
    runner: Any
    device: str


@contextmanager
def live_notebook(submission: Submission, assignment: Assignment, options: Options, isolation: Isolation,
                  kernel_factory: KernelFactory | None = None,
                  timings: dict[str, float] | None = None) -> Iterator[LiveNotebook]:
    """Start a kernel, run every cell of `submission`, yield its proxy; shut the kernel down after."""
    from grader.bridge.client import Bridge, Notebook
    from grader.execute import Runner

    kernel_factory = kernel_factory or kernel_factory_for(options)
    timings = {} if timings is None else timings
    t0 = time.monotonic()
    kernel = kernel_factory(assignment, isolation)   # may start it already (the fork server's kernels are)
    runner = Runner(kernel=kernel, assignment=assignment, submission=submission)
    try:
        runner.start()
        bridge = Bridge(runner)
        device = choose_device(options.device, bridge.devices())
        bridge.device = device
        t1 = time.monotonic()
        timings["kernel_start"] = t1 - t0
        runner.run_all()
        timings["cells"] = time.monotonic() - t1
        yield LiveNotebook(Notebook(bridge), runner, device)
    finally:
        kernel.shutdown()


def _grade_live(result: Result, submission: Submission, assignment: Assignment, options: Options,
                isolation: Isolation, kernel_factory: KernelFactory, paths: list[Path],
                hidden_dir: Path | None) -> None:
    with live_notebook(submission, assignment, options, isolation, kernel_factory, result.timings) as live:
        result.device = live.device
        t2 = time.monotonic()
        _run_checks(result, assignment, live.notebook, paths, hidden_dir, options)
        result.timings["checks"] = time.monotonic() - t2
        result.cells = live.runner.cell_issues()
        if live.runner.restarts:
            result.errors.append(f"The kernel was restarted {live.runner.restarts} time(s) while grading.")


def _run_checks(result: Result, assignment: Assignment, nb: Any, paths: list[Path],
                hidden_dir: Path | None, options: Options) -> None:
    from grader.checks.context import CheckContext, set_current
    from grader.checks.plugin import GradingPlugin, run_checks

    set_current(CheckContext(device=result.device, tolerance=assignment.tolerance(result.device)))
    plugin = GradingPlugin(nb, hidden_dir)
    result.checks = run_checks(paths, plugin, select=options.select)
    if plugin.internal_errors:
        raise GraderError("the assignment's checks are broken: " + "; ".join(plugin.internal_errors[:5]),
                          hint="this is a fault in the assignment, not in the submission")
    result.errors += [f"Grader note: {c}" for c in plugin.check_crashes]
    known = list(assignment.exercises)
    result.checks.sort(key=lambda c: (known.index(c.exercise) if c.exercise in known else len(known), c.hidden))
