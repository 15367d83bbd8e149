"""Grade one submission: read -> execute -> check -> verdict. The one code path for every command."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from grader.version import __version__
from grader.config import Assignment
from grader.errors import DeviceUnavailable, GraderError, UsageError
from grader.failures import CheckFailed
from grader.submission.notebook import Submission, read_submission
from grader.options import DEVICES, SANDBOX_MODES, Device, Options, SandboxMode
from grader.policy.answers import find_answers, no_answers
from grader.results import NOT_GRADED_ABOVE, ManualAnswer, Result
from grader.sandbox.isolation import Isolation, detect
from grader.verdict import CheckRun, conclude

__all__ = [
    "DEVICES",
    "SANDBOX_MODES",
    "Device",
    "LiveNotebook",
    "Options",
    "SandboxMode",
    "UnreadableNotebook",
    "check_paths",
    "choose_device",
    "default_kernel",
    "grade",
    "header",
    "judge",
    "kernel_factory_for",
    "kernel_files",
    "live_notebook",
    "run_assignment_checks",
]


class UnreadableNotebook:
    """The `nb` of a submission that could not be read: every check fails with the reason, or, where
    the verdict says the reason once at the top (`told_above`), with a pointer to it."""

    last_call = None
    device = "none"

    def __init__(self, reason: str, *, told_above: bool = False) -> None:
        self._message = NOT_GRADED_ABOVE if told_above else f"Not graded: {reason}"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise CheckFailed(self._message)

    def cell(self, **_: Any) -> Any:
        raise CheckFailed(self._message)


def version_note(submission: Submission, assignment: Assignment) -> list[str]:
    """A note when the notebook was made from another version of the assignment than the one graded."""
    made = submission.version
    if made is None or made == assignment.version or submission.slug not in (None, assignment.slug):
        return []
    return [
        f"Your notebook was made from version {made} of the assignment; it was graded with version "
        f"{assignment.version}, whose checks may differ. Compare it with the current notebook."
    ]


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
    return assignment.check_folders(hidden), assignment.hidden_checks if hidden else None


def header(submission: str, assignment: Assignment, options: Options, **facts: Any) -> Result:
    """A Result with the facts of a submission and no checks yet (grader.verdict.conclude adds them)."""
    return Result(
        submission=submission,
        assignment=assignment.slug,
        grader_version=__version__,
        exercises=dict(assignment.exercises),
        hidden_ran=check_paths(assignment, options.hidden)[1] is not None,
        **facts,
    )


KernelFactory = Callable[..., Any]  # (assignment, isolation[, files]) -> a kernel


def default_kernel(assignment: Assignment, isolation: Isolation, files: tuple[Any, ...] = ()) -> Any:
    """A plain kernel; `files`: the submission's own (KernelFile), beside the assignment's public files."""
    from grader.sandbox.files import assignment_kernel_files
    from grader.sandbox.kernel import Kernel

    return Kernel(
        assignment.limits,
        sandbox=isolation,
        start_timeout=assignment.timeouts.kernel_start,
        files=assignment_kernel_files(assignment) + tuple(files),
    )


def kernel_factory_for(options: Options) -> KernelFactory:
    """The kernels of `options`: forked from the zygote (the default), or plain."""
    if options.fork_server:
        from grader.sandbox.forkserver import fast_kernel

        return fast_kernel
    return default_kernel


def grade(
    path: Path,
    assignment: Assignment,
    options: Options = Options(),
    *,
    isolation: Isolation | None = None,
    kernel_factory: KernelFactory | None = None,
    submission: Submission | None = None,
) -> Result:
    """Grade the notebook at `path` (already read: `submission`). Student faults end in the
    verdict; grader faults raise."""
    started = time.monotonic()
    kernel_factory = kernel_factory or kernel_factory_for(options)
    isolation = isolation or detect(options.sandbox)
    warm = getattr(kernel_factory, "warm", None)
    if warm is not None:
        warm(assignment, isolation)  # the fork server boots while the notebook is read
    submission = submission or read_submission(Path(path))
    facts = header(
        str(path),
        assignment,
        options,
        sha256=submission.sha256,
        isolation=isolation.label,
        readable=submission.readable,
        errors=submission.problems + submission.warnings + version_note(submission, assignment),
        files=submission.files.rows(),
        files_refused=submission.files.refused_rows(),
    )
    if not submission.readable:
        nb = UnreadableNotebook(" ".join(submission.problems), told_above=True)  # facts.errors holds the reason
        result = replace(judge(facts, assignment, nb, options), device="none")
    else:
        result = _grade_live(facts, submission, assignment, options, isolation, kernel_factory)
    result.execution_time = time.monotonic() - started
    return result


@dataclass
class LiveNotebook:
    """A submission whose cells have run in a live kernel: `notebook` is the `nb` of the checks."""

    notebook: Any
    runner: Any
    device: str


@contextmanager
def live_notebook(
    submission: Submission,
    assignment: Assignment,
    options: Options,
    isolation: Isolation,
    kernel_factory: KernelFactory | None = None,
    timings: dict[str, float] | None = None,
) -> Iterator[LiveNotebook]:
    """Start a kernel, run every cell of `submission`, yield its proxy; shut the kernel down after."""
    from grader.nb.kernel import Bridge
    from grader.nb.proxy import Notebook
    from grader.execute import Runner

    kernel_factory = kernel_factory or kernel_factory_for(options)
    timings = {} if timings is None else timings
    t0 = time.monotonic()
    files = kernel_files(submission)
    # may start it already (the fork server's kernels are); the submission's files, when it has any
    kernel = kernel_factory(assignment, isolation, files) if files else kernel_factory(assignment, isolation)
    runner = Runner(kernel=kernel, assignment=assignment, submission=submission)
    try:
        runner.start()  # connect, install the agent
        bridge = Bridge(runner)
        device = choose_device(options.device, bridge.devices())
        bridge.device = device
        t1 = time.monotonic()
        timings["kernel_start"] = t1 - t0
        runner.run_all()
        timings["cells"] = time.monotonic() - t1
        yield LiveNotebook(Notebook(bridge), runner, device)
    finally:
        runner.shutdown()  # immediate: the kernel is killed, never asked to leave


def kernel_files(submission: Submission) -> tuple[Any, ...]:
    """The files received with the submission, as the kernel's sandbox shows them (KernelFile)."""
    from grader.sandbox.files import KernelFile

    return tuple(KernelFile(f.name, f.source) for f in submission.files.received)


