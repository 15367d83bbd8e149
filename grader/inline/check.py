"""`grader.check()`: a student's own check, run inside their Jupyter kernel, shown inline as HTML.

    import grader
    grader.check()              # every public check of the notebook's assignment
    grader.check("activation")  # one exercise

The kernel that runs the checks is the student's own: nothing is at stake, so the public checks
run in-process (pytest, with the grading plugin) against the live namespace, through the same
agent and the same decoding as grading (grader.inline.live). Hidden checks never run here.

Which assignment (the rule, in order):
  1. `assignment=`: a folder holding assignment.toml, or a slug;
  2. else the slug in the notebook's metadata (`metadata.grader.slug`); the notebook is
     `notebook=` if given, else the file the frontend names (`__vsc_ipynb_file__` from VS Code,
     `__session__` / $JPY_SESSION_NAME from Jupyter), else the most recently saved *.ipynb in
     the current folder whose metadata names an assignment;
  3. the slug is looked up as `assignments/<slug>/assignment.toml` (or a folder named by its own
     assignment.toml) in the notebook's folder and every folder above it, then in the current
     folder and every folder above it.
"""

from __future__ import annotations

import builtins
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.version import __version__
from grader import course
from grader.config import Assignment
from grader.course import notebook_slug
from grader.errors import GraderError
from grader.results import Result
from grader.verdict import CheckRun, conclude

GRADING_TOKEN = re.compile(r"__grader_[0-9a-f]{16}__")
LIVE_NOTE = (
    "Checked in your running kernel: the checks see the cells as you ran them, in the order you ran "
    "them. When your work is graded, the notebook runs from the top in a fresh kernel: use "
    "Restart & Run All before you submit."
)
NO_FILE_NOTE = (
    "The notebook file was not found, so checks that find a cell by its tag or heading cannot run "
    "here: save the notebook, or pass grader.check(notebook='your.ipynb')."
)


class InlineError(GraderError):
    """grader.check() could not run; IPython shows the message alone, without a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"grader.check(): {self.message}"] + ([f"  {self.hint}"] if self.hint else [])


@dataclass(repr=False)
class CheckReport(Result):
    """The Result of grader.check(); a one-line repr, since the feedback is already on screen."""

    def __repr__(self) -> str:
        failed = sum(not c.passed for c in self.checks)
        return (
            f"<grader.check: {self.score:g}/{self.max_score:g} points, {len(self.checks)} public checks, "
            f"{failed} failed; hidden checks run at grading time>"
        )


# -- where things are -------------------------------------------------------------------


def find_notebook(user_ns: dict[str, Any], cwd: Path, explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The notebook this kernel runs, by the rule in the module docstring (None: not found)."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        path = path if path.is_absolute() else cwd / path
        if not path.is_file():
            raise InlineError(f"no notebook at {path}", hint="pass the path of your .ipynb file")
        return path
    named = (user_ns.get("__vsc_ipynb_file__"), user_ns.get("__session__"), os.environ.get("JPY_SESSION_NAME"))
    for value in named:
        if isinstance(value, str) and value.endswith(".ipynb"):
            path = Path(value).expanduser()
            for candidate in [path] if path.is_absolute() else [cwd / path, cwd / path.name]:
                if candidate.is_file():
                    return candidate
    found = [p for p in cwd.glob("*.ipynb") if p.is_file() and notebook_slug(p)]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def find_assignment(spec: str | os.PathLike[str] | None, notebook: Path | None, cwd: Path) -> Assignment:
    """The assignment to check against, by the rule in the module docstring."""
    if spec is not None:
        path = Path(spec).expanduser()
        path = path if path.is_absolute() else cwd / path
        if course.is_assignment_dir(path):
            return course.load_assignment(path)
        slug: str | None = str(spec)
    else:
        slug = notebook_slug(notebook) if notebook else None
    if not slug:
        where = (
            f"{notebook.name} names" if notebook else "no notebook with grader metadata was found, and the kernel names"
        )
        raise InlineError(
            f"{where} no assignment",
            hint="pass grader.check(assignment='assignments/<slug>') or the notebook: "
            "grader.check(notebook='your.ipynb')",
        )
    starts = ([notebook.parent.resolve()] if notebook else []) + [cwd.resolve()]
    found = course.find_by_slug_upward(slug, starts)
    if found is not None:
        return found
    where = f"{course.ASSIGNMENTS}/{slug}/{course.TOML}"
    raise InlineError(
        f"no assignment '{slug}' was found: looked for {where} in {starts[0]} and the folders above it",
        hint=f"open the notebook from the course folder that holds {course.ASSIGNMENTS}/, or pass "
        f"grader.check(assignment='path/to/{course.ASSIGNMENTS}/{slug}')",
    )


def in_grading_kernel() -> bool:
    """True inside the grader's own kernel (its agent is installed), where check() must do nothing."""
    return any(GRADING_TOKEN.fullmatch(name) for name in vars(builtins))


