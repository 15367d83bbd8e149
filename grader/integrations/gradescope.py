"""Gradescope: build the autograder zip, and grade one submission inside Gradescope's image.

The zip (what `grader gradescope ASSIGNMENT --out autograder.zip` writes):

    setup.sh                 Gradescope runs it once when it builds the image: a venv with a CPU
                             build of torch (from https://download.pytorch.org/whl/cpu), the
                             grader from grader-src/, and bubblewrap where the image allows
    run_autograder           Gradescope runs it per submission: `python -m
                             grader.integrations.gradescope run`
    constraints.txt          torch==<pinned version>
    grader-gradescope.json   where the assignment is, and how to grade
    course/assignments/<slug>/            the assignment as students have it (public checks, [files] public)
    course/solutions/<slug>/checks/       the hidden checks (the master notebook stays out)
    course/solutions/<slug>/<file>        [files] hidden, for the checks (`assignment_files`), never a kernel
    grader-src/              the grader's own source (pyproject.toml, grader/)

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
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grader
from grader.config import Assignment
from grader.course import ASSIGNMENTS, CHECKS, SOLUTIONS, load_assignment
from grader.errors import GraderError, UsageError

ROOT_ENV = "GRADER_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
CONFIG_NAME = "grader-gradescope.json"
TORCH_VERSION = "2.13.0"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".git"}
ZIP_COURSE = "course"                 # the course folder inside the zip: the grader's layout below it
ZIP_TIME = (2020, 1, 1, 0, 0, 0)      # fixed, so that the same inputs give the same zip

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
# It installs what grading needs: Python >= 3.11 in a venv, a CPU build of torch, the grader,
# and bubblewrap (the kernel sandbox) where the image allows it.
set -euo pipefail
cd "$(dirname "$0")"                          # /autograder/source: the unpacked zip
ROOT="${GRADER_AUTOGRADER_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip ca-certificates
# The sandbox for student code. Without it (or where the image forbids user namespaces) the
# grader still runs, with resource limits only, and every verdict says which isolation it had.
apt-get install -y -qq --no-install-recommends bubblewrap \
  || echo "setup.sh: bubblewrap could not be installed; grading will use limits only"

PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 \
     && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY="$(command -v "$candidate")"; break
  fi
done
if [ -z "$PY" ]; then                         # Ubuntu 22.04 images: python3.11 from universe
  apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv
  PY="$(command -v python3.11)"
fi
"$PY" -m venv "$ROOT/venv" || {
  apt-get install -y -qq --no-install-recommends "$(basename "$PY")-venv"
  "$PY" -m venv "$ROOT/venv"
}
VPY="$ROOT/venv/bin/python"
"$VPY" -m pip install --quiet --upgrade pip
# A CPU build of torch: Gradescope has no GPU, and the default (CUDA) wheels are gigabytes.
"$VPY" -m pip install --quiet --index-url __TORCH_INDEX__ -c constraints.txt "torch==__TORCH_VERSION__"
"$VPY" -m pip install --quiet -c constraints.txt ./grader-src
"$VPY" -c "import torch, grader; print('setup.sh: torch', torch.__version__, '| grader', grader.__version__)"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission (working directory /autograder).
# It grades the one notebook in $ROOT/submission and writes $ROOT/results/results.json.
# Exit status: 0 every check passed; 1 a check failed or the submission is unusable;
# 2 the grader could not run. results.json is written in every case.
ROOT="${GRADER_AUTOGRADER_ROOT:-/autograder}"
PY="${GRADER_PYTHON:-$ROOT/venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
"$PY" -m grader.integrations.gradescope run --root "$ROOT"
code=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  cat > "$ROOT/results/results.json" <<EOF
{"score": 0, "output": "The autograder could not start (exit status $code). This is not a problem with your work; tell your instructor.", "output_format": "text", "tests": []}
EOF
  code=2
fi
exit $code
"""


@dataclass
class ZipReport:
    path: Path
    files: list[str] = field(default_factory=list)
    public_checks: int = 0
    hidden_checks: int = 0


# -- building the zip ---------------------------------------------------------------------------
def _walk(folder: Path) -> list[Path]:
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not (set(rel.parts) & IGNORED_PARTS) and path.suffix != ".pyc":
            out.append(path)
    return out


