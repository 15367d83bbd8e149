"""`make gpu-check`: the GPU tests on a lent machine that reaches no registry, in one command.

Uses the machine's own Python and torch (never installs torch). Installs the carried wheels
(`make gpu-wheels`) and the grader from this checkout with `pip install --no-index --target` into
a temporary folder, checks that every installed distribution's requirements are met there,
prints torch, CUDA and the device, grades one sample notebook with the grader installed there,
then runs the tests of the files that hold tests marked `gpu` (tests/gpu/test_gpu.py: the GPU tests and
the CPU checks of what a GPU changes; where the kernel cannot be sandboxed, the ones that need
no sandbox, saying so). Everything it prints goes to OUT/gpu-check.log as well (OUT: --out, else
$OUT, else gpu-check-output/), with pytest's JUnit XML beside it.

The first line says whether it could run: `gpu-check: ready: ...`, or `gpu-check: cannot run:
<what is missing and what to do>` (exit 2). Exit status otherwise: pytest's; 124 when the tests
ran past the budget (--budget seconds for the whole command, 240 by default).

    python3 gpu/check.py [--wheels .gpu/wheels-3.12] [--out DIR] [--budget 240]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent))
from needs import check_requirements, needs_before_install

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "submissions" / "neural-net-basics" / "correct.ipynb"
ASSIGNMENT = ROOT / "assignments" / "neural-net-basics"
LOG_NAME = "gpu-check.log"
REPORT = """\
import json, os, shutil, sys, torch, grader
from grader.sandbox.isolation import detect
iso = detect("auto")
cuda = torch.cuda.is_available()
print(json.dumps({"python": sys.version.split()[0], "executable": sys.executable, "torch": torch.__version__,
  "torch_cuda": torch.version.cuda, "cuda_available": cuda, "devices": torch.cuda.device_count() if cuda else 0,
  "device": torch.cuda.get_device_name(0) if cuda else None,
  "capability": list(torch.cuda.get_device_capability(0)) if cuda else None,
  "grader": grader.__version__, "grader_from": os.path.dirname(grader.__file__),
  "sandboxed": iso.sandboxed, "isolation": iso.label,
  "bwrap": shutil.which("bwrap")}))
"""


class Log:
    """Prints and keeps: every line also goes to the log file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: IO[str] = path.open("w", encoding="utf-8")

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.file.write(line + "\n")
        self.file.flush()


def offline_env(target: Path | None) -> dict[str, str]:
    """This environment without pip's configuration (no index, no find-links of its own) and, given
    a target, with it on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "PYTHONPATH"}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INPUT": "1", "PYTHONUNBUFFERED": "1"})
    if target is not None:
        env["PYTHONPATH"] = str(target)
    return env


def install(wheels: Path, target: Path) -> tuple[bool, str]:
    """pip install --no-index: the carried wheels and the grader (this checkout), into `target`."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-index",
        "--no-deps",
        "--no-build-isolation",
        "--disable-pip-version-check",
        "--no-cache-dir",
        "--target",
        str(target),
        *sorted(str(w) for w in wheels.glob("*.whl")),
        str(ROOT),
    ]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=offline_env(None), cwd=target.parent, timeout=180
        )
    except subprocess.TimeoutExpired:
        return False, "pip ran past 180 s"
    for path in [target, *target.rglob("*")]:  # a kernel runs as a uid of its own: it must read them
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
    return proc.returncode == 0, (proc.stderr or proc.stdout).strip()


def prepare(wheels: Path) -> tuple[Path | None, list[str], list[str]]:
    """Install and verify, before anything is printed: (target, what is missing, the lines to show)."""
    missing = needs_before_install(wheels, ROOT)
    if missing:
        return None, missing, []
    target = Path(tempfile.mkdtemp(prefix="grader-gpu-site-"))
    began = time.monotonic()
    ok, output = install(wheels, target)
    if not ok:
        tail = output.splitlines()[-3:]
        return target, [f"the offline install failed (pip install --no-index --target): {' | '.join(tail)}"], []
    count = len(list(wheels.glob("*.whl")))
    lines = [
        f"installed {count} wheels from {wheels} and the grader from {ROOT} into {target} "
        f"with pip install --no-index --target, in {time.monotonic() - began:.1f} s"
    ]
    unmet = check_requirements(target)
    absent = [m for m in unmet if m.found == "not installed"]
    if absent:
        return (
            target,
            [f"{m.requirement} (for {m.needed_by}): not installed here nor carried" for m in absent[:6]],
            lines,
        )
    count = len(list(target.glob("*.dist-info")))
    if unmet:  # a version of the machine's own that is older or newer than asked: worth a try, said plainly
        lines += [f"warning: {m.requirement} (for {m.needed_by}) but {m.found}: going on" for m in unmet]
    else:
        lines.append(
            f"every requirement of the {count} distributions installed there is met by them or by this "
            "Python's own packages"
        )
    return target, [], lines


