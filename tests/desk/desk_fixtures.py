"""Classes for the desk's tests, graded by the real `grader batch`: a small class of
neural-net-basics (tests/submissions), and a hostile one whose notebooks carry script in a
markdown cell, in outputs, in an exception message and in the file name."""

from __future__ import annotations

import pytest

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "submissions" / "neural-net-basics"
ASSIGNMENT = ROOT / "assignments" / "neural-net-basics"
SLUG = "neural-net-basics"
CLASS = ("correct", "sigmoid_sign_error", "forgot_bias", "truncated")
HOSTILE_NAME = '<img src=x onerror="window.__pwned=4">'
SCRIPT = "<script>window.__pwned=1;alert(1)</script>"


def screenshot(name: str) -> str:
    """Where a browser test's screenshot of the desk goes: build/screenshots/ (to look at after a
    run), or the folder GRADER_SCREENSHOTS names (`GRADER_SCREENSHOTS=docs/images` refreshes the
    images docs/desk.md shows). A test run leaves the tracked files as they were."""
    folder = Path(os.environ.get("GRADER_SCREENSHOTS") or ROOT / "build" / "screenshots")
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)


@dataclass(frozen=True)
class Graded:
    classdir: Path
    out: Path


def grade(classdir: Path, out: Path, assignment: Path = ASSIGNMENT) -> Graded:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "batch",
            str(classdir),
            "--assignment",
            str(assignment),
            "--out",
            str(out),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Graded(classdir, out)


def make_class(classdir: Path) -> None:
    classdir.mkdir(parents=True)
    for name in CLASS:
        shutil.copy(SAMPLES / f"{name}.ipynb", classdir / f"{name}.ipynb")


def hostile_notebook() -> dict:
    """correct.ipynb with script everywhere a student can put it."""
    nb = json.loads((SAMPLES / "correct.ipynb").read_text())
    nb["cells"].insert(
        0,
        {"cell_type": "markdown", "metadata": {}, "source": f'# Hi\n{SCRIPT}\n<img src=x onerror="window.__pwned=2">'},
    )
    nb["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "source": "print('<script>window.__pwned=5</script>')",
            "outputs": [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "text/html": SCRIPT,
                        "image/svg+xml": '<svg onload="window.__pwned=6"></svg>',
                        "application/javascript": "window.__pwned=7",
                    },
                },
                {"output_type": "stream", "name": "stdout", "text": "<script>window.__pwned=8</script>"},
            ],
        }
    )
    nb["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 2,
            "outputs": [],
            "source": "raise ValueError('<script>window.__pwned=3</script>')",
        }
    )
    return nb


def make_hostile_class(classdir: Path) -> None:
    classdir.mkdir(parents=True)
    (classdir / f"{HOSTILE_NAME}.ipynb").write_text(json.dumps(hostile_notebook()))
    shutil.copy(SAMPLES / "sigmoid_sign_error.ipynb", classdir / "sigmoid_sign_error.ipynb")


def copy_graded(graded: Graded, dest: Path) -> Graded:
    """A copy a test may change (adjustments) without touching the session's class."""
    out = dest / "out"
    shutil.copytree(graded.out, out)
    return Graded(graded.classdir, out)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen
    url: str  # the login address it printed (with the token)
    base: str
    token: str
    log: Path

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.log.read_text(errors="replace")


def start_server(graded: Graded, *extra: str, root_path: str = "") -> Server:
    """`grader serve` as a user starts it; the address is read from what it prints."""
    port = free_port()
    log = graded.out.parent / f"serve-{port}.log"
    args = [
        sys.executable,
        "-m",
        "grader.cli",
        "serve",
        str(graded.out),
        "--course",
        str(ROOT),
        "--port",
        str(port),
        "--submissions",
        str(graded.classdir),
        *extra,
    ] + (["--root-path", root_path] if root_path else [])
    with open(log, "w") as err:
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    assert proc.stdout is not None
    url = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not url:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"grader serve stopped: {log.read_text()}")
        if "?token=" in line:
            url = line.strip()
    base = url.split("/?token=")[0]
    for _ in range(200):  # until it answers
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return Server(proc, url, base, url.split("?token=")[1], log)


def session_class(factory: pytest.TempPathFactory) -> Graded:
    base = factory.mktemp("deskclass")
    make_class(base / "class")
    return grade(base / "class", base / "out")


def session_hostile_class(factory: pytest.TempPathFactory) -> Graded:
    base = factory.mktemp("deskhostile")
    make_hostile_class(base / "class")
    return grade(base / "class", base / "out")


# -- a class with questions a person grades: forward-pass's two written questions ------------
FP_SLUG = "forward-pass"
FP_ASSIGNMENT = ROOT / "assignments" / "forward-pass"
FP_SAMPLES = ROOT / "tests" / "submissions" / "forward-pass"
FP_CLASS = {"ada": "master_full_marks", "bob": "forgot_bias", "cy": "mm_without_reshape"}  # good, poor, poor answers
HOSTILE_ANSWER = '<script>window.__pwned=9</script><img src=x onerror="window.__pwned=10"> view keeps the memory'

TINY_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PLOT_ANSWER = (
    "import base64\nfrom IPython.display import HTML, Image, display\n"
    f"display(Image(data=base64.b64decode('{TINY_PNG}')))\n"
    "display(HTML('<script>window.__pwned=11</script>'))"
)


def make_question_class(classdir: Path) -> None:
    """Three students of forward-pass as the samples answer, and dee, whose answer to why_view is script."""
    classdir.mkdir(parents=True)
    for student, sample in FP_CLASS.items():
        shutil.copy(FP_SAMPLES / f"{sample}.ipynb", classdir / f"{student}.ipynb")
    nb = json.loads((FP_SAMPLES / "master_full_marks.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "why_view" in c.get("metadata", {}).get("tags", []))
    cell["source"] = HOSTILE_ANSWER
    plot = next(c for c in nb["cells"] if "why_mm" in c.get("metadata", {}).get("tags", []))
    plot.update(cell_type="code", execution_count=None, outputs=[], source=PLOT_ANSWER)  # an image, and script as HTML
    (classdir / "dee.ipynb").write_text(json.dumps(nb))


def session_question_class(factory: pytest.TempPathFactory) -> Graded:
    base = factory.mktemp("deskquestions")
    make_question_class(base / "class")
    return grade(base / "class", base / "out", FP_ASSIGNMENT)
