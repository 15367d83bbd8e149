"""The desk's one service layer: what its pages and its /api both call. It reads the gradebook
(grader.batch), saves adjustments through grader.batch.adjustments, and rewrites the batch's
files (grades.csv, results/, feedback/, report.html) with the final grade after each change.
"""

from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from grader.batch.adjustments import Change, GradeVersion, save
from grader.batch.gradebook import SQLITE_FILE, Gradebook, GradebookError, safe_url
from grader.config import Assignment
from grader.desk.classlist import MistakeCache, read_class
from grader.desk.studentrow import StudentRow
from grader.errors import GraderError, UsageError

Role = Literal["instructor", "ta"]
WAIVER = "late penalty"  # the name of a waiver's adjustment (kind "late")


class NotFound(GraderError):
    """No such assignment or student in the gradebook."""

    exit_code = 1


@dataclass(frozen=True)
class User:
    name: str
    role: Role


@dataclass(frozen=True)
class AssignmentSummary:
    slug: str
    title: str
    students: int
    mean: float
    max_score: float
    pass_rate: float  # share of students whose verdict is "passed"
    last_graded: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "students": self.students,
            "mean": round(self.mean, 4),
            "max_score": self.max_score,
            "pass_rate": round(self.pass_rate, 4),
            "last_graded": self.last_graded.isoformat(timespec="seconds") if self.last_graded else None,
        }


def gradebook_url(target: str) -> tuple[str, Path | None]:
    """(the SQLAlchemy URL, the batch's --out folder or None) for GRADEBOOK as typed."""
    if "://" in target:
        if target.startswith("sqlite:///") and not Path(target.removeprefix("sqlite:///")).exists():
            raise UsageError(f"no gradebook at {target}", hint="give a batch's --out folder or the URL its --db named")
        return target, None
    folder = Path(target)
    if folder.is_file() and folder.suffix in (".sqlite", ".db"):
        return f"sqlite:///{folder.resolve()}", folder.resolve().parent
    if not (folder / SQLITE_FILE).is_file():
        raise UsageError(
            f"no gradebook in {folder} (no {SQLITE_FILE} there)",
            hint="give the --out folder of a `grader batch`, or the database URL its --db named",
        )
    return f"sqlite:///{(folder / SQLITE_FILE).resolve()}", folder.resolve()


