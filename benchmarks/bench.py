"""The grader against plain nbclient, on the same submissions, in one invocation.

    python benchmarks/bench.py [--n 20] [--workers N] [--order abba|ab] [--single 3] [--kernels 10] [--warm 3]
                               [--only-warm] [--only-kernels] [--keep DIR]

1. Makes N submissions of neural-net-basics from the samples in tests/submissions/ (a mix:
   mostly right, some partly right, some broken: a syntax error, a kernel killer, untouched
   stubs, an unreadable file). The endless loop is left out unless --with-timeouts: both
   sides then just wait out the same 30 s cell timeout.
2. Plain nbclient executes the N notebooks one after another, the ordinary way:
   `NotebookClient(nb, timeout=30, kernel_name="python3").execute()` (an error ends that
   notebook, as it does for anyone who runs it so).
3. `grader batch` grades the same N (the CLI, sandboxed: every check, hidden ones too,
   feedback, results, gradebook, report) into a fresh folder.
   With --order abba (the default) the sides run plain, grader, grader, plain, so that a
   machine busy with something else slows both alike; totals are summed per side.
4. One `grader check` of a correct submission against one plain nbclient run of it, both as
   fresh processes (`grader check ... -q` and `python -c <the nbclient lines>`), --single times
   each, alternating; `grader check --no-server` (the cold path).
5. Forked kernels in this process, asked for until ready for the first cell (connected, the
   agent installed, the devices known): --kernels grades with a fresh fork each against as many
   with a spare forked ahead, as the warm server hands one to each check.
6. "warm": `grader check` again within ten minutes, through the per-user warm server
   (grader/warm/; a server folder of the benchmark's own, the server started by a first check
   that is reported but not counted), against plain nbclient runs of the same notebook, --warm
   times each, alternating; the server is stopped at the end.

Prints the ratios and the time per stage: kernel start, cells and checks come from the
batch's own verdicts (Result.timings, one per submission); rendering (feedback HTML, results
JSON) and the gradebook write are timed again here on those verdicts, one at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ASSIGNMENT = ROOT / "assignments" / "neural-net-basics"
SAMPLES = ROOT / "tests" / "submissions" / "neural-net-basics"
CELL_TIMEOUT = 30

# Twenty submissions of a class, by sample: 8 full marks, 8 partial, 4 broken.
MIX = [
    ("correct", 6),
    ("written_from_scratch", 2),
    ("forgot_bias", 1),
    ("hardcoded_0_1595", 1),
    ("outer_product_wrong_order", 1),
    ("reshape_returns_copy", 1),
    ("reshape_with_resize_", 1),
    ("returns_numpy", 1),
    ("sigmoid_sign_error", 1),
    ("syntax_error_in_one_cell", 1),
    ("stubs_untouched", 1),
    ("kills_the_kernel", 1),
    ("truncated", 1),
    ("python_script_named_ipynb", 1),
]
NBCLIENT_LINES = (
    "import sys, nbformat, nbclient\n"
    "nb = nbformat.read(sys.argv[1], as_version=4)\n"
    f"nbclient.NotebookClient(nb, timeout={CELL_TIMEOUT}, kernel_name='python3').execute()\n"
)


def make_class(n: int, folder: Path, with_timeouts: bool) -> list[Path]:
    names = [name for name, count in MIX for _ in range(count)]
    if with_timeouts:
        names[1] = "cell_never_ends"
    have = [name for name in names if (SAMPLES / f"{name}.ipynb").is_file()]
    if not have:  # no samples yet: the assignment's own notebook, stubs and all
        source = ASSIGNMENT / "neural-net-basics.ipynb"
        have, samples = ["stubs"], {"stubs": source}
    else:
        samples = {name: SAMPLES / f"{name}.ipynb" for name in have}
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        name = have[i % len(have)]
        path = folder / f"student-{i + 1:03d}.ipynb"
        shutil.copyfile(samples[name], path)
        out.append(path)
    return out


def plain_nbclient(paths: list[Path]) -> tuple[float, list[float], int]:
    """Execute each notebook with nbclient, one after another. Returns total, per notebook, errors."""
    import nbclient
    import nbformat

    times, errors = [], 0
    saved = os.dup(2)  # the kernels' own warnings (TCP without encryption) would flood the output
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 2)
    try:
        started = time.perf_counter()
        for path in paths:
            t = time.perf_counter()
            try:
                nb = nbformat.read(str(path), as_version=4)
                nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3").execute()
            except Exception:
                errors += 1
            times.append(time.perf_counter() - t)
        total = time.perf_counter() - started
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(quiet)
    return total, times, errors


def grader_bin() -> str:
    found = shutil.which("grader", path=os.path.dirname(sys.executable))
    return found or "grader"


def grader_batch(
    folder: Path, out: Path, workers: int | None, extra: list[str], *, fresh: bool = True
) -> tuple[float, str]:
    """`grader batch` of `folder` into `out` (emptied first, unless not `fresh`: a second run finds its
    gradebook); its seconds and its summary line."""
    if fresh and out.exists():
        shutil.rmtree(out)
    cmd = [grader_bin(), "batch", str(folder), "--assignment", str(ASSIGNMENT), "--out", str(out), *extra]
    if workers:
        cmd += ["--workers", str(workers)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"grader batch failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    last = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if line.startswith("graded ") or "nothing to grade" in line
    ]
    return seconds, (last[-1] if last else "")


def verdicts(out: Path) -> list[dict]:
    con = sqlite3.connect(str(out / "gradebook.sqlite"))
    try:
        return [json.loads(row[0]) for row in con.execute("select result_json from verdicts")]
    finally:
        con.close()


def render_and_db(results: list[dict]) -> tuple[float, float]:
    """Seconds per verdict to render its files and to write it into a gradebook, done again here."""
    from grader.course import load_assignment
    from grader.batch.outputs import write_student_outputs
    from grader.batch.gradebook import Gradebook
    from grader.results import Result

    assignment = load_assignment(ASSIGNMENT)
    objs = [Result.from_dict(r) for r in results]
    with tempfile.TemporaryDirectory() as tmp:
        write_student_outputs(Path(tmp), assignment, "warmup", objs[0])
        t = time.perf_counter()
        for i, r in enumerate(objs):
            write_student_outputs(Path(tmp), assignment, f"s{i}", r)
        render = (time.perf_counter() - t) / len(objs)
        book = Gradebook(f"sqlite:///{tmp}/bench.sqlite")
        t = time.perf_counter()
        for i, r in enumerate(objs):
            book.record(
                assignment=assignment.slug,
                student=f"s{i}",
                sha256=r.sha256 or f"{i}",
                source=r.submission,
                status=r.status,
                result=r,
                reason="",
                replace=True,
            )
        db = (time.perf_counter() - t) / len(objs)
        book.close()
    return render, db


def single(path: Path, runs: int) -> tuple[list[float], list[float]]:
    plain, check = [], []
    for i in range(runs):
        order = ("plain", "check") if i % 2 == 0 else ("check", "plain")
        for side in order:
            t = time.perf_counter()
            if side == "plain":
                subprocess.run([sys.executable, "-c", NBCLIENT_LINES, str(path)], capture_output=True)
                plain.append(time.perf_counter() - t)
            else:
                proc = subprocess.run(
                    [grader_bin(), "check", str(path), "--assignment", str(ASSIGNMENT), "-q", "--no-server"],
                    capture_output=True,
                    text=True,
                )
                check.append(time.perf_counter() - t)
                if proc.returncode != 0:
                    raise SystemExit(
                        f"grader check of a correct submission exited {proc.returncode}: {proc.stderr[-2000:]}"
                    )
    return plain, check


def warm_single(path: Path, runs: int) -> tuple[float, list[float], list[float]]:
    """(the first check, which starts the server; plain runs; warm checks), in a server folder of our own."""
    folder = Path(tempfile.mkdtemp(prefix="gb-"))
    os.chmod(folder, 0o700)
    env = dict(os.environ, GRADER_SERVER_DIR=str(folder))
    env.pop("GRADER_NO_SERVER", None)
    cmd = [grader_bin(), "check", str(path), "--assignment", str(ASSIGNMENT), "-q"]

    def check() -> float:
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - t
        if proc.returncode != 0 or proc.stderr:
            raise SystemExit(f"warm grader check exited {proc.returncode}: {proc.stderr[-2000:]}")
        return seconds

    plain, warm = [], []
    try:
        first = check()
        for i in range(runs):
            for side in ("plain", "warm") if i % 2 == 0 else ("warm", "plain"):
                if side == "warm":
                    warm.append(check())
                else:
                    t = time.perf_counter()
                    subprocess.run([sys.executable, "-c", NBCLIENT_LINES, str(path)], capture_output=True)
                    plain.append(time.perf_counter() - t)
    finally:
        for pid_file in folder.glob("*.pid"):
            try:
                os.kill(int(pid_file.read_text()), 15)
            except (ProcessLookupError, ValueError):
                pass
        shutil.rmtree(folder, ignore_errors=True)
    return first, plain, warm


@contextlib.contextmanager
def work_folder(keep: Path | None, prefix: str) -> Iterator[Path]:
    """`keep` (made if missing, left afterwards), else a fresh temporary folder removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix=prefix)) if keep is None else keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def warm_report(path: Path, runs: int) -> None:
    first, plain, warm = warm_single(path, runs)
    mp, mw = statistics.median(plain), statistics.median(warm)
    print(
        f"warm: grader check again within ten minutes ({path.name}), through the warm server, "
        f"{runs} runs each, alternating:"
    )
    print(f"  first check (starts the server; not counted): {first:.2f} s")
    print(f"  plain nbclient: {', '.join(f'{t:.2f}' for t in plain)} s  (median {mp:.2f})")
    print(f"  grader check:   {', '.join(f'{t:.2f}' for t in warm)} s  (median {mw:.2f})")
    print(
        f"warm ratio (grader check through the warm server / plain nbclient, medians): {mw / mp:.3f}  (target <= 0.15)"
    )


