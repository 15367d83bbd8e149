"""The GPU path (issue 13): grading "on whichever device is present" on a CUDA device.

Every test but the first is marked `gpu` and skipped, with the reason, where torch sees no CUDA
device; `make gpu-check` runs exactly those, in one go. What they hold:

- the sample class graded with `grader batch --device cuda` gets the CPU's verdicts (the goldens);
- `--device auto` picks cuda; the inputs arrive on the GPU; a result left on the CPU fails with
  the device message; the assignment's [tolerances.cuda] decide;
- the sandboxed kernel sees the GPU's device nodes and nothing more; CUDA initialises under the
  kernel's memory limit; a kernel's GPU memory is free once it ends; a kernel that exhausts the
  GPU's memory costs only its own checks.

The tests before them need no GPU: the sandbox's /dev where there is none (nothing of the host),
and what a GPU changes, checked on the CPU: the device nodes in the kernel's and the zygote's
sandbox, the zygote never touching CUDA before it forks, inputs drawn on the CPU and moved by the
kernel, [tolerances.cuda] in a check's context, a CPU result failing a cuda grading with the device
message. tests/gpu/test_gpu_check.py rehearses `make gpu-check` itself.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "assignments" / "mini"
NNB = ROOT / "assignments" / "neural-net-basics"
SAMPLES = ROOT / "tests" / "submissions" / "neural-net-basics"
GOLDENS = ROOT / "tests" / "goldens" / "nnb"
# what bubblewrap's --dev (and the zygote's view of it) gives every kernel
SANDBOX_DEV = {
    "core",
    "fd",
    "full",
    "null",
    "ptmx",
    "pts",
    "random",
    "shm",
    "stderr",
    "stdin",
    "stdout",
    "tty",
    "urandom",
    "zero",
}
IMPORTS = "import torch"
RIGHT_ACTIVATION = "def activation(x):\n    return 1 / (1 + torch.exp(-x))"
RIGHT_RESHAPE = "def reshape_weights(w, rows, cols):\n    return w.view(rows, cols)"


def _cuda() -> str:
    """'' when torch sees a CUDA device here, else why not."""
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if torch.cuda.is_available():
        return ""
    nodes = glob.glob("/dev/nvidia[0-9]*")
    return "needs a CUDA device: torch.cuda.is_available() is False here" + (
        f" although {', '.join(nodes)} exist" if nodes else " (no /dev/nvidia* device node)"
    )


CUDA_REASON = _cuda()
needs_cuda = pytest.mark.skipif(bool(CUDA_REASON), reason=CUDA_REASON or "-")


def _sandbox_reason() -> str:
    from grader.sandbox.isolation import detect

    return "" if detect("auto").sandboxed else "needs bubblewrap: the kernel's /dev is the host's without it"


def submission(path: Path, *cells: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["grader"] = {"slug": "mini"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def graded(path: Path, device: str, assignment: Path = MINI) -> Any:
    from grader.course import load_assignment
    from grader.grade import Options, grade

    return grade(path, load_assignment(assignment), Options(device=device))  # type: ignore[arg-type]


def statuses(result: Any, exercise: str | None = None) -> list[str]:
    return [c.status for c in result.checks if exercise is None or c.exercise == exercise]


def report(result: Any) -> Any:
    """What the notebook's REPORT cell said (a cell that raises RuntimeError("REPORT {json}"))."""
    for cell in result.cells:
        if (cell.evalue or "").startswith("REPORT "):
            return json.loads(cell.evalue[len("REPORT ") :])
    raise AssertionError(f"the REPORT cell did not report: {result.cells}")


DEV_REPORT = (
    "import os, json\nraise RuntimeError('REPORT ' + json.dumps({'dev': sorted(os.listdir('/dev')), "
    "'dri': sorted(os.listdir('/dev/dri')) if os.path.isdir('/dev/dri') else None, "
    "'sys': sorted(os.listdir('/sys')) if os.path.isdir('/sys') else None}))"
)


