"""`make gpu-check` (gpu/check.py), rehearsed here: the lent GPU machine reaches no registry, has its
own Python and CUDA build of torch, and may lack bubblewrap (docs/gpu.md).

- said first, in one line, when something it needs is missing;
- a folder of installed packages on the grader's PYTHONPATH (what `pip install --target` makes)
  reaches the kernels, forked or plain, sandboxed or not;
- the rehearsal: against a stand-in for the lent image (tests/gpu/gpu_standin.py), the same script
  installs offline into a temporary folder, the grader imports and grades a notebook from there,
  and the tests for a CUDA device skip for want of one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from test_gpu import IMPORTS, MINI, RIGHT_RESHAPE, submission

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "gpu" / "check.py"


def _env(**extra: str) -> dict[str, str]:
    # GRADER_FORKSERVER too: a zygote this test process shares (an earlier test's) was started
    # without the PYTHONPATH folder the test gives its own grader, whose kernels must see it
    drop = ("PYTHONPATH", "GRADER_NO_FORK_SERVER", "GRADER_FORKSERVER")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


def test_gpu_check_says_first_what_it_lacks(tmp_path: Path) -> None:
    """No wheels carried, or wheels made for another Python: the first line (printed and logged)
    says so and what to do; exit 2; nothing installed."""
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "nbformat-5.11.1-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "other" / ".inputs.json").write_text(json.dumps({"python": "3.9"}))
    for wheels, words in ((tmp_path / "none", "no wheels in"), (tmp_path / "other", "are for Python 3.9")):
        out = tmp_path / f"out-{wheels.name}"
        proc = subprocess.run(
            [sys.executable, str(CHECK), "--wheels", str(wheels), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
            cwd=ROOT,
        )
        assert proc.returncode == 2, proc.stdout + proc.stderr
        first = proc.stdout.splitlines()[0]
        assert first.startswith("gpu-check: cannot run: ") and words in first and "make gpu-wheels" in first
        assert (out / "gpu-check.log").read_text().splitlines()[0] == first


MARKER_PKG = "import torch\n\n\ndef sigmoid(x):\n    return torch.sigmoid(x)\n"
USES_MARKER = "import gpu_marker_pkg\n\ndef activation(x):\n    return gpu_marker_pkg.sigmoid(x)"


@pytest.mark.parametrize("sandbox", [True, False], ids=["bubblewrap", "no-sandbox"])
@pytest.mark.parametrize("fork", [True, False], ids=["forked", "plain"])
def test_a_folder_installed_on_the_pythonpath_reaches_the_kernel(tmp_path: Path, fork: bool, sandbox: bool) -> None:
    """As `make gpu-check` runs the grader: a package installed into a folder of its own in /tmp
    (which the sandbox replaces with its own), found by the grader through PYTHONPATH; the
    student's kernel imports it too, forked from the zygote or started plain, under bubblewrap or,
    as on a lent machine without it, with limits only (as root: under a uid of its own). Without
    it the kernel would find no ipykernel on a lent machine."""
    from grader.sandbox.isolation import detect

    if sandbox and not detect("auto").sandboxed:
        pytest.skip("needs bubblewrap")
    site = Path(tempfile.mkdtemp(prefix="grader-test-site-"))  # as gpu/check.py makes it: readable by all
    try:
        (site / "gpu_marker_pkg").mkdir()
        (site / "gpu_marker_pkg" / "__init__.py").write_text(MARKER_PKG)
        (site / "gpu_marker_pkg-1.0.dist-info").mkdir()
        (site / "gpu_marker_pkg-1.0.dist-info" / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: gpu-marker-pkg\nVersion: 1.0\n"
        )
        for path in (site, *site.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        path = submission(tmp_path / "nb" / "marker.ipynb", IMPORTS, USES_MARKER, RIGHT_RESHAPE)
        results = tmp_path / "results.json"
        env = _env(PYTHONPATH=str(site), **({} if fork else {"GRADER_NO_FORK_SERVER": "1"}))
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "grader.cli",
                "check",
                str(path),
                "--assignment",
                str(MINI),
                "--results",
                str(results),
                "--device",
                "cpu",
                *([] if sandbox else ["--no-sandbox"]),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            env=env,
            cwd=ROOT,
        )
    finally:
        shutil.rmtree(site, ignore_errors=True)
    data = json.loads(results.read_text())
    assert [t["status"] for t in data["tests"]] == ["passed"] * 4, proc.stdout + proc.stderr
    assert proc.returncode == 0 and data["score"] == 4.0
    assert ("bubblewrap" in data["extra_data"]["isolation"]) == sandbox


# slow: the first run makes a virtual environment with torch (minutes); later ones reuse it and
# the wheels (.gpu/), and take 45-90 s each: one offline install, one graded sample, test_gpu.py
def _path_without_bwrap(bin_dir: Path) -> str:
    """A PATH that has every program of this one but bubblewrap, as a lent machine has none."""
    bin_dir.mkdir()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        for program in Path(folder).iterdir() if folder and Path(folder).is_dir() else ():
            if program.name != "bwrap" and not (bin_dir / program.name).exists():
                (bin_dir / program.name).symlink_to(program)
    return str(bin_dir)


@pytest.mark.slow
@pytest.mark.parametrize("bwrap", [True, False], ids=["bubblewrap", "no-bubblewrap"])
def test_the_rehearsal_installs_offline_grades_and_skips_the_cuda_tests(tmp_path: Path, bwrap: bool) -> None:
    """no-bubblewrap: as the lent machine most likely is; as root here, each kernel then runs under a
    uid of its own and must read the install folder."""
    import gpu_standin
    from grader.sandbox.isolation import detect

    if bwrap and not detect("auto").sandboxed:
        pytest.skip("needs bubblewrap")
    try:
        wheels = gpu_standin.wheels()
        python = gpu_standin.standin()
    except gpu_standin.Unreachable as exc:
        pytest.skip(f"the package registry cannot be reached: {exc}")
    out = tmp_path / "out"
    env = _env() if bwrap else _env(PATH=_path_without_bwrap(tmp_path / "bin"))
    proc = subprocess.run(
        [str(python), str(CHECK), "--wheels", str(wheels), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
        cwd=ROOT,
    )
    log = (out / "gpu-check.log").read_text()
    assert proc.stdout == log
    lines = log.splitlines()
    assert proc.returncode == 0, log[-4000:]
    assert lines[0].startswith("gpu-check: ready: ")
    installed = re.search(
        r"^installed (\d+) wheels from \S+ and the grader from \S+ into (\S+) with pip install "
        r"--no-index --target",
        log,
        re.M,
    )
    assert installed and int(installed[1]) == len(list(wheels.glob("*.whl")))
    target = installed[2]
    assert "every requirement of the" in log
    assert re.search(r"^python 3\.\d+\.\d+ \(.*standin.*\); torch 2\.\d+\.\d+\+cpu, built for CUDA None$", log, re.M)
    assert "\nCUDA device: none\n" in log
    assert f"grader 0.1.0 imported from {target}/grader\n" in log  # the installed one, not the checkout
    sample = re.search(
        r"^sample: correct\.ipynb graded by the installed grader on cpu: score (\S+) of (\S+), exit 0", log, re.M
    )
    assert sample and float(sample[1]) == float(sample[2]) > 0, log
    if not bwrap:
        assert "isolation: limits only, no sandbox (bubblewrap is not installed)" in log
        assert "no sandbox here (bubblewrap missing or unusable): running the tests that need none" in log
        assert "-m not sandbox" in log
        assert re.search(r"^sample: .*\(isolation: limits only, no sandbox", log, re.M)
    skipped = [line for line in lines if line.startswith("SKIPPED [1] tests/gpu/test_gpu.py")]
    assert len(skipped) >= 9 and all("needs a CUDA device" in line or "needs bubblewrap" in line for line in skipped)
    assert re.search(r"^tests/gpu/test_gpu\.py::test_the_zygote_never_touches_cuda_before_it_forks PASSED", log, re.M)
    assert not re.search(r"\b(FAILED|ERROR)\b", log)
    assert lines[-1].startswith("gpu-check: done") and "pytest exit 0; CUDA device: none" in lines[-1]
    assert (out / "gpu-check.junit.xml").exists() and not Path(target).exists()


def test_the_requirements_of_what_was_installed_are_checked_against_the_machines_own(tmp_path: Path) -> None:
    """gpu/needs.py: a requirement nobody installed is unmet ("not installed", and gpu-check cannot
    run); one the machine has in another version says which (gpu-check warns and goes on)."""
    sys.path.insert(0, str(ROOT / "gpu"))
    try:
        from needs import Unmet, check_requirements
    finally:
        sys.path.remove(str(ROOT / "gpu"))
    import pytest as installed_pytest

    meta = tmp_path / "carried_pkg-1.0.dist-info"
    meta.mkdir()
    meta.joinpath("METADATA").write_text(
        "Metadata-Version: 2.1\nName: carried-pkg\nVersion: 1.0\n"
        "Requires-Dist: pytest>=999\nRequires-Dist: no-such-package-here\n"
        "Requires-Dist: pytest\nRequires-Dist: colorama; sys_platform == 'win32'\n"
        "Requires-Dist: no-such-extra-package; extra == 'docs'\n"
    )
    assert check_requirements(tmp_path) == [
        Unmet("pytest>=999", "carried-pkg", f"{installed_pytest.__version__} is installed"),
        Unmet("no-such-package-here", "carried-pkg", "not installed"),
    ]


def _python(version: str) -> str | None:
    """A working interpreter of `version` here: on PATH, or one of pyenv's (whose shim may refuse)."""
    candidates = [
        shutil.which(f"python{version}"),
        *map(str, Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}")),
    ]
    for candidate in filter(None, candidates):
        proc = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, timeout=60
        )
        if proc.returncode == 0 and proc.stdout.strip() == str(tuple(int(n) for n in version.split("."))):
            return candidate
    return None


