"""`grader similarity`: the pairs of a class that share code, from the fingerprints in its
gradebook (argument parsing and printing only; the work is in grader.similarity)."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = (
    "The shares describe: 'these two share 82%% of their own code' is a reason to look at the two side by "
    "side, never a verdict (docs/similarity.md). Exit status: 0 the comparison ran, whatever it found; "
    "2 it could not run (no such assignment or gradebook)."
)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "similarity",
        help="pairs of students whose own code matches, with the evidence",
        epilog=EPILOG,
        description="Compare every pair of the class in the gradebook on their own code (what they "
        "wrote beyond what was handed out) and list the pairs above the threshold of "
        "[similarity] in assignment.toml, with the share of each side's code that matches.",
    )
    p.add_argument("assignment", type=Path, metavar="ASSIGNMENT", help="the assignment folder (holds assignment.toml)")
    p.add_argument(
        "--gradebook",
        metavar="G",
        required=True,
        help="the class's gradebook: a SQLAlchemy URL, a gradebook.sqlite, or a batch's --out folder",
    )
    p.add_argument(
        "--earlier",
        metavar="DIR",
        action="append",
        default=[],
        help="an earlier term's gradebook (same forms) to compare with; may be given several times",
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help='write the pairs as JSON: [{"a", "b", "a_share", "b_share", "exercise"}, ...]',
    )
    p.add_argument("--html", type=Path, metavar="FILE", help="write the pairs side by side as an HTML page")
    p.set_defaults(func=cmd_similarity)


def gradebook_url(text: str) -> str:
    from grader.batch.gradebook import SQLITE_FILE
    from grader.errors import UsageError

    if "://" in text:
        return text
    path = Path(text)
    if path.is_dir():
        path = path / SQLITE_FILE
    if not path.is_file():
        raise UsageError(
            f"no gradebook at {text}",
            hint="give a database URL, a gradebook.sqlite, or the --out folder of a grader batch",
        )
    return f"sqlite:///{path.resolve()}"


def cmd_similarity(args: argparse.Namespace) -> int:
    from grader.batch.gradebook import Gradebook
    from grader.course import load_assignment
    from grader.similarity import store
    from grader.similarity.compare import compare
    from grader.similarity.classwide import earlier_prints
    from grader.similarity.view import page, pairs_json, sentence

    assignment = load_assignment(args.assignment)
    book = Gradebook(gradebook_url(args.gradebook))
    earlier = [Gradebook(gradebook_url(e)) for e in args.earlier]
    try:
        current = store.read(book, assignment.slug)
        missing = len({s for s, _ in book.graded(assignment.slug)} - {p.student for p in current})
        found = compare(current, assignment.similarity, earlier_prints(assignment, earlier))
    finally:
        for b in [book, *earlier]:
            b.close()
    print(
        f"{found.students} submissions of {assignment.slug} compared"
        + (f" with {found.earlier} of earlier terms" if found.earlier else "")
        + f"; {len(found.whole())} pairs share {found.config.threshold:.0%} or more of their own code"
    )
    if missing:
        print(
            f"note: {missing} graded students have no fingerprints (graded before they were kept): "
            "run the same grader batch again to add them"
        )
    for pair in found.whole():
        print(f"  {pair.a.label} and {pair.b.label}: {sentence(pair)}")
    for group in found.clusters:
        print(f"  group of {len(group)}: {', '.join(group)} share code with one another")
    for exercise, students in found.too_short.items():
        print(
            f"  {exercise}: {len(students)} answers too short to be evidence (fewer than "
            f"{found.config.min_tokens} tokens), left out"
        )
    if args.json:
        args.json.write_text(pairs_json(found), encoding="utf-8")
        print(f"json:   {args.json}")
    if args.html:
        args.html.write_text(page(assignment.title, found), encoding="utf-8")
        print(f"html:   {args.html}")
    return 0
