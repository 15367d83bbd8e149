"""A class under load: N submissions, one in K hostile or faulty, graded by `grader batch`.

    python benchmarks/load.py [--n 300] [--hostile-every 10] [--workers N] [--keep DIR] [--json FILE]

The class is of tests/fixtures/assignments/mini (the attack suite's assignment: cell timeout 4 s,
call timeout 3 s, 2 GB and 48 processes per kernel). Most submissions are right or have a wrong
activation; every K-th is a copy of an attack notebook of tests/attacks/notebooks/: an endless
cell, a memory hog, a fork bomb, kernel killers (os._exit, SIGKILL of itself), a flood of
output, a forged agent reply, an endless function that ignores the interrupt, daemons.

`grader batch` (the CLI, sandboxed, its default workers) runs as a process of its own, with a
temporary folder of its own (TMPDIR), while this process watches it every 0.25 s: the RSS of
the batch process and of its graders (kernels not counted), and every kernel it starts (pid,
uid). Then it checks, and prints:

- every verdict: each attack's checks as in its golden (tests/goldens/attack/), a right
  submission's all passed, a wrong activation's as patch_allclose's golden (the same answers);
- the time of each benign submission next to the hostile ones, by kind;
- the batch process's memory: at the start, after the first tenth, at its peak and at the end;
- what was left once the batch exited: a process of one of its kernels (by pid or by uid), a
  file or folder in its temporary folder.

Exit status 1 when a verdict is missing or wrong or anything was left. tests/batch/test_load.py runs
a class of 30 through the same code.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "fixtures" / "assignments" / "mini"
ATTACKS = ROOT / "tests" / "attacks" / "notebooks"
GOLDENS = ROOT / "tests" / "goldens" / "attack"
HOSTILE = (
    "endless_cell",
    "memory_hog",
    "fork_bomb",
    "kernel_kill_self",
    "output_flood",
    "forge_agent_reply",
    "forge_hostile_replies",
    "forge_hostile_blobs",
    "kernel_os_exit",
    "endless_function_ignores_interrupt",
    "daemon_processes",
)
BENIGN = ("right", "wrong_activation")
UID_RANGE = (200000, 900000)  # grader.sandbox.spec.UID_RANGE: every kernel's uid is in it


# -- the class ------------------------------------------------------------------------------
def _attack_cells() -> Any:
    spec = importlib.util.spec_from_file_location("attack_notebooks", ROOT / "tests" / "attacks" / "make_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_class(dest: Path, n: int, hostile_every: int) -> dict[str, str]:
    """Write n submissions into dest (one folder per student); return {student: its kind}."""
    import nbformat

    cells = _attack_cells()
    sources = {
        "right": [cells.IMPORTS, cells.RIGHT_ACTIVATION, cells.RIGHT_RESHAPE],
        "wrong_activation": [cells.IMPORTS, cells.WRONG_ACTIVATION, cells.RIGHT_RESHAPE],
    }
    kinds: dict[str, str] = {}
    hostile = 0
    for i in range(n):
        if hostile_every and i % hostile_every == hostile_every - 1:
            kind = HOSTILE[hostile % len(HOSTILE)]
            hostile += 1
            nb = nbformat.read(ATTACKS / f"{kind}.ipynb", as_version=4)
        else:
            kind = BENIGN[i % 7 == 3]  # one benign in seven has a wrong activation
            nb = cells.build(kind, [f"# student {i}\n" + sources[kind][0], *sources[kind][1:]])
        student = f"s{i:03d}_{kind}"
        (dest / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest / student / "mini.ipynb")
        kinds[student] = kind
    return kinds


def expected_verdict(kind: str) -> tuple[float, list[tuple[str, str, float]]]:
    # a wrong activation: patch_allclose's answers (its patch fools only itself); right answers:
    # endless_cell's, whose verdict is every check passed (the attack sits between right answers)
    name = {"wrong_activation": "patch_allclose", "right": "endless_cell"}.get(kind, kind)
    golden = json.loads((GOLDENS / f"{name}.json").read_text())
    if kind == "right":
        assert all(t["status"] == "passed" for t in golden["tests"])
    return float(golden["score"]), [(t["name"], t["status"], float(t["score"])) for t in golden["tests"]]


def verdict_of(results: Path) -> tuple[float, list[tuple[str, str, float]]]:
    data = json.loads(results.read_text())
    return float(data["score"]), [(t["name"], t["status"], float(t["score"])) for t in data["tests"]]


# -- watching the batch -------------------------------------------------------------------------
def _proc_table() -> dict[int, tuple[int, int, int, str]]:
    """pid -> (ppid, uid, rss in kB, start time) of every process, from /proc."""
    table: dict[int, tuple[int, int, int, str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            uid, rss = -1, 0
            with open(f"/proc/{name}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Uid:"):
                        uid = int(line.split()[1])
                    elif line.startswith(b"VmRSS:"):
                        rss = int(line.split()[1])
            table[int(name)] = (int(fields[1]), uid, rss, fields[19].decode())
        except (OSError, ValueError, IndexError):
            continue
    return table


def _pss_kb(pid: int) -> int:
    """A process's proportional set size: pages shared with its forkserver counted once overall."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _descendants(root: int, table: dict[int, tuple[int, int, int, str]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_rest) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _is_kernel_side(pid: int, uid: int) -> bool:
    """A kernel, its children, or a zygote (which counts with the kernels: it is not the grader)."""
    if UID_RANGE[0] <= uid < UID_RANGE[1]:
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read()
    except OSError:
        return False
    return b"ipykernel_launcher" in cmd or b"The fork server" in cmd or cmd.startswith(b"bwrap") or b"/bwrap\0" in cmd