def _grader_source() -> tuple[Path, str | None]:
    """The grader package folder, and the project's pyproject.toml text when it is beside it."""
    package = Path(grader.__file__).resolve().parent
    pyproject = package.parent / "pyproject.toml"
    if pyproject.is_file() and "torch-notebook-grader" in pyproject.read_text(encoding="utf-8"):
        return package, pyproject.read_text(encoding="utf-8")
    return package, None


def _fallback_pyproject() -> str:
    """A pyproject for an installed (non-editable) grader: its metadata's requirements."""
    from importlib import metadata

    try:
        requires = [r for r in (metadata.requires("torch-notebook-grader") or []) if "extra ==" not in r]
    except metadata.PackageNotFoundError:
        requires = ["torch", "numpy", "nbformat", "nbclient", "jupyter_client", "ipykernel", "pyzmq", "jinja2", "pytest"]
    deps = ",\n".join(f"    {json.dumps(r)}" for r in requires)
    return (
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "torch-notebook-grader"\nversion = "{grader.__version__}"\nrequires-python = ">=3.11"\n'
        f"dependencies = [\n{deps}\n]\n\n"
        '[project.scripts]\ngrader = "grader.cli.main:main"\n\n'
        '[tool.setuptools.packages.find]\ninclude = ["grader*"]\n\n'
        '[tool.setuptools.package-data]\ngrader = ["bridge/_agent*.py", "sandbox/zygote/*.py", "feedback/templates/*", "checks/pytest.ini"]\n'
    )


def _add(zf: zipfile.ZipFile, name: str, data: bytes | str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
    zf.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)


def _strip_readme(pyproject: str) -> str:
    """grader-src ships no README; drop the `readme =` line so that pip can build it."""
    return "\n".join(line for line in pyproject.splitlines() if not line.strip().startswith("readme")) + "\n"


def build_zip(assignment: Assignment, out: Path, *, hidden: bool = True, device: str = "auto",
              sandbox: str = "auto") -> ZipReport:
    """Write the Gradescope autograder zip for `assignment` to `out`."""
    out = Path(out)
    if out.exists() and out.is_dir():
        raise UsageError(f"{out} is a folder", hint="give the path of the .zip file to write, e.g. --out autograder.zip")
    if not assignment.public_checks.is_dir():
        raise UsageError(f"the assignment has no checks folder at {assignment.public_checks}")
    slug = assignment.slug
    report = ZipReport(path=out)
    config = {
        "assignment": f"{ZIP_COURSE}/{ASSIGNMENTS}/{slug}", "slug": slug, "title": assignment.title,
        "notebook": assignment.notebook, "device": device, "sandbox": sandbox, "hidden": hidden,
        "grader_version": grader.__version__, "torch": TORCH_VERSION, "torch_index": TORCH_INDEX,
    }
    package, pyproject = _grader_source()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(tmp, "w") as zf:
        def add(name: str, data: bytes | str, executable: bool = False) -> None:
            _add(zf, name, data, executable)
            report.files.append(name)

        add("setup.sh", SETUP_SH.replace("__TORCH_INDEX__", TORCH_INDEX).replace("__TORCH_VERSION__", TORCH_VERSION), True)
        add("run_autograder", RUN_AUTOGRADER, True)
        add("constraints.txt", f"# A CPU build: install with --index-url {TORCH_INDEX}\ntorch=={TORCH_VERSION}\n")
        add(CONFIG_NAME, json.dumps(config, indent=2) + "\n")
        for path in _walk(assignment.root):
            rel = path.relative_to(assignment.root).as_posix()
            add(f"{ZIP_COURSE}/{ASSIGNMENTS}/{slug}/{rel}", path.read_bytes())
            if rel.startswith(f"{CHECKS}/") and path.suffix == ".py":
                report.public_checks += 1
        if hidden and assignment.hidden_checks is not None:
            for path in _walk(assignment.hidden_checks):
                rel = path.relative_to(assignment.hidden_checks).as_posix()
                add(f"{ZIP_COURSE}/{SOLUTIONS}/{slug}/{CHECKS}/{rel}", path.read_bytes())
                if path.suffix == ".py":
                    report.hidden_checks += 1
        if hidden and assignment.solutions is not None:
            for rel in assignment.hidden_files:       # [files] hidden: for the checks, never in a kernel
                add(f"{ZIP_COURSE}/{SOLUTIONS}/{slug}/{rel}", (assignment.solutions / rel).read_bytes())
        add("grader-src/pyproject.toml", _strip_readme(pyproject) if pyproject else _fallback_pyproject())
        for path in _walk(package):
            add(f"grader-src/grader/{path.relative_to(package).as_posix()}", path.read_bytes())
    tmp.replace(out)
    return report