def _grade_live(
    facts: Result,
    submission: Submission,
    assignment: Assignment,
    options: Options,
    isolation: Isolation,
    kernel_factory: KernelFactory,
) -> Result:
    with live_notebook(submission, assignment, options, isolation, kernel_factory, facts.timings) as live:
        t2 = time.monotonic()
        answers = find_answers(assignment.manual, submission.cells, live.runner.cell_outputs())
        result = judge(replace(facts, device=live.device), assignment, live.notebook, options, answers=answers)
        result.timings["checks"] = time.monotonic() - t2
        result.cells = live.runner.cell_issues()
        if live.runner.restarts:
            result.errors.append(f"The kernel was restarted {live.runner.restarts} time(s) while grading.")
    return result


def run_assignment_checks(assignment: Assignment, nb: Any, device: str, options: Options) -> CheckRun:
    """Run the assignment's checks (public, and hidden unless options say not) against `nb`."""
    from grader.checks.context import CheckContext, set_current
    from grader.checks.plugin import GradingPlugin, run_checks

    paths, hidden_dir = check_paths(assignment, options.hidden)
    set_current(
        CheckContext(
            device=device,
            tolerance=assignment.tolerance(device),
            uses=assignment.uses,
            carried_forward=assignment.carried_forward,
        )
    )
    run = run_checks(paths, GradingPlugin(nb, hidden_dir), select=options.select)
    if run.internal_errors:
        raise GraderError(
            "the assignment's checks are broken: " + "; ".join(run.internal_errors[:5]),
            hint="this is a fault in the assignment, not in the submission",
        )
    if options.select and not run.checks:
        raise unmatched_exercise(options.select, assignment)
    return run


def unmatched_exercise(select: str, assignment: Assignment) -> UsageError:
    """--exercise that selected no check: the closest exercise, and those there are."""
    import difflib

    names = list(assignment.exercises)
    close = difflib.get_close_matches(select, names, n=1, cutoff=0.6)
    guess = f"did you mean '{close[0]}'? " if close else ""
    known = f"the exercises of {assignment.slug}: {', '.join(names)}" if names else "give part of a check's name"
    return UsageError(f"no check matched --exercise '{select}'", hint=guess + known)


def judge(
    facts: Result,
    assignment: Assignment,
    nb: Any,
    options: Options,
    *,
    score: bool = True,
    answers: list[ManualAnswer] | None = None,
) -> Result:
    """The verdict of `facts`'s submission: its checks run against `nb`, ordered and scored; the
    answers to its manual questions (None: not graded, so none found, each "no answer")."""
    run = run_assignment_checks(assignment, nb, facts.device, options)
    result = conclude(facts, run, list(assignment.exercises), score=score, hidden_feedback=assignment.hidden_feedback)
    if answers is None:
        answers = no_answers(
            assignment.manual, "the notebook was not graded: " + ("; ".join(facts.errors) or "no cells ran")
        )
    return replace(result, manual=answers)