# -- running the public checks ----------------------------------------------------------


def _plugin(nb: Any, exercise: str | None) -> Any:
    from grader.checks.plugin import GradingPlugin, exercise_of

    class InlinePlugin(GradingPlugin):
        """The grading plugin, public checks only, optionally one exercise."""

        def __init__(self) -> None:
            super().__init__(nb, None)
            self.exercises: list[str] = []

        def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
            self.exercises = sorted({exercise_of(i) for i in items})
            if exercise is None:
                return
            keep = [i for i in items if exercise_of(i) == exercise]
            dropped = [i for i in items if exercise_of(i) != exercise]
            if dropped:
                config.hook.pytest_deselected(items=dropped)
            items[:] = keep

    return InlinePlugin()


def run_public_checks(
    shell: Any, assignment: Assignment, notebook: Path | None, exercise: str | None = None
) -> CheckReport:
    from grader.nb.proxy import Notebook
    from grader.checks.context import CheckContext, set_current
    from grader.checks.plugin import run_checks
    from grader.grade import choose_device
    from grader.inline.live import LiveBridge, SavedNotebook
    from grader.policy.answers import find_answers, no_answers

    started = time.monotonic()
    saved = SavedNotebook.read(notebook) if notebook else None
    bridge = LiveBridge(
        shell, call_timeout=assignment.timeouts.call, output_kb=assignment.limits.output_kb, saved=saved
    )
    device = choose_device("auto", bridge.devices())
    bridge.device = device
    exercises = dict(assignment.exercises)
    report = CheckReport(
        submission=notebook.name if notebook else "this kernel",
        assignment=assignment.slug,
        device=device,
        isolation="none: your own kernel",
        grader_version=__version__,
        hidden_ran=False,
        exercises=exercises if exercise is None else {exercise: exercises.get(exercise, exercise)},
    )
    report.errors.append(LIVE_NOTE)
    if saved is None:
        report.errors.append(NO_FILE_NOTE)
    set_current(CheckContext(device=device, tolerance=assignment.tolerance(device)))
    plugin = _plugin(Notebook(bridge), exercise)
    run = run_checks([assignment.public_checks], plugin)  # never solutions/<slug>/checks
    _check_run_usable(run, assignment, exercise, plugin.exercises)
    verdict = conclude(report, run, list(exercises))
    if exercise is None:  # questions a person grades: said so, with whether an answer was found
        verdict.manual = (
            find_answers(assignment.manual, saved.cells, saved.outputs)
            if saved is not None
            else no_answers(assignment.manual, "save the notebook to see whether your answer is found")
        )
    verdict.execution_time = time.monotonic() - started
    return verdict


def _check_run_usable(run: CheckRun, assignment: Assignment, exercise: str | None, collected: list[str]) -> None:
    """Raise InlineError when the checks are broken, or the exercise asked for has no public check."""
    if run.internal_errors:
        raise InlineError(
            "the assignment's checks are broken: " + "; ".join(run.internal_errors[:5]),
            hint="this is a fault in the assignment, not in your work: tell your instructor",
        )
    if exercise is not None and not run.checks:
        known = ", ".join(repr(e) for e in (list(assignment.exercises) or collected))
        if exercise in assignment.exercises:
            raise InlineError(
                f"exercise {exercise!r} has no public checks: it is graded by hidden checks only",
                hint="they run when your work is graded",
            )
        raise InlineError(f"'{assignment.slug}' has no exercise {exercise!r}", hint=f"its exercises: {known}")


def render_inline_html(result: Result, *, title: str | None = None) -> str:
    """A compact HTML fragment (scoped styles, no <html>/<body>) for a notebook's output area."""
    from grader.feedback.render import render_inline

    return render_inline(result, title=title)


def check(
    exercise: str | None = None,
    *,
    assignment: str | os.PathLike[str] | None = None,
    notebook: str | os.PathLike[str] | None = None,
    display: bool = True,
) -> CheckReport | None:
    """Run the public checks (of one exercise, if named) against this kernel; show and return the result."""
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None  # type: ignore[assignment]
    shell = get_ipython() if get_ipython else None
    if shell is None:
        raise InlineError(
            "grader.check() runs inside a Jupyter notebook's kernel", hint="in a terminal, use: grader check your.ipynb"
        )
    if in_grading_kernel():
        print("grader.check() does nothing while the notebook is being graded.")
        return None
    cwd = Path.cwd()
    try:
        path = find_notebook(shell.user_ns, cwd, notebook)
        found = find_assignment(assignment, path, cwd)
        report = run_public_checks(shell, found, path, exercise)
    except InlineError:
        raise
    except GraderError as exc:
        raise InlineError(exc.message, hint=exc.hint) from None
    if display:
        from IPython.display import HTML
        from IPython.display import display as show

        title = found.title + (f": {found.exercises.get(exercise, exercise)}" if exercise else "")
        show(HTML(render_inline_html(report, title=title)))
    return report
