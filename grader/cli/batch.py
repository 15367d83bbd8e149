"""`grader batch`: grade a whole class (argument parsing only; the work is in grader.batch.run)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.cli.options import add_grading_options, grading_options

BATCH_EPILOG = (
    "Exit status: 0 the batch completed, whatever the students scored; 2 the grader could not run "
    "(bad arguments, a broken assignment, an unreachable database or scheduler), or some submissions "
    "could not be graded at all (stderr says what to do, then run the batch again to grade just those)."
)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "batch",
        help="grade a whole class into a gradebook, grades.csv and a class report",
        epilog=BATCH_EPILOG,
        description="Grade every submission in SUBMISSIONS (a folder with one notebook or one folder per "
        "student, or a .zip of either) and write the gradebook, grades.csv, results/, feedback/ "
        "and report.html into --out. Verdicts already in the gradebook are not graded again.",
    )
    p.add_argument(
        "submissions",
        type=Path,
        metavar="SUBMISSIONS",
        help="folder (or .zip) of notebooks <student>.ipynb or folders <student>/",
    )
    p.add_argument(
        "--assignment", type=Path, metavar="DIR", required=True, help="the assignment folder (holds assignment.toml)"
    )
    p.add_argument(
        "--out", type=Path, metavar="DIR", required=True, help="where the gradebook, CSV, JSON, feedback and report go"
    )
    _add_running_options(p)
    _add_time_options(p)
    p.add_argument(
        "--student",
        action="append",
        metavar="ID",
        dest="students",
        help="grade only this student (repeatable); the class's files still cover everyone",
    )
    add_grading_options(p)
    p.set_defaults(func=cmd_batch)


def _add_running_options(p: argparse.ArgumentParser) -> None:
    """Where the batch grades and keeps its gradebook, and what it grades again: --workers, --db,
    --scheduler, --regrade, --keep-stale."""
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="submissions graded at once on this machine (default: the number of cores, plus one)",
    )
    p.add_argument(
        "--db",
        metavar="URL",
        help="the gradebook's SQLAlchemy URL (default: sqlite:///OUT/gradebook.sqlite), "
        "e.g. postgresql+psycopg://user@host/course",
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="grade on the Dask cluster of this scheduler (tcp://host:8786)"
    )
    p.add_argument(
        "--regrade", action="store_true", help="grade every submission again, replacing verdicts in the gradebook"
    )
    p.add_argument(
        "--keep-stale",
        action="store_true",
        help="keep verdicts made with other checks (they are regraded by default); "
        "grades.csv and the report mark them stale",
    )


def _add_time_options(p: argparse.ArgumentParser) -> None:
    """Where the submissions came from and when: --lms, --submitted-at, --extensions, --times-from-mtime."""
    p.add_argument(
        "--lms",
        choices=["auto", "canvas", "moodle", "none"],
        default="auto",
        help="the LMS whose download SUBMISSIONS is: Canvas's bulk download, Moodle's 'download all "
        "submissions', none (file and folder names are student ids), or auto (default: by the names)",
    )
    p.add_argument(
        "--submitted-at",
        type=Path,
        metavar="FILE",
        help="CSV student,submitted_at (ISO 8601 with a time zone): when each came in, where neither the "
        "LMS nor nbgrader's timestamp.txt says",
    )
    p.add_argument(
        "--extensions",
        type=Path,
        metavar="FILE",
        help="CSV student,due (ISO 8601 with a time zone): students whose deadline was moved",
    )
    p.add_argument(
        "--times-from-mtime",
        action="store_true",
        help="take a submission's time from its notebook file's modification time where nothing better says",
    )


def _stale_note(stale: int, keep: bool) -> str:
    """How many verdicts were made with other checks, and what became of them."""
    if not stale:
        return ""
    return f"; {stale} made with other checks: " + ("kept, marked stale" if keep else "graded again")


def cmd_batch(args: argparse.Namespace) -> int:
    from grader.batch.gradebook import safe_url
    from grader.batch.recorder import grader_error_advice
    from grader.batch.run import BatchConfig, counted, run_batch
    from grader.batch.stamps import TimeSources
    from grader.errors import UsageError

    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.workers is not None and args.scheduler:
        raise UsageError(
            "--workers and --scheduler do not go together",
            hint="a cluster's size is set by its workers (dask worker --nworkers N)",
        )
    if args.times_from_mtime and args.submissions.is_file():
        raise UsageError(
            "--times-from-mtime reads the files' times, which a .zip does not keep as they were",
            hint="unzip the download (keeping its times) and pass the folder, or give --submitted-at FILE",
        )
    for flag, path in (("--submitted-at", args.submitted_at), ("--extensions", args.extensions)):
        if path is not None and not path.is_file():
            raise UsageError(f"{flag} {path}: no such file", hint="give a CSV file (header: student,...)")
    options = grading_options(args)
    times = TimeSources(submitted_at=args.submitted_at, extensions=args.extensions, from_mtime=args.times_from_mtime)
    config = BatchConfig(
        submissions=args.submissions,
        assignment_dir=args.assignment,
        out=args.out,
        workers=args.workers,
        db=args.db,
        scheduler=args.scheduler,
        regrade=args.regrade,
        keep_stale=args.keep_stale,
        options=options,
        lms=args.lms,
        times=times,
        students=frozenset(args.students) if args.students else None,
    )
    summary = run_batch(config, log=sys.stderr)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.statuses.items())) or "none"
    print(
        f"graded {summary.graded} of {counted(summary.students, 'submission')} in {summary.seconds:.1f} s "
        f"({summary.skipped} already in the gradebook{_stale_note(summary.stale, args.keep_stale)}); "
        f"new verdicts: {counts}"
    )
    if summary.grader_errors:
        print(
            f"{counted(len(summary.grader_errors), 'submission')} could not be graded "
            "(the grader failed, not the student):",
            file=sys.stderr,
        )
        for student, reason in summary.grader_errors.items():
            print(f"  {student}: {reason.splitlines()[0] if reason else ''}", file=sys.stderr)
        for advice in grader_error_advice(summary.grader_errors):
            print(advice, file=sys.stderr)
    print(f"gradebook: {safe_url(summary.gradebook)}")
    print(f"grades:    {summary.csv}")
    print(f"report:    {summary.report}")
    return summary.exit_code