@dataclass
class Watch:
    """What was seen of the batch while it ran."""

    kernels: dict[int, str] = field(default_factory=dict)  # pid -> start time, of every kernel-side process
    uids: set[int] = field(default_factory=set)  # the kernels' own uids
    rss_kb: list[tuple[float, int, int, int]] = field(
        default_factory=list
    )  # (t, verdicts, batch RSS, batch + graders PSS)

    def sample(self, batch: int, started: float, verdicts: int) -> None:
        table = _proc_table()
        graders = 0
        for pid in _descendants(batch, table):
            ppid, uid, rss, start = table[pid]
            if _is_kernel_side(pid, uid):
                self.kernels[pid] = start
                if UID_RANGE[0] <= uid < UID_RANGE[1]:
                    self.uids.add(uid)
            else:
                graders += _pss_kb(pid)
        if batch in table:
            self.rss_kb.append((time.monotonic() - started, verdicts, table[batch][2], _pss_kb(batch) + graders))

    def left_behind(self, grace: float = 5.0) -> list[str]:
        """Processes of the batch's kernels still alive `grace` seconds after it exited (the same
        pid and start time, or a kernel's uid): a killed pid namespace takes a moment to empty."""
        deadline = time.monotonic() + grace
        while True:
            table = _proc_table()
            left = [
                f"pid {pid} ({_command(pid)})"
                for pid, start in self.kernels.items()
                if pid in table and table[pid][3] == start
            ]
            left += [
                f"pid {pid} of a kernel's uid {uid} ({_command(pid)})"
                for pid, (_, uid, _, _) in table.items()
                if uid in self.uids
            ]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")[:80].strip()
    except OSError:
        return "gone"


# -- one run ------------------------------------------------------------------------------------
@dataclass
class Report:
    n: int
    hostile: int
    workers: str
    exit_code: int
    seconds: float
    wrong: list[str]  # "student: what differs"
    benign_s: dict[str, float]  # median, p95, max of the benign submissions' grading time
    hostile_s: dict[str, list[float]]  # kind -> each copy's grading time
    rss_mb: dict[str, float]  # the batch process: start, tenth, peak, end; graders_peak
    left: list[str]  # processes and temporary files left behind
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.wrong and not self.left


