"""The similarity check's cost: fingerprints in a batch, and all pairs of a class of 1,000.

    .venv/bin/python benchmarks/similarity.py                     # 1,000 to compare, a batch of 60 (abba)
    .venv/bin/python benchmarks/similarity.py --n 1000 --batch 0  # the comparison only

1. **The class**: N submissions of digits, each a student's folder (digits.ipynb and the master's
   model.pt), with answers in one of ten Dataset and ten network styles (tests/submissions/
   similarity_answers.py) and scratch cells of the student's own (about 150 lines, drawn from a
   seeded generator: loops, prints, tensor arithmetic, with numbers and structure of their own),
   so that each notebook is a few hundred lines; one in fifty hands in a copy of another's.
2. **Fingerprints in the batch**: `grader batch` (in this process, its workers forked as usual)
   over the first --batch of the class, once without fingerprints (grader.similarity's record
   and the report's section replaced by nothing) and once with, in the order abba; the time the
   batch spent making and writing fingerprints is measured inside the with-runs too.
3. **All pairs**: every submission fingerprinted (as a batch's record does, without the
   gradebook), then compared (grader.similarity.compare) and the report's section rendered.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "submissions"))
SLUG = "digits"
MODEL = ROOT / "tests" / "submissions" / "digits" / "master_full_marks" / "model.pt"


def scratch(rng: random.Random, lines: int) -> list[str]:
    """Cells of a student's own exploratory code: seeded, of their own shape and numbers."""
    names = [f"{rng.choice('abcdefghxyz')}{rng.choice(['', '_1', 's', '_tmp', '_val'])}" for _ in range(8)]
    cells, body = [], []
    while sum(len(c.splitlines()) for c in cells) < lines:
        v, w = rng.sample(names, 2)
        kind = rng.randrange(6)
        if kind == 0:
            body.append(
                f"{v} = data['images'][{rng.randrange(500)}:{rng.randrange(500, 1000)}]"
                f".float().mean({rng.choice(['', 'dim=0', 'dim=1'])})"
            )
        elif kind == 1:
            body.append(
                f"print({rng.choice(['shape', 'value', 'check', 'here'])!r}, {v}, {w} * {rng.randrange(2, 99)})"
            )
        elif kind == 2:
            body += [f"for i in range({rng.randrange(2, 30)}):", f"    {v} = {v} + i * {rng.random():.3f}"]
        elif kind == 3:
            body.append(
                f"{w} = torch.{rng.choice(['zeros', 'ones', 'randn', 'rand'])}"
                f"({rng.randrange(1, 9)}, {rng.randrange(1, 65)})"
            )
        elif kind == 4:
            body += [
                f"if {v} is not None and {rng.randrange(100)} > {rng.randrange(100)}:",
                f"    {w} = {v} ** {rng.randrange(2, 4)}",
            ]
        else:
            body.append(f"{v} = {w}.{rng.choice(['sum', 'max', 'min', 'std'])}() / {rng.randrange(1, 255)}")
        if len(body) >= rng.randrange(8, 25):
            cells.append("\n".join(body))
            body = []
    return cells


def make_class(folder: Path, n: int, seed: int = 7) -> list[Path]:
    import nbformat

    from make_similarity import filled
    from similarity_answers import d_student

    rng = random.Random(seed)
    made: list[Path] = []
    for i in range(n):
        student = folder / f"s{i:04d}"
        student.mkdir(parents=True)
        if i % 50 == 49:  # a copy of an earlier student's folder
            source = made[rng.randrange(len(made))]
            shutil.copy(source / f"{SLUG}.ipynb", student / f"{SLUG}.ipynb")
        else:
            answers = d_student(rng.randrange(10))
            answers[3] = d_student(rng.randrange(10))[3]
            nb = filled(SLUG, answers)
            for code in scratch(rng, rng.randrange(120, 180)):
                nb.cells.append(nbformat.v4.new_code_cell(code))
            nbformat.write(nb, str(student / f"{SLUG}.ipynb"))
        shutil.copy(MODEL, student / "model.pt")
        made.append(student)
    return made


WRAPPER = """
import sys, time
import grader.batch.run as run
import grader.similarity.classwide as classwide
from grader.cli.main import main
spent = [0.0, 0.0]
original = classwide.record
def timed(*args, **kwargs):
    t, c = time.perf_counter(), time.process_time()
    try:
        return original(*args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - t
        spent[1] += time.process_time() - c
if sys.argv[1] == "with":
    classwide.record = timed
else:
    classwide.record = lambda *a, **k: True
    run.similarity_section = lambda *a, **k: ""
code = main(sys.argv[2:])
print(f"FINGERPRINTS {spent[0]} {spent[1]}", file=sys.stderr)
sys.exit(code)
"""


