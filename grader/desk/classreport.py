"""What the desk's pages show, gathered from the service layer: the assignment page (the class
report's statistics and plots over the final grades, the student table's rows and filters), the
student page (checks, messages, notebook, submissions, history), the student's feedback page,
and starting a regrade."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.desk.service import Desk, NotFound, User, full_result, submissions_of
from grader.errors import UsageError

if TYPE_CHECKING:
    from grader.desk.regrade import Job
    from grader.desk.web import State


def page_data(desk: Desk, slug: str, base: str) -> dict[str, Any]:
    """What the assignment page shows; made once per state of the class (and per --root-path)."""
    rows = desk.students(slug)
    cached = desk.pages.get((slug, base))
    if cached is not None and cached[0] is rows:
        return cached[1]
    data = make_page_data(desk, slug, base, rows)
    desk.pages[(slug, base)] = (rows, data)
    return data


def make_page_data(desk: Desk, slug: str, base: str, rows: list[Any]) -> dict[str, Any]:
    from markupsafe import Markup

    from grader.desk.web import environment
    from grader.feedback.classstats import ClassRow, class_stats, row_tally
    from grader.feedback.report import plots

    assignment = desk.assignment(slug)
    class_rows = [ClassRow(r.student, r.status, r.result, r.source, final=r.final) for r in rows]
    for row, class_row in zip(rows, class_rows):  # each row's part made once per row
        if "tally" not in row.made:
            row.made["tally"] = row_tally(class_row)
    stats = class_stats(assignment, class_rows, [row.made["tally"] for row in rows])
    exercises = list(assignment.exercises) + sorted(
        {c.exercise for r in rows for c in r.checks} - set(assignment.exercises)
    )
    template = environment().get_template("student_rows.html.j2")
    parts = []
    for row in rows:  # each row's HTML made once per row and --root-path
        key = f"html:{base}"
        if key not in row.made:
            row.made[key] = template.render(rows=[row], base=base, slug=slug)
        parts.append(row.made[key])
    table = "".join(parts)
    return {
        "title": assignment.title,
        "table_rows": Markup(table),
        "stats": stats,
        "plots": {k: Markup(v) for k, v in plots(assignment, stats).items()},
        "statuses": sorted({r.status for r in rows}),
        "exercises": exercises,
        "mistake_names": sorted({m for r in rows for _e, m in r.facts.mistakes}),
        "adjusted": sum(r.adjusted for r in rows),
        "stamp": desk.stamp(slug),
    }


def student_data(desk: Desk, slug: str, student: str) -> dict[str, Any]:
    from grader.desk.notebook_view import load

    row = desk.student(slug, student)
    result = full_result(desk, slug, student, row.sha256)
    messages = {}
    for check in result.checks:
        text = check.message + (("\n\n" + check.traceback) if check.traceback else "")
        messages[check.name] = text.strip()
    groups: dict[str, list[Any]] = {}
    for check_row in row.checks:
        groups.setdefault(check_row.exercise, []).append(check_row)
    notebook = load(desk.submissions, student, desk.assignment(slug).notebook, row.sha256)
    carried = {check.name: check.carried_forward for check in result.checks if check.carried_forward}
    return {
        "row": row,
        "groups": list(groups.items()),
        "messages": messages,
        "carried": carried,
        "notebook": notebook,
        "submissions": submissions_of(desk, slug, student),
        "errors": result.errors,
        "cell_issues": [c for c in result.cells if c.kind != "skipped"],
    }


def feedback_html(desk: Desk, slug: str, student: str) -> str:
    """The feedback page the student gets, with their final grade and the graders' reasons."""
    from grader.feedback.render import render_html
    from grader.policy.submitted import shown

    row = desk.student(slug, student)
    result = desk.with_extension(student, full_result(desk, slug, student, row.sha256))
    final = shown(result, desk.assignment(slug).deadline, row.adjustments)
    return render_html(result, title=desk.assignment(slug).title, late=final.late_data(), grade=final.grade)


def start_regrade(state: "State", user: User, slug: str, student: str | None, status: str) -> "Job":
    """One student (any grader), or every student with `status` ("*": all; instructors only)."""
    from grader.batch.adjustments import record_history

    if state.plan is None:
        raise UsageError("regrading needs the class folder: start grader serve with --submissions DIR")
    rows = state.desk.students(slug)
    if student is not None:
        if student not in {r.student for r in rows}:
            raise NotFound(f"no student {student!r} in {slug}")
        students = [student]
    else:
        if user.role != "instructor":
            raise UsageError("only an instructor regrades a whole class")
        students = [r.student for r in rows if status in ("*", r.status)]
        if not students:
            raise UsageError(f"no student of {slug} has the status {status!r}")
    from dataclasses import replace

    plan = replace(state.plan, assignment_dir=state.desk.assignment(slug).root)
    job = state.jobs.start(plan, slug, students, user.name)
    for name in students:
        record_history(
            state.desk.book,
            slug,
            name,
            user.name,
            "regrade",
            "regrade started" + ("" if student else f" (every student with status {status})"),
        )
    return job
