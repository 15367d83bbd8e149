"""Gradescope: grade one submission inside Gradescope's image (what run_autograder calls).

The autograder zip it runs from is grader.integrations.gradescope_zip; results.json's schema is
grader.integrations.gradescope_results.

Inside the image: the root is $GRADER_AUTOGRADER_ROOT (default /autograder); the submission is
in <root>/submission, the zip in <root>/source, and the verdict goes to
<root>/results/results.json. Exactly one notebook must be in the submission (found
recursively; __MACOSX and .ipynb_checkpoints are ignored); none or several give a verdict
that says what was found and what to submit, with score 0. The other files uploaded with the
notebook (a helpers.py, a model.pt) are shown read-only in its kernel's working folder, as
`grader check` shows a notebook's folder (grader.submission), and results.json lists them.
Exit codes: 0 every check passed, 1 a check failed or the submission is unusable,
2 the grader could not run (results.json says so in every case).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.version import __version__
from grader.config import Assignment
from grader.course import load_assignment
from grader.errors import GraderError, UsageError
from grader.integrations.gradescope_zip import CONFIG_NAME, IGNORED_PARTS

if TYPE_CHECKING:
    from grader.results import Result

ROOT_ENV = "GRADER_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"


def autograder_root(root: Path | str | None = None) -> Path:
    return Path(root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def _ignored(rel: Path) -> bool:
    return bool(set(rel.parts) & IGNORED_PARTS) or rel.name.startswith("._")


def submission_files(folder: Path) -> list[Path]:
    """Every file the student submitted, minus macOS and Jupyter litter (relative paths)."""
    if not folder.is_dir():
        return []
    return [
        p.relative_to(folder) for p in sorted(folder.rglob("*")) if p.is_file() and not _ignored(p.relative_to(folder))
    ]


def find_notebooks(folder: Path) -> list[Path]:
    return [folder / rel for rel in submission_files(folder) if rel.suffix.lower() == ".ipynb"]


def _listing(files: list[Path], limit: int = 12) -> str:
    names = [p.as_posix() for p in files[:limit]]
    more = f" and {len(files) - limit} more" if len(files) > limit else ""
    return ", ".join(names) + more


def submission_problem(files: list[Path], notebooks: list[Path], assignment: Assignment) -> str:
    """Plain words: what was found, and what to submit instead."""
    want = f"Submit exactly one Jupyter notebook: {assignment.notebook}."
    if not files:
        return f"Your submission is empty: no files arrived. {want}"
    if not notebooks:
        return (
            f"No notebook (.ipynb file) was found in your submission. It holds: {_listing(files)}. "
            f"{want} In Jupyter, use File > Download (or Save and Export Notebook As... > Notebook) "
            "to get the .ipynb file."
        )
    return (
        f"Your submission holds {len(notebooks)} notebooks ({_listing(notebooks)}), and the grader cannot tell "
        f"which one to grade. {want} Remove the others and submit again."
    )


def problem_results(message: str, *, reason: str, files: list[Path] | None = None) -> dict[str, Any]:
    return {
        "score": 0.0,
        "execution_time": 0,
        "output": message,
        "output_format": "text",
        "tests": [],
        "extra_data": {"reason": reason, "files": [p.as_posix() for p in (files or [])], "grader_version": __version__},
    }


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_config(source: Path) -> dict[str, Any]:
    path = source / CONFIG_NAME
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path} is missing: this is not an autograder built by `grader gradescope`") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(config, dict) or "assignment" not in config:
        raise UsageError(f"{path} names no assignment")
    return config


def run(root: Path | str | None = None, *, out: Any = None) -> int:
    """Grade <root>/submission into <root>/results/results.json; return the exit code."""
    out = out or sys.stdout
    root = autograder_root(root)
    results = root / "results" / "results.json"
    try:
        config = load_config(root / "source")
        assignment = load_assignment(root / "source" / str(config["assignment"]))
    except GraderError as exc:
        _write(
            results,
            problem_results(
                f"The autograder is misconfigured: {exc.message}. "
                "This is not a problem with your work; tell your instructor.",
                reason="grader",
            ),
        )
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2

    submission_dir = root / "submission"
    files = submission_files(submission_dir)
    notebooks = find_notebooks(submission_dir)
    if len(notebooks) != 1:
        message = submission_problem(files, [n.relative_to(submission_dir) for n in notebooks], assignment)
        _write(
            results,
            problem_results(message, reason="no notebook" if not notebooks else "several notebooks", files=files),
        )
        print(message, file=out)
        return 1

    notebook = notebooks[0]
    try:
        result = _grade(notebook, assignment, config)
    except GraderError as exc:
        _write(
            results,
            problem_results(
                f"The autograder could not run: {exc.message}. "
                "This is not a problem with your work; tell your instructor.",
                reason="grader",
                files=files,
            ),
        )
        print(f"grader: error: {exc}", file=sys.stderr)
        return exc.exit_code
    result.submission = notebook.relative_to(submission_dir).as_posix()
    if notebook.name != assignment.notebook:
        result.errors.insert(
            0,
            f"Your notebook is named {notebook.name}, but the assignment asks for "
            f"{assignment.notebook}. It was graded anyway; name it {assignment.notebook} next time.",
        )
    return _write_verdict(result, assignment, root, out)


def _grade(notebook: Path, assignment: Assignment, config: dict[str, Any]) -> Result:
    """The verdict of `notebook`, graded as the zip's config says (device, sandbox, hidden checks)."""
    from grader.grade import grade
    from grader.options import Options, parse_device, parse_sandbox
    from grader.submission.opened import open_submission

    options = Options(
        device=parse_device(config.get("device", "auto")),
        sandbox=parse_sandbox(config.get("sandbox", "auto")),
        hidden=bool(config.get("hidden", True)),
    )
    # the other files the student uploaded come with the notebook (bounded, named safely)
    with open_submission(notebook, assignment, deep=True) as opened:
        return grade(notebook, assignment, options, submission=opened.submission)


def _write_verdict(result: Result, assignment: Assignment, root: Path, out: Any) -> int:
    """Write <root>/results/results.json for `result`, with when it came in and the late policy, and
    print the verdict; return the exit code."""
    from grader.feedback import render_text
    from grader.integrations.gradescope_metadata import gradescope_stamp
    from grader.integrations.gradescope_results import to_gradescope
    from grader.policy.submitted import shown, stamped

    result = stamped(result, gradescope_stamp(root))  # when it came in, who sent it (submission_metadata.json)
    late = shown(result, assignment.deadline).late_data()
    _write(root / "results" / "results.json", to_gradescope(result, assignment.visibility, late))
    print(render_text(result, title=assignment.title), file=out)
    if late:
        print(f"Late policy: {late['words']}. Final score: {late['final']:g}.", file=out)
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m grader.integrations.gradescope",
        description="Grade a Gradescope submission (what run_autograder calls).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="grade <root>/submission into <root>/results/results.json")
    p.add_argument(
        "--root", type=Path, default=None, help=f"the autograder root (default: ${ROOT_ENV}, else {DEFAULT_ROOT})"
    )
    args = parser.parse_args(argv)
    return run(args.root)


if __name__ == "__main__":
    sys.exit(main())