# -- grading inside the image ---------------------------------------------------------------------
def autograder_root(root: Path | str | None = None) -> Path:
    return Path(root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def _ignored(rel: Path) -> bool:
    return bool(set(rel.parts) & IGNORED_PARTS) or rel.name.startswith("._")


def submission_files(folder: Path) -> list[Path]:
    """Every file the student submitted, minus macOS and Jupyter litter (relative paths)."""
    if not folder.is_dir():
        return []
    return [p.relative_to(folder) for p in sorted(folder.rglob("*"))
            if p.is_file() and not _ignored(p.relative_to(folder))]


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
        return (f"No notebook (.ipynb file) was found in your submission. It holds: {_listing(files)}. "
                f"{want} In Jupyter, use File > Download (or Save and Export Notebook As... > Notebook) to get the .ipynb file.")
    return (f"Your submission holds {len(notebooks)} notebooks ({_listing(notebooks)}), and the grader cannot tell "
            f"which one to grade. {want} Remove the others and submit again.")


def problem_results(message: str, *, reason: str, files: list[Path] | None = None) -> dict[str, Any]:
    return {
        "score": 0.0,
        "execution_time": 0,
        "output": message,
        "output_format": "text",
        "tests": [],
        "extra_data": {"reason": reason, "files": [p.as_posix() for p in (files or [])],
                       "grader_version": grader.__version__},
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
    from grader.feedback import render_text
    from grader.grade import grade
    from grader.notebook import read_submission
    from grader.options import Options, parse_device, parse_sandbox
    from grader.submission.opened import attach_files, gather
    from grader.integrations.gradescope_metadata import gradescope_stamp
    from grader.policy.submitted import shown, stamped
    from grader.results import to_gradescope

    out = out or sys.stdout
    root = autograder_root(root)
    results = root / "results" / "results.json"
    try:
        config = load_config(root / "source")
        assignment = load_assignment(root / "source" / str(config["assignment"]))
    except GraderError as exc:
        _write(results, problem_results(
            f"The autograder is misconfigured: {exc.message}. This is not a problem with your work; tell your instructor.",
            reason="grader"))
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2

    submission_dir = root / "submission"
    files = submission_files(submission_dir)
    notebooks = find_notebooks(submission_dir)
    if len(notebooks) != 1:
        message = submission_problem(files, [n.relative_to(submission_dir) for n in notebooks], assignment)
        _write(results, problem_results(message, reason="no notebook" if not notebooks else "several notebooks", files=files))
        print(message, file=out)
        return 1

    notebook = notebooks[0]
    try:
        options = Options(device=parse_device(config.get("device", "auto")),
                          sandbox=parse_sandbox(config.get("sandbox", "auto")), hidden=bool(config.get("hidden", True)))
        # the other files the student uploaded come with the notebook (bounded, named safely)
        submission = attach_files(read_submission(notebook), gather(notebook, assignment, deep=True))
        result = grade(notebook, assignment, options, submission=submission)
    except GraderError as exc:
        _write(results, problem_results(
            f"The autograder could not run: {exc.message}. This is not a problem with your work; tell your instructor.",
            reason="grader", files=files))
        print(f"grader: error: {exc}", file=sys.stderr)
        return exc.exit_code
    result.submission = notebook.relative_to(submission_dir).as_posix()
    if notebook.name != assignment.notebook:
        result.errors.insert(0, f"Your notebook is named {notebook.name}, but the assignment asks for "
                                f"{assignment.notebook}. It was graded anyway; name it {assignment.notebook} next time.")
    result = stamped(result, gradescope_stamp(root))      # when it came in, who sent it (submission_metadata.json)
    late = shown(result, assignment.deadline).late_data()
    _write(results, to_gradescope(result, assignment.visibility, late))
    print(render_text(result, title=assignment.title), file=out)
    if late:
        print(f"Late policy: {late['words']}. Final score: {late['final']:g}.", file=out)
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grader.integrations.gradescope",
                                     description="Grade a Gradescope submission (what run_autograder calls).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="grade <root>/submission into <root>/results/results.json")
    p.add_argument("--root", type=Path, default=None,
                   help=f"the autograder root (default: ${ROOT_ENV}, else {DEFAULT_ROOT})")
    args = parser.parse_args(argv)
    return run(args.root)


if __name__ == "__main__":
    sys.exit(main())