def _kernel_dev(tmp_path: Path, device: str) -> dict[str, Any]:
    path = submission(tmp_path / "dev.ipynb", IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, DEV_REPORT)
    result = graded(path, device)
    assert statuses(result) == ["passed"] * 4
    seen = report(result)
    seen["dev"] = [d for d in seen["dev"] if not d.startswith(".grader-")]  # another kernel's init, parking its folder
    return seen


# -- without a GPU ------------------------------------------------------------------------------
@pytest.mark.sandbox
@pytest.mark.skipif(bool(_sandbox_reason()), reason=_sandbox_reason() or "-")
@pytest.mark.skipif(
    not CUDA_REASON, reason="a GPU is present: test_the_kernel_sees_the_gpus_device_nodes_and_nothing_more"
)
def test_the_kernel_sees_no_device_of_the_host(tmp_path: Path) -> None:
    seen = _kernel_dev(tmp_path, "cpu")
    assert set(seen["dev"]) == SANDBOX_DEV and seen["sys"] is None


@pytest.mark.sandbox
@pytest.mark.skipif(bool(_sandbox_reason()), reason=_sandbox_reason() or "-")
def test_with_gpu_nodes_the_kernel_sees_the_sysfs_cuda_reads_and_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox a GPU machine gives, on any machine: a stand-in device node (/dev/null) makes the
    spec bind what CUDA's driver reads of /sys (cuInit fails without it); nothing else of /sys."""
    import glob as glob_module

    from grader.course import load_assignment
    from grader.grade import Options, grade

    real = glob_module.glob
    monkeypatch.setattr(
        glob_module,
        "glob",
        lambda pattern, **kw: ["/dev/null"] if pattern.startswith("/dev/nvidia") else real(pattern, **kw),
    )
    path = submission(tmp_path / "dev.ipynb", IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, DEV_REPORT)
    result = grade(path, load_assignment(MINI), Options(device="cpu", fork_server=False))
    seen = report(result)
    want = {p.split("/")[2] for p in ("/sys/devices", "/sys/bus/pci", "/sys/module/nvidia") if os.path.exists(p)}
    assert set(seen["sys"]) == want and "kernel" not in seen["sys"]
    assert set(seen["dev"]) == SANDBOX_DEV
    assert statuses(result) == ["passed"] * 4


FAKE_GPU_NODES = ["/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm"]


