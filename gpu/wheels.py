"""`make gpu-wheels`: the wheels a lent GPU machine needs to run the grader, fetched here.

The lent machine (docs/gpu.md) has Python 3.12 with its own CUDA build of torch and many packages
(gpu/image-packages.txt), but not nbformat, nbclient, jupyter_client, ipykernel, pyzmq or
SQLAlchemy, and it reaches no package registry. This resolves the grader's dependencies
(pyproject.toml, torch left out) for that Python and platform with `pip download
--only-binary=:all:`, and keeps in DEST only the wheels of packages the image lacks: no second
version of a package the image has (that would stop the offline install, or shadow the image's
own), never torch. The image's packages that the grader uses go to DEST-image instead: the
rehearsal (tests/gpu/test_gpu_check.py) builds its stand-in for the image from them.

    python3 gpu/wheels.py [--python-version 3.12] [--dest .gpu/wheels-3.12] [--force]

A second run with the same inputs (pyproject's dependencies, constraints.txt, the image's list,
the Python version) reuses DEST. Exit 0: DEST is ready and its size printed; 3: the registry
could not be reached (nothing changed); 2: anything else that went wrong, said in one line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE_LIST = ROOT / "gpu" / "image-packages.txt"
PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_26_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux_2_12_x86_64",
    "manylinux2010_x86_64",
    "manylinux_2_5_x86_64",
    "manylinux1_x86_64",
)
NEVER = ("torch", "triton")  # and nvidia-*: the image's CUDA build is the point of the machine
LIMIT_MB = 64.0  # what travels to the machine: the working tree, shared/ and the carried paths
UNREACHABLE = 3
STAMP = ".inputs.json"


def normalise(name: str) -> str:
    """A project name as PEP 503 compares them (Jinja2, jinja_2 and jinja2 are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_project(path: Path) -> str:
    return normalise(path.name.split("-", 1)[0])


def image_packages(path: Path = IMAGE_LIST) -> set[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return {normalise(line) for line in lines if line and not line.startswith("#")}


def requirements() -> list[str]:
    """The grader's own dependencies (pyproject.toml), torch left to the machine."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"]
    return [d for d in deps if normalise(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0]) not in NEVER]


def inputs(version: str) -> dict[str, object]:
    """What DEST is made from: when it changes, DEST is made anew."""
    digest = hashlib.sha256((ROOT / "constraints.txt").read_bytes() + IMAGE_LIST.read_bytes()).hexdigest()
    return {"python": version, "requirements": requirements(), "constraints_and_image": digest}


def download(version: str, staging: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--python-version",
        version,
        "--implementation",
        "cp",
        "--abi",
        f"cp{version.replace('.', '')}",
        "--abi",
        "abi3",
        "--abi",
        "none",
        *(f"--platform={p}" for p in PLATFORMS),
        "--platform=any",
        "-c",
        str(ROOT / "constraints.txt"),
        "-d",
        str(staging),
        *requirements(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)


def unreachable(proc: subprocess.CompletedProcess[str]) -> bool:
    text = proc.stderr + proc.stdout
    return any(
        s in text
        for s in (
            "NewConnectionError",
            "Failed to establish a new connection",
            "Temporary failure in name",
            "Network is unreachable",
            "Max retries exceeded",
            "ConnectTimeout",
        )
    )


def split(staging: Path, dest: Path, image_dest: Path, image: set[str]) -> list[Path]:
    """Move each downloaded wheel to DEST (the image lacks it) or DEST-image (the image has it)."""
    kept: list[Path] = []
    for wheel in sorted(staging.glob("*.whl")):
        project = wheel_project(wheel)
        if project in NEVER or project.startswith("nvidia-"):
            raise SystemExit(
                f"gpu-wheels: the grader's dependencies pulled in {wheel.name}: the machine's own "
                "build must be used; find which requirement asks for it (pip download -v)"
            )
        target = image_dest if project in image else dest
        shutil.move(str(wheel), target / wheel.name)
        if target == dest:
            kept.append(target / wheel.name)
    return kept


def tree_mb() -> float:
    """What of the working tree travels: tracked files and untracked ones git does not ignore."""
    proc = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], capture_output=True, cwd=ROOT)
    names = [n for n in proc.stdout.decode().split("\0") if n] if proc.returncode == 0 else []
    return sum((ROOT / n).stat().st_size for n in names if (ROOT / n).is_file()) / 2**20


def report(dest: Path) -> int:
    wheels = sorted(dest.glob("*.whl"))
    total = sum(w.stat().st_size for w in wheels) / 2**20
    tree = tree_mb()
    for wheel in wheels:
        print(f"  {wheel.stat().st_size / 2**20:6.2f} MiB  {wheel.name}")
    print(
        f"gpu-wheels: {len(wheels)} wheels, {total:.1f} MiB "
        f"in {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}"
        f" (+ the working tree, {tree:.1f} MiB: {total + tree:.1f} of the {LIMIT_MB:.0f} MiB that may travel)"
    )
    if total + tree >= LIMIT_MB:
        print(f"gpu-wheels: too large: {total + tree:.1f} MiB would not travel (limit {LIMIT_MB:.0f} MiB)")
        return 2
    return 0


def make(version: str, dest: Path, force: bool) -> int:
    stamp = dest / STAMP
    want = inputs(version)
    have = json.loads(stamp.read_text()) if stamp.exists() else {}
    present = sorted(w.name for w in dest.glob("*.whl"))
    if not force and have.pop("wheels", None) == present and have == want:  # nothing removed or added since
        print(f"gpu-wheels: reusing {dest} (same dependencies, constraints, image list and Python {version})")
        return report(dest)
    staging = dest.with_name(dest.name + ".download")
    image_dest = dest.with_name(dest.name + "-image")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    proc = download(version, staging)
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        if unreachable(proc):
            print(f"gpu-wheels: the package registry cannot be reached from here: {tail}")
            return UNREACHABLE
        print(f"gpu-wheels: pip download failed for Python {version}: {tail}")
        return 2
    for folder in (dest, image_dest):  # one version of each: nothing left from an earlier run
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    kept = split(staging, dest, image_dest, image_packages())
    shutil.rmtree(staging, ignore_errors=True)
    stamp.write_text(json.dumps({**want, "wheels": sorted(w.name for w in kept)}))
    return report(dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--python-version", default="3.12", help="the lent machine's Python (3.12); the rehearsal uses this machine's"
    )
    parser.add_argument("--dest", type=Path, help="default: .gpu/wheels-<python version>")
    parser.add_argument("--force", action="store_true", help="download again even if DEST is up to date")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"3\.\d+", args.python_version):
        print(f"gpu-wheels: --python-version must be like 3.12, not {args.python_version!r}")
        return 2
    dest = (args.dest or ROOT / ".gpu" / f"wheels-{args.python_version}").resolve()
    return make(args.python_version, dest, args.force)


if __name__ == "__main__":
    sys.exit(main())