class Desk:
    """The gradebook of a course, its assignments' folders, and the batch's output folder."""

    def __init__(self, target: str, course: Path, submissions: Path | None = None) -> None:
        self.url, self.out = gradebook_url(target)
        self.course, self.submissions = Path(course).resolve(), submissions
        try:
            self.book = Gradebook(self.url)
        except GradebookError as exc:
            raise UsageError(
                str(exc.message), hint="check the URL, that the server is up and that you may connect"
            ) from None
        self.cache = MistakeCache()
        self.configs: dict[str, Assignment] = {}
        self.write_lock = threading.Lock()
        self.rewriter: Any = None  # grader.desk.outputs.Rewriter, made on the first change
        self.rows: dict[str, tuple[str, list[StudentRow]]] = {}  # slug -> (stamp, the class)
        self.lists: dict[tuple[str, bool], tuple[list[StudentRow], bytes]] = {}
        self.pages: dict[tuple[str, str], tuple[list[StudentRow], dict[str, Any]]] = {}  # the assignment page's data
        self.due: dict[str, str] = {}  # student -> their extended due time (--extensions), ISO 8601

    def close(self) -> None:
        self.book.close()

    # -- reading ----------------------------------------------------------------------
    def slugs(self) -> list[str]:
        import sqlalchemy as sa

        s = self.book.submissions
        with self.book.engine.connect() as conn:
            return sorted(conn.execute(sa.select(s.c.assignment).distinct()).scalars())

    def assignment(self, slug: str) -> Assignment:
        """The assignment's folder in the course (for titles, exercises, rendering and regrading)."""
        if slug not in self.configs:
            from grader.course import assignments_dir, is_assignment_dir, load_assignment

            folder = assignments_dir(self.course) / slug
            if not is_assignment_dir(folder):
                raise UsageError(
                    f"the course folder {self.course} has no assignment {slug!r} (no {folder})",
                    hint="pass --course with the folder that holds assignments/ and solutions/",
                )
            self.configs[slug] = load_assignment(folder)
        return self.configs[slug]

    def check_course(self) -> None:
        """Every assignment of the gradebook is in the course folder (else exit 2, before serving)."""
        for slug in self.slugs():
            self.assignment(slug)

    def assignments(self) -> list[AssignmentSummary]:
        return [self.summary(slug, self.students(slug)) for slug in self.slugs()]

    def summary(self, slug: str, rows: list[StudentRow]) -> AssignmentSummary:
        finals = [r.final for r in rows]
        return AssignmentSummary(
            slug=slug,
            title=self.assignment(slug).title,
            students=len(rows),
            mean=statistics.fmean(finals) if finals else 0.0,
            max_score=max((r.grade.max_score for r in rows), default=0.0),
            pass_rate=sum(r.status == "passed" for r in rows) / len(rows) if rows else 0.0,
            last_graded=max((r.graded_at for r in rows), default=None),
        )

    def students(self, slug: str) -> list[StudentRow]:
        """The class, read again only when its stamp moved (a verdict, an adjustment, a comment)."""
        stamp = self.stamp(slug)
        cached = self.rows.get(slug)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        if slug not in self.slugs():
            raise NotFound(f"no assignment {slug!r} in the gradebook")
        rows = read_class(self.book, slug, self.cache, deadline=self.assignment(slug).deadline, due=self.due)
        self.rows[slug] = (stamp, rows)
        return rows

    def read_extensions(self, path: Path) -> None:
        """grader serve --extensions: the CSV student,due that grader batch --extensions takes (a
        student named by the grader's id or the LMS's); a student the gradebook lacks is exit 2."""
        from grader.lms.students import StudentIds, read_student_times

        pairs: set[tuple[str, str]] = set()
        for slug in self.slugs():
            pairs |= {(r.student, r.result.lms_id if r.result else "") for r in self.students(slug)}
        due = read_student_times(path, "due", "--extensions", StudentIds.of(sorted(pairs)))
        self.due = {student: when.isoformat() for student, when in due.items()}
        self.rows.clear()
        self.cache.students.clear()

    def with_extension(self, student: str, result: Any) -> Any:
        """`result` (grader.results.Result) with the student's due time from --extensions, if any."""
        from dataclasses import replace

        return replace(result, due=self.due[student]) if student in self.due else result

    def warm(self) -> None:
        """Read every assignment's class once (a server that starts: its first page is then fast)."""
        try:
            for slug in self.slugs():
                self.students(slug)
        except Exception:  # the first request reads it again, and says what failed
            pass

    def students_json(self, slug: str, brief: bool) -> bytes:
        """The API's student list as JSON, made once per stamp (`brief`: without checks and history)."""
        import json

        rows = self.students(slug)
        key = (slug, brief)
        cached = self.lists.get(key)
        if cached is not None and cached[0] is rows:
            return cached[1]
        body = (
            b'{"assignment": '
            + json.dumps(slug).encode()
            + b', "students": ['
            + b", ".join(row.json_bytes(brief) for row in rows)
            + b"]}"
        )
        self.lists[key] = (rows, body)
        return body

    def student(self, slug: str, student: str) -> StudentRow:
        rows = read_class(
            self.book, slug, self.cache, student=student, deadline=self.assignment(slug).deadline, due=self.due
        )
        if not rows:
            raise NotFound(f"no student {student!r} in {slug}")
        return rows[0]

    def stamp(self, slug: str) -> str:
        """Changes whenever a verdict, an adjustment or a manual grade of `slug` does (the assignment page polls it)."""
        import sqlalchemy as sa

        from grader.batch.schema import manual_tables

        s, v, g, h = self.book.submissions, self.book.verdicts, self.book.desk.grade_versions, self.book.desk.history
        m = manual_tables(self.book.tables.meta).grades
        with self.book.engine.connect() as conn:
            verdicts = conn.execute(
                sa.select(sa.func.count(), sa.func.max(v.c.id), sa.func.max(v.c.graded_at))
                .select_from(v)
                .join(s, s.c.id == v.c.submission_id)
                .where(s.c.assignment == slug)
            ).first()
            versions = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(g.c.version), 0)).where(g.c.assignment == slug)
            ).scalar()
            history = conn.execute(sa.select(sa.func.max(h.c.id)).where(h.c.assignment == slug)).scalar()
            manual = conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(m.c.version), 0))
                .select_from(m)
                .join(s, s.c.id == m.c.submission_id)
                .where(s.c.assignment == slug)
            ).first()
        assert verdicts is not None and manual is not None
        # the latest graded_at too: SQLite gives a regraded verdict the id of the one it replaced, if that was last
        return f"{verdicts[0]}-{verdicts[1]}-{verdicts[2]}-{versions}-{history}-{manual[0]}-{manual[1]}"

    # -- changing ---------------------------------------------------------------------
    def adjust(
        self,
        user: User,
        slug: str,
        student: str,
        name: str,
        points: float | None,
        reason: str,
        expected_version: int | None,
    ) -> GradeVersion:
        """Set (points None: remove) the points of one check or exercise of `student`, with the reason."""
        reason = reason.strip()
        if not reason:
            raise UsageError("an adjustment needs a reason", hint="say why, in words the student will read")
        row = self.student(slug, student)
        checks = {c.name for c in row.checks}
        exercises = {c.exercise for c in row.checks}
        if name not in checks and name not in exercises:
            raise UsageError(f"{student}'s verdict has no check or exercise named {name!r}")
        if points is not None and not (0 <= points <= 1e6):
            raise UsageError(f"points must be a number from 0, not {points:g}")
        kind: Literal["check", "exercise"] = "check" if name in checks else "exercise"
        version = save(
            self.book,
            Change(
                assignment=slug,
                student=student,
                kind=kind,
                name=name,
                points=points,
                reason=reason,
                author=user.name,
                sha256=row.sha256,
                expected_version=expected_version,
                may_replace_others=user.role == "instructor",
            ),
        )
        self.refresh_outputs(slug, students=[student])
        return version

    def waive(
        self, user: User, slug: str, student: str, reason: str, expected_version: int | None, remove: bool = False
    ) -> GradeVersion:
        """Waive (or, `remove`, restore) the late penalty of `student`, with the reason the student
        reads; kept as an adjustment of kind "late". Only an instructor may."""
        from grader.batch.adjustments import NotAllowed
        from grader.policy.submitted import penalty_of

        if user.role != "instructor":
            raise NotAllowed("only an instructor waives a late penalty", hint="ask an instructor, or add a comment")
        reason = reason.strip()
        if not reason:
            raise UsageError("a waiver needs a reason", hint="say why, in words the student will read")
        row = self.student(slug, student)
        penalty = penalty_of(row.result, self.assignment(slug).deadline) if row.result is not None else None
        if not remove and (penalty is None or penalty.percent <= 0):
            raise UsageError(f"{student}'s submission has no late penalty to waive")
        version = save(
            self.book,
            Change(
                assignment=slug,
                student=student,
                kind="late",
                name=WAIVER,
                points=None if remove else 0.0,
                reason=reason,
                author=user.name,
                sha256=row.sha256,
                expected_version=expected_version,
                may_replace_others=True,
            ),
        )
        self.refresh_outputs(slug, students=[student])
        return version

    def comment(self, user: User, slug: str, student: str, text: str) -> None:
        from grader.batch.adjustments import record_history

        if not text.strip():
            raise UsageError("a comment needs words")
        self.student(slug, student)
        record_history(self.book, slug, student, user.name, "comment", text.strip())

    def refresh_outputs(self, slug: str, students: list[str] | None = None) -> None:
        """Rewrite the batch's files with the final grades (where GRADEBOOK is a batch's folder):
        the students' own now, grades.csv and report.html in the background."""
        if self.out is None:
            return
        from grader.desk.outputs import Rewriter, rewrite_students

        assignment = self.assignment(slug)
        with self.write_lock:
            if students:
                rewrite_students(self.book, self.out, assignment, students, self.due)
            if self.rewriter is None:
                self.rewriter = Rewriter(self.book, self.out, self.submissions, self.students)
        self.rewriter.ask(assignment)

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait until the class's files are rewritten."""
        return self.rewriter is None or self.rewriter.wait(timeout)

    def describe(self) -> str:
        return safe_url(self.url)