# slow: a virtual environment of Python 3.12 and two installs (about a minute)
@pytest.mark.slow
def test_the_lent_machines_wheels_install_offline_for_its_python(tmp_path: Path) -> None:
    """The wheels `make gpu-wheels` makes for the lent machine (cp312), with a Python 3.12 of this
    machine standing in for its own, beside the image's packages the grader uses: the offline
    install into a folder succeeds, every requirement is met but torch (the machine's own), and
    the grader, nbclient, ipykernel, zmq and SQLAlchemy import from there."""
    import gpu_standin

    python312 = _python("3.12")
    if python312 is None:
        pytest.skip("needs a Python 3.12 on this machine (python3.12 on PATH, or pyenv's)")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "gpu" / "wheels.py"), "--python-version", "3.12"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    if proc.returncode == 3:
        pytest.skip(f"the package registry cannot be reached: {proc.stdout.strip()}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels, image = ROOT / ".gpu" / "wheels-3.12", ROOT / ".gpu" / "wheels-3.12-image"
    venv = tmp_path / "py312"
    subprocess.run([python312, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    try:
        gpu_standin.pip(python, "setuptools>=68")
    except gpu_standin.Unreachable as exc:
        pytest.skip(f"the package registry cannot be reached: {exc}")
    gpu_standin.pip(python, "--no-index", "--no-deps", *sorted(str(p) for p in image.glob("*.whl")))
    target = tmp_path / "site"
    gpu_standin.pip(
        python,
        "--no-index",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        str(target),
        *sorted(str(p) for p in wheels.glob("*.whl")),
        str(ROOT),
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; from needs import "
        "check_requirements; print([u.requirement for u in check_requirements(Path(sys.argv[2]))])"
    )
    unmet = subprocess.run(
        [str(python), "-c", code, str(ROOT / "gpu"), str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=tmp_path,
    )
    assert unmet.stdout.strip() == "['torch>=2.1']", unmet.stderr
    imports = subprocess.run(
        [
            str(python),
            "-c",
            "import grader.cli, nbclient, ipykernel.kernelapp, zmq, sqlalchemy; print(grader.__file__)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(PYTHONPATH=str(target)),
        cwd=tmp_path,
    )
    assert imports.stdout.strip() == str(target / "grader" / "__init__.py"), imports.stderr