def test_with_gpu_nodes_the_spec_shows_them_to_the_kernel_and_the_zygote(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What a GPU machine's /dev/nvidia* make of a sandbox, on any machine: the kernel's spec and the
    zygote's (its forked kernels inherit its /dev) list them, and bubblewrap binds each as a device."""
    import glob as glob_module

    from grader.config import Limits
    from grader.sandbox import spec
    from grader.sandbox.isolation import Isolation
    from grader.sandbox.launch import bwrap_argv

    real = glob_module.glob
    monkeypatch.setattr(
        glob_module,
        "glob",
        lambda pattern, **kw: list(FAKE_GPU_NODES) if pattern == "/dev/nvidia*" else real(pattern, **kw),
    )
    bwrap = Isolation("bubblewrap", "bubblewrap", shutil.which("bwrap") or "/usr/bin/bwrap")
    kernel = spec.kernel_spec(bwrap, Limits(), tmp_path / "k")
    zygote = spec.zygote_spec(bwrap, tmp_path / "spool")
    for made in (kernel, zygote):
        assert [d for d in made.devices if "nvidia" in d] == FAKE_GPU_NODES
    argv = bwrap_argv(bwrap.bwrap or "bwrap", kernel, ["python3"])
    for node in FAKE_GPU_NODES:
        i = argv.index(node)
        assert argv[i - 1 : i + 2] == ["--dev-bind", node, node]
    # without a sandbox there is no view to build: the kernel sees the host's /dev as it is
    assert spec.kernel_spec(Isolation("limits", "limits"), Limits(), tmp_path / "l").devices == ()


ZYGOTE_FORK_SAFETY = r"""
import json, sys
import torch

calls = []


def tripwire(owner, name):
    real = getattr(owner, name, None)
    if real is None:
        return

    def tripped(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)
    setattr(owner, name, tripped)


# every way into CUDA's runtime: torch's lazy init, and what calls cuInit or cudaGetDeviceCount
for name in ("_lazy_init", "init", "is_available", "device_count", "current_device", "get_device_name",
             "get_device_properties", "get_device_capability", "mem_get_info", "synchronize", "set_device"):
    tripwire(torch.cuda, name)
for name in ("_cuda_init", "_cuda_getDeviceCount", "_cuda_getDevice", "_cuda_setDevice"):
    tripwire(torch._C, name)
zygote = {"__name__": "zygote_under_test"}
exec(compile(open(sys.argv[1]).read(), "<zygote>", "exec"), zygote)
zygote["preload"]()
zygote["preload_agent"](sys.argv[2])
zygote["rehearse_traceback"]()
before = list(calls)
state = {"calls": before, "initialized": torch.cuda.is_initialized(), "agent": "__grader_agent__" in sys.modules}
torch.cuda.is_available()
state["control"] = calls[len(before):]
print(json.dumps(state))
"""


def test_the_zygote_never_touches_cuda_before_it_forks(tmp_path: Path) -> None:
    """What the zygote runs before its first fork (its preloads, the agent's compilation, the
    traceback rehearsal), with a tripwire on each way into CUDA: none is taken, CUDA is not
    initialised, so every forked kernel may initialise it (a CUDA context does not survive fork).
    The control: the tripwire does fire on torch.cuda.is_available()."""
    from grader.bridge.agent import AGENT_FILE, AGENT_SOURCE
    from grader.sandbox.spec import zygote_env
    from grader.sandbox.zygote_process import ZYGOTE_SOURCE

    (tmp_path / "zygote.py").write_text(ZYGOTE_SOURCE)
    (tmp_path / AGENT_FILE).write_text(AGENT_SOURCE)
    env = {**zygote_env(), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-c", ZYGOTE_FORK_SAFETY, str(tmp_path / "zygote.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    state = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (state["calls"], state["initialized"], state["agent"]) == ([], False, True)
    assert state["control"][:1] == ["is_available"]  # then, on a CUDA build, what it calls (_cuda_getDeviceCount)


def test_inputs_are_seeded_on_the_cpu_and_moved_by_the_kernel() -> None:
    """A check's input is drawn on the CPU (the same numbers on every device) and sent as CPU bytes
    with the device named; the kernel's agent moves it there on arrival ("meta" stands in for cuda)."""
    import torch

    from codec_support import agent_codec_decode
    from grader.bridge.outgoing import call_request, encode_arguments
    from grader.checks.inputs import randn

    x = randn(3, 4, seed=7)
    torch.manual_seed(7)
    assert x.device.type == "cpu" and torch.equal(x, torch.randn(3, 4))
    args, kwargs, tensors = encode_arguments((x,), {})
    req = call_request("activation", args, kwargs, tensors, "cuda")
    assert req["device"] == "cuda" and all(t.device.type == "cpu" for t in tensors)
    arrived = agent_codec_decode()(args, tensors, "meta")[0]
    assert arrived.device.type == "meta" and arrived.shape == (3, 4)
    assert agent_codec_decode()(args, tensors, "cpu")[0] is tensors[0]  # on the CPU: not copied


def _mini_with_tolerances(tmp_path: Path) -> Any:
    from grader.course import load_assignment

    assignment = tmp_path / "mini"
    shutil.copytree(MINI, assignment)
    toml = assignment / "assignment.toml"
    toml.write_text(
        toml.read_text() + "\n[tolerances]\nrtol = 1e-5\natol = 1e-6\n\n[tolerances.cuda]\nrtol = 1e-2\natol = 1e-3\n"
    )
    return load_assignment(assignment)


def test_the_cuda_tolerances_decide_a_check_graded_on_cuda(tmp_path: Path) -> None:
    """The context a check runs in on cuda (or cuda:1) carries [tolerances.cuda]; a value 0.1 % off
    passes there and fails on the CPU's [tolerances]."""
    import torch

    from grader.checks.context import CheckContext, set_current
    from grader.checks.tensors import assert_tensor
    from grader.failures import CheckFailed

    assignment = _mini_with_tolerances(tmp_path)
    assert (assignment.tolerance("cuda").rtol, assignment.tolerance("cuda:1").rtol) == (1e-2, 1e-2)
    assert assignment.tolerance("cpu").rtol == 1e-5
    expected = torch.sigmoid(torch.linspace(-3, 3, 8))
    try:
        set_current(CheckContext(device="cuda", tolerance=assignment.tolerance("cuda")))
        assert_tensor(expected * (1 + 1e-3), expected)
        set_current(CheckContext(device="cpu", tolerance=assignment.tolerance("cpu")))
        with pytest.raises(CheckFailed):
            assert_tensor(expected * (1 + 1e-3), expected)
    finally:
        set_current(CheckContext())


def test_a_result_the_kernel_says_is_on_the_cpu_fails_a_cuda_grading_with_the_device_message() -> None:
    """The kernel's reply says where its tensor was: graded on cuda, a CPU result fails before its
    values are looked at, with the words a student can act on; graded on the CPU the same reply passes."""
    import torch

    from codec_support import agent_reply
    from grader.bridge.codec import read_reply
    from grader.checks.context import CheckContext, set_current
    from grader.checks.tensors import assert_tensor
    from grader.failures import CheckFailed

    expected = torch.sigmoid(torch.linspace(-3, 3, 8))
    result = read_reply(agent_reply(expected.clone())).value()
    try:
        set_current(CheckContext(device="cuda"))
        with pytest.raises(CheckFailed) as failed:
            assert_tensor(result, expected)
        assert "is on cpu, but the inputs were on cuda" in failed.value.message
        assert "device=x.device" in failed.value.message
        set_current(CheckContext(device="cpu"))
        assert_tensor(result, expected)
    finally:
        set_current(CheckContext())


# -- on a CUDA device ---------------------------------------------------------------------------
def _golden(name: str) -> tuple[float, list[tuple[str, str, float]]]:
    data = json.loads((GOLDENS / f"{name}.json").read_text())
    return float(data["score"]), [(t["name"], t["status"], float(t["score"])) for t in data["tests"]]


@pytest.mark.gpu
@needs_cuda
@pytest.mark.slow
def test_the_sample_class_on_cuda_gets_the_cpus_verdicts(tmp_path: Path) -> None:
    """`grader batch --device cuda` over every sample of neural-net-basics: each verdict's checks
    (name, status, points) and score as in its golden, recorded on the CPU."""
    classdir = tmp_path / "class"
    classdir.mkdir()
    for sample in SAMPLES.glob("*.ipynb"):
        shutil.copyfile(sample, classdir / sample.name)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "batch",
            str(classdir),
            "--assignment",
            str(NNB),
            "--out",
            str(tmp_path / "out"),
            "--device",
            "cuda",
        ],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    differ = []
    for sample in sorted(SAMPLES.glob("*.ipynb")):
        data = json.loads((tmp_path / "out" / "results" / f"{sample.stem}.json").read_text())
        got = (float(data["score"]), [(t["name"], t["status"], float(t["score"])) for t in data["tests"]])
        if got != _golden(sample.stem):
            differ.append(f"{sample.stem}: {got} on cuda, {_golden(sample.stem)} on the cpu")
        assert data["extra_data"]["device"] in ("cuda", "none"), sample.stem  # "none": an unreadable file
    assert differ == []


@pytest.mark.gpu
@needs_cuda
def test_auto_picks_cuda() -> None:
    result = graded(SAMPLES / "correct.ipynb", "auto", NNB)
    assert result.device == "cuda"
    assert result.score == result.max_score > 0


@pytest.mark.gpu
@needs_cuda
def test_the_inputs_arrive_on_the_gpu(tmp_path: Path) -> None:
    """A function that refuses any input not on the GPU: on cuda every activation check passes;
    graded on the CPU, the same notebook fails them with its own words."""
    strict = (
        "def activation(x):\n    if not x.is_cuda:\n        raise ValueError(f'the input is on {x.device}')\n"
        "    return 1 / (1 + torch.exp(-x))"
    )
    path = submission(tmp_path / "strict.ipynb", IMPORTS, strict, RIGHT_RESHAPE)
    on_gpu, on_cpu = graded(path, "cuda"), graded(path, "cpu")
    assert on_gpu.device == "cuda" and statuses(on_gpu) == ["passed"] * 4
    assert statuses(on_cpu, "activation") == ["failed", "failed"]
    assert all("the input is on cpu" in c.message for c in on_cpu.checks if c.exercise == "activation")


@pytest.mark.gpu
@needs_cuda
def test_a_result_left_on_the_cpu_fails_with_the_device_message(tmp_path: Path) -> None:
    path = submission(
        tmp_path / "cpu_result.ipynb",
        IMPORTS,
        "def activation(x):\n    return (1 / (1 + torch.exp(-x))).cpu()",
        RIGHT_RESHAPE,
    )
    result = graded(path, "cuda")
    assert statuses(result, "activation") == ["failed", "failed"]
    assert statuses(result, "reshape_weights") == ["passed", "passed"]
    for check in (c for c in result.checks if c.exercise == "activation"):
        assert "the result is on cpu, but the inputs were on cuda" in check.message
        assert "device=x.device" in check.message


@pytest.mark.gpu
@needs_cuda
def test_the_cuda_tolerances_are_used(tmp_path: Path) -> None:
    """An activation 0.1 % off: within [tolerances.cuda] (rtol 1e-2), outside [tolerances] (rtol 1e-5)."""
    assignment = tmp_path / "mini"
    shutil.copytree(MINI, assignment)
    toml = assignment / "assignment.toml"
    toml.write_text(
        toml.read_text() + "\n[tolerances]\nrtol = 1e-5\natol = 1e-6\n\n[tolerances.cuda]\nrtol = 1e-2\natol = 1e-3\n"
    )
    path = submission(
        tmp_path / "close.ipynb",
        IMPORTS,
        "def activation(x):\n    return (1 / (1 + torch.exp(-x))) * (1 + 1e-3)",
        RIGHT_RESHAPE,
    )
    assert statuses(graded(path, "cuda", assignment), "activation") == ["passed", "passed"]
    assert statuses(graded(path, "cpu", assignment), "activation") == ["failed", "failed"]


@pytest.mark.gpu
@needs_cuda
@pytest.mark.sandbox
@pytest.mark.skipif(bool(_sandbox_reason()), reason=_sandbox_reason() or "-")
def test_the_kernel_sees_the_gpus_device_nodes_and_nothing_more(tmp_path: Path) -> None:
    host_gpu = {os.path.basename(p) for p in glob.glob("/dev/nvidia*")} | (
        {"dri"} if os.path.isdir("/dev/dri") else set()
    )
    seen = _kernel_dev(tmp_path, "cuda")
    assert set(seen["dev"]) == SANDBOX_DEV | host_gpu
    if os.path.isdir("/dev/dri"):
        assert seen["dri"] == sorted(os.listdir("/dev/dri"))
    # of /sys, only what CUDA's driver reads (spec.GPU_SYSFS): no /sys/kernel, /sys/fs, /sys/firmware
    assert set(seen["sys"] or ()) <= {"devices", "bus", "module"}, seen["sys"]


CUDA_UNDER_LIMITS = """\
import json, resource
x = torch.ones(1 << 20, device="cuda")
raise RuntimeError("REPORT " + json.dumps({"sum": float(x.sum()), "name": torch.cuda.get_device_name(0),
                                           "data": resource.getrlimit(resource.RLIMIT_DATA)[0],
                                           "as": resource.getrlimit(resource.RLIMIT_AS)[0]}))"""


@pytest.mark.gpu
@needs_cuda
def test_cuda_initialises_under_the_kernels_memory_limit(tmp_path: Path) -> None:
    """mini's kernel has 2 GB; on a GPU machine that is RLIMIT_DATA (CUDA reserves far more address
    space than RLIMIT_AS would allow); CUDA starts under it and computes."""
    import resource

    from grader.course import load_assignment
    from grader.sandbox.rlimits import memory_bytes

    path = submission(tmp_path / "limits.ipynb", IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, CUDA_UNDER_LIMITS)
    result = graded(path, "cuda")
    seen = report(result)
    assert seen["sum"] == float(1 << 20)
    assert seen["data"] == memory_bytes(load_assignment(MINI).limits)
    assert seen["as"] == resource.getrlimit(resource.RLIMIT_AS)[0]  # no address-space limit of its own
    assert statuses(result) == ["passed"] * 4


def _gpu_used_mb() -> float:
    import torch

    free, total = torch.cuda.mem_get_info()
    return (total - free) / 2**20


HOLD_8_GB = """\
import json
hold = torch.empty(2 * 2**30, dtype=torch.float32, device="cuda")
raise RuntimeError("REPORT " + json.dumps({"allocated_mb": torch.cuda.memory_allocated() / 2**20}))"""


@pytest.mark.gpu
@needs_cuda
def test_a_kernels_gpu_memory_is_free_after_it_ends(tmp_path: Path) -> None:
    before = _gpu_used_mb()  # after this process's own CUDA context
    path = submission(tmp_path / "hold.ipynb", IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, HOLD_8_GB)
    result = graded(path, "cuda")
    assert report(result)["allocated_mb"] >= 8192  # the kernel did hold 8 GB while it lived
    deadline = time.monotonic() + 15
    while _gpu_used_mb() > before + 256 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _gpu_used_mb() <= before + 256, f"{_gpu_used_mb():.0f} MB in use, {before:.0f} MB before the kernel"


EXHAUST = """\
hog = []
while True:
    hog.append(torch.empty(2**28, dtype=torch.float32, device="cuda"))     # 1 GB at a time, until none is left"""


@pytest.mark.gpu
@needs_cuda
@pytest.mark.slow
def test_a_kernel_that_exhausts_gpu_memory_costs_only_its_own_checks(tmp_path: Path) -> None:
    """A class where the first submission takes every byte of the GPU (torch.OutOfMemoryError in its
    cell, the memory kept): it gets its verdict, with the error named in its cell; the others,
    graded after it, pass every check."""
    classdir = tmp_path / "class"
    submission(classdir / "a_hog" / "mini.ipynb", IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, EXHAUST)
    for name in ("b_right", "c_right"):
        submission(classdir / name / "mini.ipynb", IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "batch",
            str(classdir),
            "--assignment",
            str(MINI),
            "--out",
            str(tmp_path / "out"),
            "--device",
            "cuda",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=200,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    results = {
        name: json.loads((tmp_path / "out" / "results" / f"{name}.json").read_text())
        for name in ("a_hog", "b_right", "c_right")
    }
    assert "OutOfMemoryError" in json.dumps(results["a_hog"])
    for name in ("b_right", "c_right"):
        assert results[name]["score"] == 4.0 and all(t["status"] == "passed" for t in results[name]["tests"])


FORKED_CUDA = """\
import json
before = torch.cuda.is_initialized()
x = torch.ones(1 << 10, device="cuda")
raise RuntimeError("REPORT " + json.dumps({"before": before, "sum": float(x.sum()), \
"after": torch.cuda.is_initialized()}))"""


@pytest.mark.gpu
@needs_cuda
def test_a_kernel_forked_from_the_zygote_initialises_cuda_itself(tmp_path: Path) -> None:
    """The fork server's kernels (the default path): each starts with CUDA untouched (the zygote
    never initialised it: test_the_zygote_never_touches_cuda_before_it_forks) and initialises it
    in its own process, then computes on the GPU."""
    from grader.course import load_assignment
    from grader.grade import Options, grade
    from grader.sandbox.forkserver import default_kernels

    path = submission(tmp_path / "forked.ipynb", IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, FORKED_CUDA)
    result = grade(path, load_assignment(MINI), Options(device="cuda", fork_server=True))
    assert default_kernels().fallback_reason == ""  # it was forked, not a plain kernel
    assert report(result) == {"before": False, "sum": 1024.0, "after": True}
    assert statuses(result) == ["passed"] * 4
