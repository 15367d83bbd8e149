"""A stand-in for the lent GPU machine's image, for the rehearsal of `make gpu-check`
(tests/gpu/test_gpu_check.py): a fresh virtual environment of this machine's Python holding the
pinned CPU build of torch and, of the image's packages (gpu/image-packages.txt), those the grader
uses (the wheels `gpu/wheels.py` set aside in DEST-image), and nothing else. Kept in .gpu/
(ignored) and made again only when what it is made from changes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"
WHEELS = ROOT / ".gpu" / f"wheels-{VERSION}"
IMAGE_WHEELS = ROOT / ".gpu" / f"wheels-{VERSION}-image"
STANDIN = ROOT / ".gpu" / f"standin-{VERSION}"
NETWORK_WORDS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name",
    "Network is unreachable",
    "Max retries exceeded",
    "ConnectTimeout",
)


class Unreachable(Exception):
    """The registry could not be reached: the rehearsal skips."""


def wheels() -> Path:
    """`make gpu-wheels` for this machine's Python (reused when up to date)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "gpu" / "wheels.py"), "--python-version", VERSION],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    if proc.returncode == 3:
        raise Unreachable(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return WHEELS


def _made_from() -> dict[str, object]:
    return {
        "image_wheels": sorted(p.name for p in IMAGE_WHEELS.glob("*.whl")),
        "constraints": (ROOT / "constraints.txt").read_text(),
        "python": sys.version,
    }


def pip(python: Path, *args: str) -> None:
    """pip install ARGS into `python`'s environment (Unreachable: the registry could not be reached)."""
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    if proc.returncode != 0 and any(w in proc.stderr for w in NETWORK_WORDS):
        raise Unreachable(proc.stderr.strip().splitlines()[-1])
    assert proc.returncode == 0, proc.stderr[-3000:]


def standin() -> Path:
    """The stand-in's python."""
    python = STANDIN / "bin" / "python"
    stamp = STANDIN / "made-from.json"
    if python.exists() and stamp.exists() and json.loads(stamp.read_text()) == _made_from():
        return python
    shutil.rmtree(STANDIN, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(STANDIN)], check=True, timeout=300)
    # torch as pinned (the CPU build) with what it needs, and setuptools, as the image has them
    pip(python, "-c", str(ROOT / "constraints.txt"), "torch", "setuptools>=68")
    pip(python, "--no-index", "--no-deps", *sorted(str(p) for p in IMAGE_WHEELS.glob("*.whl")))
    stamp.write_text(json.dumps(_made_from()))
    return python