@dataclass(frozen=True)
class SubmissionRow:
    sha256: str
    source: str
    first_seen: datetime
    status: str
    score: float
    max_score: float
    graded_at: datetime


def submissions_of(desk: Desk, slug: str, student: str) -> list[SubmissionRow]:
    """Every submission of one student with its verdict, newest first."""
    import sqlalchemy as sa

    from grader.batch.adjustments import utc

    s, v = desk.book.submissions, desk.book.verdicts
    query = (
        sa.select(s.c.sha256, s.c.source, s.c.first_seen, v.c.status, v.c.score, v.c.max_score, v.c.graded_at)
        .join(v, v.c.submission_id == s.c.id)
        .where(s.c.assignment == slug, s.c.student == student)
        .order_by(s.c.id.desc())
    )
    with desk.book.engine.connect() as conn:
        return [
            SubmissionRow(r.sha256, r.source, utc(r.first_seen), r.status, r.score, r.max_score, utc(r.graded_at))
            for r in conn.execute(query)
        ]


def full_result(desk: Desk, slug: str, student: str, sha256: str) -> Any:
    """The whole verdict (grader.results.Result) of one submission: messages, tracebacks, cells."""
    import json

    import sqlalchemy as sa

    from grader.results import Result

    s, v = desk.book.submissions, desk.book.verdicts
    query = (
        sa.select(v.c.result_json)
        .join(s, s.c.id == v.c.submission_id)
        .where(s.c.assignment == slug, s.c.student == student, s.c.sha256 == sha256)
    )
    with desk.book.engine.connect() as conn:
        text = conn.execute(query).scalar()
    if text is None:
        raise NotFound(f"no verdict of {student} in {slug}")
    return Result.from_dict(json.loads(text))
