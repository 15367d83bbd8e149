"""What the sandbox costs: grade one clean submission N times with bubblewrap and without.

    python benchmarks/sandbox_overhead.py [-n 5] [--assignment DIR] [--notebook FILE]

Runs alternate (sandboxed, limits only, sandboxed, ...) so that a machine busy with something
else slows both alike. Prints each pair, the median of the per-pair ratios and the ratio of
the medians. The target is <= 1.2x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLEAN = [
    "import torch",
    "def activation(x):\n    return 1 / (1 + torch.exp(-x))",
    "def reshape_weights(w, rows, cols):\n    return w.view(rows, cols)",
]


def clean_notebook(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CLEAN]
    path = folder / "clean.ipynb"
    nbformat.write(nb, str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="pairs of runs (default 5)")
    parser.add_argument("--assignment", type=Path, default=ROOT / "tests" / "fixtures" / "assignments" / "mini")
    parser.add_argument("--notebook", type=Path, help="the submission (default: a clean one for the mini assignment)")
    parser.add_argument(
        "--no-fork-server",
        action="store_true",
        help="a plain kernel per submission instead of the default (forked kernels)",
    )
    args = parser.parse_args(argv)

    from grader.course import load_assignment
    from grader.grade import Options, grade
    from grader.sandbox.isolation import detect

    import dataclasses

    extra = (
        {"fork_server": False}
        if args.no_fork_server and "fork_server" in {f.name for f in dataclasses.fields(Options)}
        else {}
    )
    sandboxed = detect("auto")
    if not sandboxed.sandboxed:
        print(f"no sandbox here: {sandboxed.label}", file=sys.stderr)
        return 2
    assignment = load_assignment(args.assignment)
    with tempfile.TemporaryDirectory() as tmp:
        notebook = args.notebook or clean_notebook(Path(tmp))

        def once(mode: str) -> float:
            started = time.perf_counter()
            result = grade(notebook, assignment, Options(sandbox=mode, **extra))
            seconds = time.perf_counter() - started
            if not result.passed:
                raise SystemExit(
                    f"the clean submission did not pass under sandbox={mode}: {result.score}/{result.max_score}"
                )
            return seconds

        once("auto"), once("none")  # warm both paths (imports, page cache, fork servers)
        pairs = []
        for i in range(args.n):
            first, second = ("auto", "none") if i % 2 == 0 else ("none", "auto")
            times = {first: once(first)}
            times[second] = once(second)
            pairs.append((times["auto"], times["none"]))
            print(
                f"run {i + 1}: sandbox {times['auto']:.2f} s, limits only {times['none']:.2f} s, "
                f"ratio {times['auto'] / times['none']:.2f}",
                flush=True,
            )
    ratios = [a / b for a, b in pairs]
    med_auto = statistics.median(a for a, _ in pairs)
    med_none = statistics.median(b for _, b in pairs)
    print(f"median sandbox {med_auto:.2f} s, median limits only {med_none:.2f} s")
    print(
        f"median ratio {statistics.median(ratios):.3f}x (ratio of medians {med_auto / med_none:.3f}x; target <= 1.2x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