def run_class(n: int, hostile_every: int, workers: int | None, keep: Path | None = None) -> Report:
    base = Path(tempfile.mkdtemp(prefix="grader-load-")) if keep is None else keep
    classdir, out, tmp = base / "class", base / "out", base / "tmp"
    for folder in (classdir, out, tmp):
        shutil.rmtree(folder, ignore_errors=True)
    tmp.mkdir(parents=True)
    kinds = build_class(classdir, n, hostile_every)
    cmd = [sys.executable, "-m", "grader.cli", "batch", str(classdir), "--assignment", str(MINI), "--out", str(out)]
    cmd += ["--workers", str(workers)] if workers else []
    env = dict(os.environ, TMPDIR=str(tmp))
    watch, started = Watch(), time.monotonic()
    with open(base / "batch.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        while proc.poll() is None:
            done = len(list((out / "results").glob("*.json"))) if (out / "results").is_dir() else 0
            watch.sample(proc.pid, started, done)
            time.sleep(0.25)
    seconds = time.monotonic() - started
    left = watch.left_behind() + [f"{p.relative_to(tmp)} in the batch's TMPDIR" for p in sorted(tmp.rglob("*"))]
    text = (base / "batch.log").read_text(errors="replace")
    report = _judge(kinds, out, proc.returncode, seconds, watch, left, text)
    if keep is None:
        shutil.rmtree(base, ignore_errors=True)
    return report


def _judge(
    kinds: dict[str, str], out: Path, code: int, seconds: float, watch: Watch, left: list[str], log: str
) -> Report:
    wrong, benign, hostile = [], [], {}
    for student, kind in kinds.items():
        results = out / "results" / f"{student}.json"
        if not results.exists():
            wrong.append(f"{student}: no verdict")
            continue
        got, want = verdict_of(results), expected_verdict(kind)
        if got != want:
            wrong.append(f"{student} ({kind}): {got} instead of {want}")
        took = float(json.loads(results.read_text()).get("execution_time") or 0.0)
        if kind in BENIGN:
            benign.append(took)
        else:
            hostile.setdefault(kind, []).append(round(took, 1))
    benign.sort()
    spread = (
        {"median": statistics.median(benign), "p95": benign[int(0.95 * (len(benign) - 1))], "max": benign[-1]}
        if benign
        else {}
    )
    workers = next(
        (line.split(" with ", 1)[1] for line in log.splitlines() if " with " in line and "grading" in line), "?"
    )
    return Report(
        n=len(kinds),
        hostile=sum(len(v) for v in hostile.values()),
        workers=workers,
        exit_code=code,
        seconds=seconds,
        wrong=wrong,
        benign_s=spread,
        hostile_s=hostile,
        rss_mb=_memory(watch),
        left=left,
        log_tail=log[-3000:],
    )


def _memory(watch: Watch) -> dict[str, float]:
    rows = watch.rss_kb
    if not rows:
        return {}
    total = max(r[1] for r in rows) or 1
    tenth = next((r[2] for r in rows if r[1] >= total / 10), rows[-1][2])
    return {
        "start": rows[0][2] / 1024,
        "after_a_tenth": tenth / 1024,
        "peak": max(r[2] for r in rows) / 1024,
        "end": rows[-1][2] / 1024,
        "graders_peak": max(r[3] for r in rows) / 1024,
    }


def describe(report: Report) -> str:
    b = report.benign_s
    lines = [
        f"{report.n} submissions ({report.hostile} hostile or faulty) graded {report.workers} "
        f"in {report.seconds:.1f} s: exit {report.exit_code}, {report.seconds / max(report.n, 1):.2f} s each",
        f"verdicts: {report.n - len(report.wrong)} of {report.n} as expected"
        + "".join(f"\n  WRONG {w}" for w in report.wrong),
        f"benign submissions, grading time: median {b.get('median', 0):.2f} s, p95 {b.get('p95', 0):.2f} s, "
        f"max {b.get('max', 0):.2f} s",
        "hostile, grading time of each copy (mini: cell 4 s, call 3 s):",
    ]
    lines += [
        f"  {kind:<36} {', '.join(f'{t:g}' for t in times)} s" for kind, times in sorted(report.hostile_s.items())
    ]
    m = report.rss_mb
    lines.append(
        f"batch process RSS: start {m.get('start', 0):.0f} MB, after a tenth {m.get('after_a_tenth', 0):.0f} MB, "
        f"peak {m.get('peak', 0):.0f} MB, end {m.get('end', 0):.0f} MB; with its graders (PSS, no kernels) at most "
        f"{m.get('graders_peak', 0):.0f} MB"
    )
    lines.append(
        "left behind: "
        + (
            "nothing (no kernel process, no kernel uid, no temporary file)"
            if not report.left
            else "; ".join(report.left[:20])
        )
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="submissions in the class (default 300)")
    parser.add_argument("--hostile-every", type=int, default=10, help="every K-th submission is hostile (default 10)")
    parser.add_argument("--workers", type=int, default=None, help="grader batch --workers (default: its own)")
    parser.add_argument("--keep", type=Path, default=None, help="build and grade in this folder, and keep it")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    report = run_class(args.n, args.hostile_every, args.workers, args.keep)
    print(describe(report))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    if not report.ok:
        print("\nthe batch's log ends:\n" + report.log_tail, file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