def device_report(log: Log, target: Path) -> dict[str, object]:
    try:
        proc = subprocess.run(
            [sys.executable, "-c", REPORT],
            capture_output=True,
            text=True,
            env=offline_env(target),
            cwd=target.parent,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        log("gpu-check: importing torch and the grader, and asking torch for the device, took over 120 s: stopped")
        return {}
    if proc.returncode != 0:
        log(f"gpu-check: the grader or torch did not import: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        return {}
    info: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    log(f"python {info['python']} ({info['executable']}); torch {info['torch']}, built for CUDA {info['torch_cuda']}")
    log(
        f"CUDA device: {info['device'] or 'none'}"
        + (f" (compute capability {info['capability']}, {info['devices']} device(s))" if info["device"] else "")
    )
    log(f"grader {info['grader']} imported from {info['grader_from']}")
    log(f"isolation: {info['isolation']} (bubblewrap: {info['bwrap'] or 'not installed'})")
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
        log(f"nvidia-smi -L: {smi.stdout.strip() or smi.stderr.strip()}")
    return info


def grade_sample(log: Log, target: Path, out: Path) -> None:
    """One notebook, graded by the grader installed in `target` (run from outside the checkout)."""
    results = out / "sample-results.json"
    cmd = [
        sys.executable,
        "-m",
        "grader.cli",
        "check",
        str(SAMPLE),
        "--assignment",
        str(ASSIGNMENT),
        "--device",
        "auto",
        "--results",
        str(results),
        "--no-server",
        "-q",
    ]
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="grader-gpu-course-") as course:  # not the checkout, not the target
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=offline_env(target), cwd=course, timeout=150)
        except subprocess.TimeoutExpired:
            log(f"sample: {SAMPLE.name} was not graded within 150 s: stopped")
            return
    took = time.monotonic() - began
    if not results.exists():
        log(
            f"sample: {SAMPLE.name} was not graded (exit {proc.returncode}): "
            f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]}"
        )
        return
    data = json.loads(results.read_text())
    extra = data.get("extra_data", {})
    log(
        f"sample: {SAMPLE.name} graded by the installed grader on {extra.get('device')}: score {data['score']} "
        f"of {sum(t.get('max_score', 0) for t in data['tests'])}, exit {proc.returncode}, in {took:.1f} s "
        f"(isolation: {extra.get('isolation')})"
    )


def gpu_test_files() -> list[str]:
    return sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "tests").rglob("test_*.py")
        if "pytest.mark.gpu" in p.read_text(encoding="utf-8")
    )


def run_tests(log: Log, target: Path, out: Path, sandboxed: bool, seconds: float) -> int:
    """Every test of the files that hold tests marked `gpu`: those, and the ones that check on any
    machine what a GPU changes (which mean more against a torch that can initialise CUDA)."""
    select = [] if sandboxed else ["-m", "not sandbox"]
    if not sandboxed:
        log(
            "no sandbox here (bubblewrap missing or unusable): running the tests that need none "
            "(-m 'not sandbox'); the kernel's view of the device nodes is not checked on this machine"
        )
    files = gpu_test_files()
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *select,
        "-v",
        "-rA",
        "--durations=0",
        "-p",
        "no:randomly",
        f"--junitxml={out / 'gpu-check.junit.xml'}",
        *files,
    ]
    log(f"$ {' '.join(cmd[1:])}   (at most {seconds:.0f} s)")
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=offline_env(target),
        start_new_session=True,
    )

    def copy_output() -> None:
        for line in proc.stdout or ():
            log(line.rstrip("\n"))

    pump = threading.Thread(target=copy_output, daemon=True)
    pump.start()  # a test that hangs without a word still ends at the deadline
    try:
        code = proc.wait(timeout=max(1.0, seconds))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = 124
    pump.join(timeout=10)
    if code == 124:
        log(f"gpu-check: the tests ran past {seconds:.0f} s and were stopped")
    return code


def main(argv: list[str] | None = None) -> int:
    began = time.monotonic()
    parser = argparse.ArgumentParser(description="the GPU tests, offline, with this Python's own torch")
    parser.add_argument(
        "--wheels", type=Path, default=ROOT / ".gpu" / f"wheels-{sys.version_info[0]}.{sys.version_info[1]}"
    )
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or ROOT / "gpu-check-output"))
    parser.add_argument("--budget", type=float, default=240.0, help="seconds for the whole command")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    log = Log(out / LOG_NAME)
    target, missing, lines = prepare(args.wheels.resolve())
    try:
        if missing:
            log(f"gpu-check: cannot run: {'; '.join(missing)}")
            return 2
        assert target is not None
        log(
            f"gpu-check: ready: {sys.executable} with its own torch, the grader and its dependencies installed "
            f"offline; log in {out / LOG_NAME}"
        )
        for line in lines:
            log(line)
        info = device_report(log, target)
        if not info:
            return 2
        grade_sample(log, target, out)
        spent = time.monotonic() - began
        if args.budget - spent < 60:
            log(
                f"gpu-check: the install, the device report and the sample took {spent:.0f} s "
                f"of the {args.budget:.0f} s budget: the tests get {max(args.budget - spent, 10):.0f} s"
            )
        code = run_tests(log, target, out, bool(info["sandboxed"]), max(args.budget - spent, 10))
        log(
            f"gpu-check: done in {time.monotonic() - began:.0f} s: pytest exit {code}; "
            f"CUDA device: {info['device'] or 'none'}"
        )
        return code
    finally:
        if target is not None:
            shutil.rmtree(target, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