class TreeCPU:
    """CPU seconds of a process and all its descendants (the batch, its workers, the zygote and the
    kernels forked from it, whoever reaps them): /proc read every 0.1 s, each process's last
    reading kept. A process that lives less than 0.1 s may be missed: the figure is a lower bound,
    so the share of it spent on fingerprints is an upper bound."""

    def __init__(self, root: int) -> None:
        import threading

        self.root, self.seen, self.stop = root, dict[int, float](), threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.tick = os.sysconf("SC_CLK_TCK")

    def sample(self) -> None:
        parents, cpu = {}, {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            parents[int(name)] = int(fields[1])
            cpu[int(name)] = (int(fields[11]) + int(fields[12])) / self.tick
        for pid in cpu:
            at, hops = pid, 0
            while at not in (0, 1) and at != self.root and hops < 64:
                at, hops = parents.get(at, 0), hops + 1
            if at == self.root:
                self.seen[pid] = cpu[pid]

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.sample()

    def __enter__(self) -> "TreeCPU":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def total(self) -> float:
        return sum(self.seen.values())


def batch_once(classdir: Path, out: Path, fingerprints: bool) -> tuple[float, float, float, float]:
    """(the batch's wall seconds, of which in making and writing fingerprints; the CPU seconds of
    the batch and everything it started, of which in fingerprints): `grader batch` in a process of
    its own."""
    import subprocess

    args = [
        sys.executable,
        "-c",
        WRAPPER,
        "with" if fingerprints else "without",
        "batch",
        str(classdir),
        "--assignment",
        str(ROOT / "assignments" / SLUG),
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    with TreeCPU(proc.pid) as tree:
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    assert os.waitstatus_to_exitcode(status) == 0, err[-2000:]
    inside = [float(x) for x in err.rsplit("FINGERPRINTS ", 1)[1].split()]
    return wall, inside[0], max(tree.total, usage.ru_utime + usage.ru_stime), inside[1]


def all_pairs(paths: list[Path]) -> None:
    from grader.course import load_assignment
    from grader.similarity.compare import compare
    from grader.similarity.fingerprint import fingerprint_path
    from grader.similarity.store import Prints
    from grader.similarity.view import render_section

    assignment = load_assignment(ROOT / "assignments" / SLUG)
    fingerprint_path(paths[0], assignment)  # imports and the released notebook, once
    t = time.perf_counter()
    prints = [Prints(p.name, "-", tuple(fingerprint_path(p, assignment))) for p in paths]
    made = time.perf_counter() - t
    tokens = sum(part.tokens for p in prints for part in p.parts) / len(prints)
    t = time.perf_counter()
    found = compare(prints, assignment.similarity)
    compared = time.perf_counter() - t
    t = time.perf_counter()
    section = render_section(found)
    rendered = time.perf_counter() - t
    print(
        f"fingerprints: {len(paths)} submissions in {made:.2f} s ({1000 * made / len(paths):.1f} ms each, "
        f"{tokens:.0f} tokens of own code on average)"
    )
    print(
        f"all pairs:    {len(paths) * (len(paths) - 1) // 2} pairs compared in {compared:.2f} s; "
        f"{len(found.whole())} pairs at or above {found.config.threshold:.0%}, {len(found.clusters)} groups of 3+"
    )
    print(f"report:       the section rendered in {rendered:.2f} s ({len(section) // 1024} KiB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="submissions compared (default 1000)")
    parser.add_argument("--batch", type=int, default=60, help="submissions graded by each batch (0: no batch)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="grader-similarity-bench-"))
    try:
        paths = make_class(work / "class", max(args.n, args.batch))
        print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
        if args.batch:
            classdir = work / "batch-class"
            classdir.mkdir()
            for p in paths[: args.batch]:
                shutil.copytree(p, classdir / p.name)
            runs: dict[bool, list[tuple[float, float, float, float]]] = {False: [], True: []}
            for k, with_prints in enumerate((False, True, True, False)):
                runs[with_prints].append(batch_once(classdir, work / f"out{k}", with_prints))
                print(
                    f"  batch of {args.batch} {'with' if with_prints else 'without'} fingerprints: "
                    f"{runs[with_prints][-1][0]:.1f} s, {runs[with_prints][-1][2]:.1f} CPU-s "
                    f"(load {os.getloadavg()[0]:.2f})"
                )
            plain, full = sum(r[0] for r in runs[False]), sum(r[0] for r in runs[True])
            inside, cpu_all, cpu_in = (
                sum(r[1] for r in runs[True]),
                sum(r[2] for r in runs[True]),
                sum(r[3] for r in runs[True]),
            )
            print(
                f"batch:        with fingerprints {full / plain:.3f}x the time without (abba, {args.batch} each); "
                f"fingerprinting: {cpu_in / cpu_all:.1%} of the with-runs' CPU "
                f"({1000 * cpu_in / (2 * args.batch):.1f} ms "
                f"a submission of {1000 * cpu_all / (2 * args.batch):.0f}), {inside / full:.1%} of their wall time "
                f"({1000 * inside / (2 * args.batch):.1f} ms a submission)"
            )
        all_pairs(paths[: args.n])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
