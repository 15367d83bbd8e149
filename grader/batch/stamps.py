"""What a batch learns about each submission besides its notebook: when it came in (in order of
trust: nbgrader's timestamp.txt, then `--submitted-at`, then, only when asked, the file's mtime;
else Canvas's late marker or "unknown"), the student's extension, and who the LMS says sent it.
See grader.policy.submitted for what a verdict records."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from grader.batch.classfolder import Entry
from grader.lms.students import StudentIds, read_student_times
from grader.policy.submitted import UNKNOWN, Stamp, read_timestamp, stamp_of

if TYPE_CHECKING:
    from grader.batch.gradebook import StoredVerdict

__all__ = ["TimeSources", "keep_recorded", "kept_stamps", "stamps_for", "unknown_note"]

# where a time comes from that only a flag of the batch reads: a run without that flag keeps it
FROM_A_FLAG = {"--submitted-at": "submitted_at", "mtime": "from_mtime"}


@dataclass(frozen=True)
class TimeSources:
    """grader batch's --submitted-at, --extensions and --times-from-mtime."""

    submitted_at: Path | None = None
    extensions: Path | None = None
    from_mtime: bool = False


def _folders(entry: Entry) -> list[Path]:
    """Where an nbgrader timestamp.txt may be: beside the notebook, up to the student's folder."""
    if entry.path is None or entry.submission is None or not entry.submission.is_dir():
        return []
    folders, here = [], entry.path.parent
    while here.is_relative_to(entry.submission):
        folders.append(here)
        if here == entry.submission:
            break
        here = here.parent
    return folders


def _when(entry: Entry, listed: dict[str, datetime], from_mtime: bool) -> tuple[datetime | None, str]:
    for folder in _folders(entry):
        found = read_timestamp(folder)
        if found is not None:
            return found, "timestamp.txt"
    if entry.student in listed:
        return listed[entry.student], "--submitted-at"
    if from_mtime and entry.path is not None:
        return datetime.fromtimestamp(entry.path.stat().st_mtime, tz=timezone.utc), "mtime"
    if entry.lms is not None and entry.lms.late is not None:
        return None, f"{entry.lms.lms} LATE" if entry.lms.late else entry.lms.lms
    return None, UNKNOWN


def stamps_for(entries: list[Entry], sources: TimeSources) -> dict[str, Stamp]:
    """A Stamp per student of `entries`; a CSV naming someone not in the class is a UsageError (exit 2)."""
    ids = StudentIds.of([(e.student, e.lms.lms_id if e.lms else "") for e in entries])
    listed = (
        read_student_times(sources.submitted_at, "submitted_at", "--submitted-at", ids) if sources.submitted_at else {}
    )
    extended = read_student_times(sources.extensions, "due", "--extensions", ids) if sources.extensions else {}
    out: dict[str, Stamp] = {}
    for entry in entries:
        when, source = _when(entry, listed, sources.from_mtime)
        due = extended.get(entry.student)
        who = entry.lms
        out[entry.student] = Stamp(
            submitted_at=when.isoformat() if when else "",
            submitted_from=source,
            due=due.isoformat() if due else "",
            lms=who.lms if who else "",
            lms_id=who.lms_id if who else "",
            display_name=who.display_name if who else "",
        )
    return out


def keep_recorded(stamp: Stamp, recorded: Stamp | None, sources: TimeSources) -> Stamp:
    """`stamp` (this run's), with what the verdict already recorded from a source this run was not
    given: a time read from --submitted-at or from the file's mtime, a due time from --extensions.
    A re-run or a regrade from the desk without those flags so keeps the late penalty; a run that
    gives the flag says anew (a student it no longer lists loses the time or the extension)."""
    if recorded is None:
        return stamp
    flag = FROM_A_FLAG.get(recorded.submitted_from)
    if not stamp.submitted_at and recorded.submitted_at and flag is not None and not getattr(sources, flag):
        stamp = replace(stamp, submitted_at=recorded.submitted_at, submitted_from=recorded.submitted_from)
    if not stamp.due and recorded.due and sources.extensions is None:
        stamp = replace(stamp, due=recorded.due)
    return stamp


def kept_stamps(
    stamps: dict[str, Stamp], verdicts: dict[tuple[str, str], "StoredVerdict"], sources: TimeSources
) -> dict[str, Stamp]:
    """`stamps` with what `verdicts` (the gradebook's, of these submissions) recorded that this run
    was not given (keep_recorded)."""
    recorded = {student: stamp_of(stored.result) for (student, _sha), stored in verdicts.items()}
    return {student: keep_recorded(stamp, recorded.get(student), sources) for student, stamp in stamps.items()}


def unknown_note(stamps: dict[str, Stamp]) -> str:
    """A line for the batch's log when some submissions' times are unknown (so not penalised), or ""."""
    unknown = sorted(
        s for s, stamp in stamps.items() if not stamp.submitted_at and stamp.submitted_from in (UNKNOWN, "canvas LATE")
    )
    if not unknown:
        return ""
    shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
    return (
        f"{len(unknown)} submission(s) came in at an unknown time and get no late penalty: {shown}; "
        "give their times with --submitted-at FILE (student,submitted_at)"
    )