def kernel_report(path: Path, runs: int) -> None:
    """A forked kernel, asked for until ready for the first cell (the fork or the spare taken, the
    connection, the agent installed, the devices known: Result.timings["kernel_start"]), in this
    process: `runs` grades with a fresh fork each, and `runs` with a spare forked ahead (as the
    warm server hands one to each check; the spare's own fork is not counted)."""
    from grader.course import load_assignment
    from grader.grade import grade
    from grader.options import Options
    from grader.sandbox.forkserver import FastKernels, usable
    from grader.sandbox.isolation import detect

    isolation = detect("auto")
    if usable(isolation):
        print(f"kernels: not forked here ({usable(isolation)})")
        return
    assignment = load_assignment(ASSIGNMENT)
    kernels = FastKernels(prewarm=0)
    try:
        grade(path, assignment, Options(), kernel_factory=kernels)  # the zygote booted, imports done
        fresh: list[float] = []
        spare: list[float] = []
        for i in range(runs):
            for side in ("fresh", "spare") if i % 2 == 0 else ("spare", "fresh"):
                if side == "spare":
                    kernels.prefork(assignment, isolation)
                    time.sleep(0.3)  # as between two checks
                result = grade(path, assignment, Options(), kernel_factory=kernels)
                (spare if side == "spare" else fresh).append(result.timings["kernel_start"] * 1000)
    finally:
        kernels.close()
    print(f"forked kernel, asked for until ready for the first cell ({path.name}, {runs} each, alternating):")
    print(
        f"  a fresh fork:           {', '.join(f'{t:.0f}' for t in fresh)} ms  (median {statistics.median(fresh):.0f})"
    )
    print(
        f"  the spare forked ahead: {', '.join(f'{t:.0f}' for t in spare)} ms  (median {statistics.median(spare):.0f};"
        " target <= 50)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="submissions (default 20)")
    parser.add_argument("--workers", type=int, help="grader batch --workers (default: its own, the number of cores)")
    parser.add_argument(
        "--order",
        choices=["abba", "ab"],
        default="abba",
        help="abba: plain, grader, grader, plain (default); ab: each once",
    )
    parser.add_argument("--single", type=int, default=3, metavar="R", help="single-check runs per side (0: skip)")
    parser.add_argument(
        "--warm", type=int, default=3, metavar="R", help="warm-server check runs against plain runs (0: skip)"
    )
    parser.add_argument("--only-warm", action="store_true", help="only the warm-server line (no batch, no cold single)")
    parser.add_argument(
        "--kernels",
        type=int,
        default=10,
        metavar="R",
        help="forked kernels timed until ready, fresh and spare (0: skip)",
    )
    parser.add_argument("--only-kernels", action="store_true", help="only the forked-kernel line")
    parser.add_argument("--with-timeouts", action="store_true", help="put the endless-loop sample in the class")
    parser.add_argument("--no-fork-server", action="store_true", help="grade with plain kernels (for comparison)")
    parser.add_argument("--keep", type=Path, help="keep the class and the batch output here")
    args = parser.parse_args(argv)

    import torch

    from grader.sandbox.isolation import detect

    isolation = detect("auto")
    print(
        f"machine: {os.cpu_count()} cores, load {loadavg()}; python {sys.version.split()[0]}, torch {torch.__version__}"
    )
    print(f"grader's isolation: {isolation.label}")
    with work_folder(args.keep, "grader-bench-") as work:
        if args.only_warm:
            warm_report(SAMPLES / "correct.ipynb", args.warm or 3)
            return 0
        if args.only_kernels:
            kernel_report(SAMPLES / "correct.ipynb", args.kernels or 10)
            return 0
        paths = make_class(args.n, work / "class", args.with_timeouts)
        print(f"class: {len(paths)} submissions of neural-net-basics in {work / 'class'}")
        extra = ["--no-fork-server"] if args.no_fork_server else []
        plain_total, grader_total, plain_each = 0.0, 0.0, []
        sides = ["plain", "grader", "grader", "plain"] if args.order == "abba" else ["plain", "grader"]
        runs = 0
        for side in sides:
            if side == "plain":
                total, each, errors = plain_nbclient(paths)
                plain_total += total
                plain_each += each
                print(
                    f"  plain nbclient, {len(paths)} notebooks one after another: {total:7.1f} s "
                    f"({total / len(paths):.2f} s each; {errors} stopped at an error)  [load {loadavg()}]",
                    flush=True,
                )
            else:
                runs += 1
                total, line = grader_batch(work / "class", work / f"out{runs}", args.workers, extra)
                grader_total += total
                print(
                    f"  grader batch, {len(paths)} submissions:                  {total:7.1f} s "
                    f"({total / len(paths):.2f} s each)  [load {loadavg()}]  {line}",
                    flush=True,
                )
        ratio = grader_total / plain_total
        target = 1 / 8 if args.n <= 20 else 1 / 25
        print(
            f"batch ratio (grader batch / plain nbclient, {len(sides) // 2} run(s) each): {ratio:.3f}  "
            f"(= 1/{1 / ratio:.1f}; target <= 1/{1 / target:.0f})"
        )

        results = verdicts(work / "out1")
        stages: dict[str, list[float]] = {}
        for r in results:
            for key, value in (r.get("timings") or {}).items():
                stages.setdefault(key, []).append(value)
        render, db = render_and_db(results)
        print("grader's time per submission by stage (mean over the batch's verdicts; workers run in parallel):")
        for key in ("kernel_start", "cells", "checks"):
            values = stages.get(key, [])
            if values:
                print(
                    f"  {key:<13} {statistics.mean(values):6.3f} s   (median {statistics.median(values):.3f}, "
                    f"max {max(values):.3f}, {len(values)} submissions)"
                )
        print(f"  {'rendering':<13} {render:6.3f} s   (feedback HTML + results JSON, timed again here)")
        print(f"  {'database':<13} {db:6.3f} s   (one gradebook transaction, timed again here)")
        execs = [r.get("execution_time", 0.0) for r in results]
        print(f"  {'whole grade()':<13} {statistics.mean(execs):6.3f} s   (Result.execution_time)")
        print(
            f"plain nbclient per notebook: mean {statistics.mean(plain_each):.2f} s, median "
            f"{statistics.median(plain_each):.2f} s"
        )

        if args.single:
            correct = SAMPLES / "correct.ipynb"
            if not correct.is_file():
                correct = paths[0]
            plain, check = single(correct, args.single)
            mp, mc = statistics.median(plain), statistics.median(check)
            print(f"single submission ({correct.name}), {args.single} fresh processes each, alternating:")
            print(f"  plain nbclient: {', '.join(f'{t:.2f}' for t in plain)} s  (median {mp:.2f})")
            print(f"  grader check:   {', '.join(f'{t:.2f}' for t in check)} s  (median {mc:.2f})")
            print(
                f"single ratio (grader check --no-server, cold / plain nbclient, medians): {mc / mp:.3f}  "
                "(target <= 0.5)"
            )
        if args.kernels:
            kernel_report(SAMPLES / "correct.ipynb", args.kernels)
        if args.warm:
            warm_report(SAMPLES / "correct.ipynb" if (SAMPLES / "correct.ipynb").is_file() else paths[0], args.warm)
        print(f"load at the end: {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
