"""`grader batch` as a class grows: time per submission at 100 and at 1,000, and a re-run with nothing to do.

    python benchmarks/scale.py [--small 100] [--large 1000] [--workers N] [--keep DIR]

1. Makes a class of --small and one of --large submissions of neural-net-basics, the same mix
   as bench.py's (mostly right, some partly right, some broken), each a student of its own.
2. Grades the small class, then the large one, each with `grader batch` (the CLI, its defaults:
   sandboxed, every check, results, feedback, grades.csv, report.html, the SQLite gradebook)
   into a fresh folder, and prints the time per submission of each and their ratio (target:
   the large class's within 1.1x of the small one's).
3. Runs the same `grader batch` command over the fully graded large class again: every
   submission is in the gradebook already, so it grades nothing, but reads every notebook (its
   sha256 is its key), asks the gradebook and writes grades.csv and report.html again (target:
   under 5 s).

Both batches run in this one invocation, one after the other; the load average is printed at
each step (this machine's two cores are shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import grader_batch, loadavg, make_class, work_folder  # benchmarks/ is not a package


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {loadavg()}; python {sys.version.split()[0]}")
    with work_folder(args.keep, "grader-scale-") as work:
        per: dict[int, float] = {}
        for n in (args.small, args.large):
            folder, out = work / f"class-{n}", work / f"out-{n}"
            for path in (folder, out):
                if path.exists():
                    shutil.rmtree(path)
            make_class(n, folder, with_timeouts=False)
            seconds, line = grader_batch(folder, out, args.workers, [])
            per[n] = seconds / n
            print(
                f"  grader batch, {n:>5} submissions: {seconds:7.1f} s ({per[n]:.3f} s each)  "
                f"[load {loadavg()}]  {line}"
            )
        ratio = per[args.large] / per[args.small]
        print(f"time per submission, {args.large} / {args.small}: {ratio:.3f}  (target <= 1.1)")
        folder, out = work / f"class-{args.large}", work / f"out-{args.large}"
        seconds, line = grader_batch(folder, out, args.workers, [], fresh=False)
        print(
            f"  grader batch again over the graded {args.large} (nothing to do): {seconds:.2f} s  (target < 5)  "
            f"[load {loadavg()}]  {line}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
