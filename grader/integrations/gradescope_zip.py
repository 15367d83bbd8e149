"""The Gradescope autograder zip: what `grader gradescope ASSIGNMENT --out autograder.zip` writes.

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

The same inputs give the same bytes: every entry has one fixed time. What happens inside the
image is grader.integrations.gradescope.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from grader.config import Assignment
from grader.course import ASSIGNMENTS, CHECKS, SOLUTIONS
from grader.errors import UsageError
from grader.version import __version__

__all__ = ["CONFIG_NAME", "IGNORED_PARTS", "TORCH_INDEX", "TORCH_VERSION", "ZipReport", "build_zip"]

CONFIG_NAME = "grader-gradescope.json"
TORCH_VERSION = "2.13.0"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".git"}  # never zipped; litter in a submission
ZIP_COURSE = "course"  # the course folder inside the zip: the grader's layout below it
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so that the same inputs give the same zip

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

# two raw strings only to keep the lines short: the script's JSON line below is one line
RUN_AUTOGRADER = (
    r"""#!/usr/bin/env bash
# Gradescope runs this for every submission (working directory /autograder).
# It grades the one notebook in $ROOT/submission and writes $ROOT/results/results.json.
# Exit status: 0 every check passed; 1 a check failed or the submission is unusable;
# 2 the grader could not run. results.json is written in every case.
ROOT="${GRADER_AUTOGRADER_ROOT:-/autograder}"
PY="${GRADER_PYTHON:-$ROOT/venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
ERR="$(mktemp)"
"$PY" -m grader.integrations.gradescope run --root "$ROOT" 2>"$ERR"
code=$?
cat "$ERR" >&2
if [ ! -s "$ROOT/results/results.json" ]; then
  # the cause as Python said it (its last line), made JSON-safe: printable, no quote or backslash
  why="$(grep -v '^[[:space:]]*$' "$ERR" | tail -n 1 | tr -cd '[:print:]' | tr '"\\' "'/" | cut -c1-300)"
  cat > "$ROOT/results/results.json" <<EOF
{"score": 0, "output": "The autograder could not start (exit status $code${why:+: $why})."""
    r""" This is not a problem with your work; tell your instructor.", "output_format": "text", "tests": []}
EOF
  code=2
fi
rm -f "$ERR"
exit $code
"""
)


@dataclass
class ZipReport:
    path: Path
    files: list[str] = field(default_factory=list)
    public_checks: int = 0
    hidden_checks: int = 0


def _walk(folder: Path) -> list[Path]:
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not (set(rel.parts) & IGNORED_PARTS) and path.suffix != ".pyc":
            out.append(path)
    return out


def _grader_source() -> tuple[Path, str | None]:
    """The grader package folder, and the project's pyproject.toml text when it is beside it."""
    package = Path(__file__).resolve().parent.parent  # grader/, above integrations/
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
        requires = [
            "torch",
            "numpy",
            "nbformat",
            "nbclient",
            "jupyter_client",
            "ipykernel",
            "pyzmq",
            "jinja2",
            "pytest",
        ]
    deps = ",\n".join(f"    {json.dumps(r)}" for r in requires)
    return (
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "torch-notebook-grader"\nversion = "{__version__}"\nrequires-python = ">=3.11"\n'
        f"dependencies = [\n{deps}\n]\n\n"
        '[project.scripts]\ngrader = "grader.cli.main:main"\n\n'
        '[tool.setuptools.packages.find]\ninclude = ["grader*"]\n\n'
        "[tool.setuptools.package-data]\n"
        'grader = ["sandbox/zygote/*.py", "feedback/templates/*", "checks/pytest.ini"]\n'
    )


def _add(zf: zipfile.ZipFile, name: str, data: bytes | str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
    zf.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)


def _strip_readme(pyproject: str) -> str:
    """grader-src ships no README; drop the `readme =` line so that pip can build it."""
    return "\n".join(line for line in pyproject.splitlines() if not line.strip().startswith("readme")) + "\n"


def build_zip(
    assignment: Assignment, out: Path, *, hidden: bool = True, device: str = "auto", sandbox: str = "auto"
) -> ZipReport:
    """Write the Gradescope autograder zip for `assignment` to `out`."""
    out = Path(out)
    if out.exists() and out.is_dir():
        raise UsageError(
            f"{out} is a folder", hint="give the path of the .zip file to write, e.g. --out autograder.zip"
        )
    if not assignment.public_checks.is_dir():
        raise UsageError(f"the assignment has no checks folder at {assignment.public_checks}")
    report = ZipReport(path=out)
    config = {
        "assignment": f"{ZIP_COURSE}/{ASSIGNMENTS}/{assignment.slug}",
        "slug": assignment.slug,
        "title": assignment.title,
        "notebook": assignment.notebook,
        "device": device,
        "sandbox": sandbox,
        "hidden": hidden,
        "grader_version": __version__,
        "torch": TORCH_VERSION,
        "torch_index": TORCH_INDEX,
    }
    package, pyproject = _grader_source()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(tmp, "w") as zf:

        def add(name: str, data: bytes | str, executable: bool = False) -> None:
            _add(zf, name, data, executable)
            report.files.append(name)

        add(
            "setup.sh",
            SETUP_SH.replace("__TORCH_INDEX__", TORCH_INDEX).replace("__TORCH_VERSION__", TORCH_VERSION),
            True,
        )
        add("run_autograder", RUN_AUTOGRADER, True)
        add("constraints.txt", f"# A CPU build: install with --index-url {TORCH_INDEX}\ntorch=={TORCH_VERSION}\n")
        add(CONFIG_NAME, json.dumps(config, indent=2) + "\n")
        _add_course(add, assignment, report, hidden=hidden)
        add("grader-src/pyproject.toml", _strip_readme(pyproject) if pyproject else _fallback_pyproject())
        for path in _walk(package):
            add(f"grader-src/grader/{path.relative_to(package).as_posix()}", path.read_bytes())
    tmp.replace(out)
    return report


def _add_course(add: Callable[[str, bytes], Any], assignment: Assignment, report: ZipReport, *, hidden: bool) -> None:
    """The course folder: the assignment as students have it, then (with `hidden`) the hidden checks
    and the [files] hidden; `report` counts the checks' files."""
    slug = assignment.slug
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
        for rel in assignment.hidden_files:  # [files] hidden: for the checks, never in a kernel
            add(f"{ZIP_COURSE}/{SOLUTIONS}/{slug}/{rel}", (assignment.solutions / rel).read_bytes())
