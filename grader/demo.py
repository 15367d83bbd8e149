"""`make demo`: grade the bundled sample class with `grader batch` and say where to look.

Builds demo-output/class/ from the sample submissions of neural-net-basics (one notebook per
student, named for what it shows), grades it into demo-output/ and prints each verdict. A second
run grades nothing: every verdict is already in the gradebook (`--regrade` grades all again).
"""
from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

from grader.course import assignments_dir, is_assignment_dir

ROOT = Path(__file__).resolve().parent.parent
SLUG = "neural-net-basics"


def build_class(dest: Path) -> tuple[Path, int]:
    """Copy the samples into `dest` as <name>.ipynb; return the assignment folder and the class size."""
    samples = sorted((ROOT / "tests" / "submissions" / SLUG).glob("*.ipynb"))
    assignment = assignments_dir(ROOT) / SLUG
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if samples and is_assignment_dir(assignment):
        for sample in samples:
            shutil.copyfile(sample, dest / sample.name)
        return assignment, len(samples)
    # a checkout without the sample class: the batch tests' class of tiny-tensors
    import importlib.util

    fixture = ROOT / "tests" / "fixtures" / "batch"
    spec = importlib.util.spec_from_file_location("batch_make_class", fixture / "make_class.py")
    if spec is None or spec.loader is None or not fixture.is_dir():
        raise SystemExit("grader demo: no sample class found (tests/submissions/neural-net-basics is missing)")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return assignments_dir(fixture) / "tiny-tensors", len(module.make_class(dest))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "demo-output", help="where the demo writes (default: demo-output/)")
    parser.add_argument("--regrade", action="store_true", help="grade every sample again")
    parser.add_argument("--workers", type=int, default=None, help="local workers (default: the number of cores, plus one)")
    args = parser.parse_args(argv)

    from grader.batch.run import BatchConfig, run_batch
    from grader.errors import GraderError

    out: Path = args.out.resolve()
    class_dir = out / "class"
    assignment, size = build_class(class_dir)
    print(f"The sample class: {size} submissions in {class_dir}")
    print(f"$ grader batch {_rel(class_dir)} --assignment {_rel(assignment)} --out {_rel(out)}"
          + (" --regrade" if args.regrade else ""), flush=True)
    try:
        summary = run_batch(BatchConfig(class_dir, assignment, out, workers=args.workers, regrade=args.regrade))
    except GraderError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print()
    with open(out / "grades.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    width = max((len(r["student"]) for r in rows), default=10)
    print(f"{'student':<{width}}  {'score':>9}  status")
    for row in rows:
        score = f"{float(row['total']):g}/{float(row['max_score']):g}" if row.get("total") else "-"
        print(f"{row['student']:<{width}}  {score:>9}  {row['status']}")
    print()
    print(f"graded {summary.graded} now, {summary.skipped} already in the gradebook, in {summary.seconds:.1f} s")
    print(f"class report:   {summary.report}")
    print(f"feedback pages: {out / 'feedback'}/<student>.html")
    print(f"grades:         {summary.csv}")
    print(f"gradebook:      {summary.gradebook}")
    return summary.exit_code


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
