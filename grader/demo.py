"""`make demo`: grade the bundled sample classes with `grader batch` and say where to look.

For each bundled assignment with sample submissions (neural-net-basics: functions to write;
forward-pass: answers in top-level cells, run again on new data; digits: a trained classifier,
each sample a folder with its notebook and checkpoint), builds demo-output/<slug>/class/
(one notebook or folder per student, named for what it shows), grades it into
demo-output/<slug>/ and prints each verdict (forward-pass's two written questions show as
waiting for a grader). A second run grades nothing: every verdict is already in the gradebook
(`--regrade` grades all again).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.course import assignments_dir, is_assignment_dir

ROOT = Path(__file__).resolve().parent.parent
SLUGS = ("neural-net-basics", "forward-pass", "digits")


@dataclass(frozen=True)
class SampleClass:
    """One assignment's sample submissions, and where the demo grades them."""

    slug: str
    assignment: Path
    samples: tuple[Path, ...]


def sample_classes(root: Path = ROOT) -> list[SampleClass]:
    """The bundled assignments that have sample submissions, in SLUGS order."""
    found = []
    for slug in SLUGS:
        folder = root / "tests" / "submissions" / slug
        samples = tuple(
            sorted([*folder.glob("*.ipynb"), *(p for p in folder.glob("*") if p.is_dir() and any(p.glob("*.ipynb")))])
        )
        assignment = assignments_dir(root) / slug
        if samples and is_assignment_dir(assignment):
            found.append(SampleClass(slug, assignment, samples))
    return found


def fresh(dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    return dest


def build_class(sample_class: SampleClass, dest: Path) -> int:
    """Copy the samples into `dest` (<name>.ipynb, or <name>/ with the notebook and its files);
    return the class size."""
    fresh(dest)
    for sample in sample_class.samples:
        if sample.is_dir():
            shutil.copytree(sample, dest / sample.name, ignore=shutil.ignore_patterns("__pycache__", ".*"))
        else:
            shutil.copyfile(sample, dest / sample.name)
    return len(sample_class.samples)


def fallback_class(dest: Path) -> tuple[Path, int]:
    """A checkout without the sample classes: the batch tests' class of tiny-tensors."""
    import importlib.util

    fixture = ROOT / "tests" / "fixtures" / "batch"
    spec = importlib.util.spec_from_file_location("batch_make_class", fixture / "make_class.py")
    if spec is None or spec.loader is None or not fixture.is_dir():
        raise SystemExit("grader demo: no sample class found (tests/submissions/<assignment>/ is missing)")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh(dest)
    return assignments_dir(fixture) / "tiny-tensors", len(module.make_class(dest))


def grade_class(class_dir: Path, assignment: Path, out: Path, size: int, args: argparse.Namespace) -> int:
    """Grade one class with the batch and print its verdicts; the batch's exit status."""
    from grader.batch.run import BatchConfig, run_batch
    from grader.errors import GraderError

    print(f"The sample class of {assignment.name}: {size} submissions in {_rel(class_dir)}")
    print(
        f"$ grader batch {_rel(class_dir)} --assignment {_rel(assignment)} --out {_rel(out)}"
        + (" --regrade" if args.regrade else ""),
        flush=True,
    )
    try:
        summary = run_batch(BatchConfig(class_dir, assignment, out, workers=args.workers, regrade=args.regrade))
    except GraderError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print()
    print_verdicts(out / "grades.csv")
    print()
    print(f"graded {summary.graded} now, {summary.skipped} already in the gradebook, in {summary.seconds:.1f} s")
    print(f"class report:   {summary.report}")
    print(f"feedback pages: {out / 'feedback'}/<student>.html")
    print(f"grades:         {summary.csv}")
    print(f"gradebook:      {summary.gradebook}")
    if any(row.get("waiting") for row in _rows(out / "grades.csv")):
        print(
            "questions a person grades are waiting: grade them by question (docs/manual-grading.md), then "
            f"`grader release {_rel(assignment)} --gradebook {_rel(out)} --out {_rel(out / 'released')}`"
        )
    return summary.exit_code


def _rows(grades_csv: Path) -> list[dict[str, str]]:
    with open(grades_csv, newline="") as fh:
        return list(csv.DictReader(fh))


def print_verdicts(grades_csv: Path) -> None:
    rows = _rows(grades_csv)
    width = max((len(r["student"]) for r in rows), default=10)
    print(f"{'student':<{width}}  {'score':>9}  status")
    for row in rows:
        score = f"{float(row['total']):g}/{float(row['max_score']):g}" if row.get("total") else "-"
        waiting = f"  (waiting for a grader: {row['waiting'].replace('; ', ', ')})" if row.get("waiting") else ""
        print(f"{row['student']:<{width}}  {score:>9}  {row['status']}{waiting}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "demo-output", help="where the demo writes (default: demo-output/)"
    )
    parser.add_argument("--regrade", action="store_true", help="grade every sample again")
    parser.add_argument(
        "--workers", type=int, default=None, help="local workers (default: the number of cores, plus one)"
    )
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    classes = sample_classes()
    if not classes:
        assignment, size = fallback_class(out / "class")
        return grade_class(out / "class", assignment, out, size, args)
    codes = []
    for number, sample_class in enumerate(classes):
        if number:
            print("\n" + "-" * 72 + "\n")
        where = out / sample_class.slug
        size = build_class(sample_class, where / "class")
        codes.append(grade_class(where / "class", sample_class.assignment, where, size, args))
    print_desk_command(out / classes[0].slug)
    return max(codes)


def print_desk_command(where: Path) -> None:
    """The one command that opens the instructor's desk on the first class's gradebook."""
    print("\n" + "-" * 72 + "\n")
    print("Review, adjust and regrade the class in the browser (the instructor's desk, docs/desk.md):")
    grader = Path(sys.executable).parent / "grader"  # the venv's, which works without activating it
    command = _rel(grader) if grader.exists() else "grader"
    print(f"    {command} serve {_rel(where)} --course {_rel(ROOT)} --submissions {_rel(where / 'class')}")


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
