"""The isolation a verdict had, --require-sandbox, and the sweep of a kernel's processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from attack_support import MINI, live_processes, needs_sandbox

RIGHT = [
    "import torch",
    "def activation(x):\n    return torch.sigmoid(x)",
    "def reshape_weights(w, rows, cols):\n    return w.view(rows, cols)",
]


def notebook(path: Path, sources: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, str(path))
    return path


def test_require_without_bubblewrap_is_an_error_and_auto_says_limits_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.errors import SandboxUnavailable
    from grader.sandbox import isolation as sandbox

    which = shutil.which
    monkeypatch.setattr(
        sandbox.shutil, "which", lambda name, *a, **k: None if name == "bwrap" else which(name, *a, **k)
    )
    with pytest.raises(SandboxUnavailable) as info:
        sandbox.detect("require")
    assert info.value.exit_code == 2 and "bubblewrap is not installed" in str(info.value)
    label = sandbox.detect("auto").label
    assert label.startswith("limits only, no sandbox (bubblewrap is not installed)") and "the kernel runs as" in label


def test_the_cli_refuses_to_grade_without_the_sandbox_it_requires(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "right.ipynb", RIGHT)
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on this PATH
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "check",
            str(nb),
            "--assignment",
            str(MINI),
            "--require-sandbox",
            "--results",
            str(tmp_path / "results.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert "sandbox is required" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize(
    "mode, words",
    [
        pytest.param("auto", "bubblewrap sandbox", marks=needs_sandbox),
        ("none", "limits only"),
    ],
)
def test_every_verdict_and_page_says_which_isolation_it_had(tmp_path: Path, mode: str, words: str) -> None:
    from grader.course import load_assignment
    from grader.feedback import render_html, render_markdown, render_text
    from grader.grade import Options, grade
    from grader.integrations.gradescope_results import dumps_gradescope

    result = grade(notebook(tmp_path / "right.ipynb", RIGHT), load_assignment(MINI), Options(sandbox=mode))
    assert (result.score, result.max_score) == (4, 4)
    assert words in result.isolation
    for page in (render_text(result), render_html(result), render_markdown(result), dumps_gradescope(result)):
        assert words in page


def _spawn_detached(cmd: list[str], *, uid: int | None = None, env: dict[str, str] | None = None) -> int:
    """Start `cmd` as a double-forked daemon in a session of its own; return the daemon's pid."""
    pidfile = Path(f"/tmp/grader-reap-test-{os.getpid()}-{time.monotonic_ns()}")
    script = f"(setsid {' '.join(cmd)} & echo $! > {pidfile}) ; true"
    prefix = [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if uid else []
    subprocess.run(prefix + ["sh", "-c", script], env=env, check=True, timeout=30)
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    pidfile.unlink()
    return pid


def _alive(pid: int) -> bool:
    return any(p["pid"] == pid for p in live_processes())


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv to run as a uid")
def test_every_process_of_a_kernels_uid_is_killed(tmp_path: Path) -> None:
    from grader.sandbox import reaper, spec

    uid = spec.kernel_uid()
    daemon = _spawn_detached(["sleep", "987659"], uid=uid)
    assert _alive(daemon)
    assert reaper.reap_kernel(2**22 - 1, uid, "") == []  # the kernel itself is long gone
    assert not _alive(daemon)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="the tag sweep reads /proc")
def test_without_a_uid_of_its_own_the_kernels_tagged_processes_are_killed(tmp_path: Path) -> None:
    from grader.sandbox import reaper

    env = {**os.environ, reaper.TAG_VAR: "attack-suite-tag"}
    daemon = _spawn_detached(["sleep", "987660"], env=env)
    assert _alive(daemon)
    assert reaper.reap_kernel(2**22 - 1, None, "attack-suite-tag") == []
    assert not _alive(daemon)


def test_a_course_folder_inside_a_bound_folder_is_masked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from grader.sandbox import spec

    course = tmp_path / "course"
    for name in ("bin", "lib", "pyvenv.cfg", "assignments", "solutions", "gradebook.csv", ".git"):
        (course / name).mkdir(parents=True) if "." not in name or name == ".git" else (course / name).touch()
    monkeypatch.chdir(course)
    # a venv made at the course root: the Python stays, the course goes
    masked = spec.masked_paths([str(course)])
    assert sorted(Path(p).name for p in masked) == [".git", "assignments", "gradebook.csv", "solutions"]
    # the course under a bound system folder: hidden whole
    assert spec.masked_paths([str(tmp_path)]) == [str(course)]
    # the course next to the venv (the usual layout): nothing to hide, it is not bound
    assert str(course) not in spec.masked_paths([str(course / "lib")])
