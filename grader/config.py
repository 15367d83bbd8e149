"""assignment.toml as typed dataclasses: every table and key validated.

    schema = 1                 optional; the format version of this file (absent: 1)
    title, slug, version, notebook
    [exercises]                name -> title, in the order of the notebook
    [timeouts] [limits]        see Timeouts and Limits
    [tolerances]               rtol, atol, and [tolerances.cpu|cuda|mps] for one device
    [visibility]               public, hidden (Gradescope's words), hidden_checks ("pass_fail", the
                               default, or "mistake"), and [visibility.exercises] name -> visibility
    [files]                    public, hidden (paths or globs of the master folder), max_mb; see FilesTable
    [execution]                skip_tags: cells with one of these tags are not run at grading time
    [grading]                  carried_forward; [exercises.<name>] uses (grader.policy.carry_table)
    [deadline]                 due, grace_minutes, penalty_per_day | _per_hour, penalty_max, zero_after
    [manual.<name>]            a question a person grades, and its rubric (grader.policy.questions)

An unknown or misspelled table or key, or a value of the wrong type, is an AssignmentError that
names the file, the table and the key, lists the known ones and suggests the closest (the words,
and the checked numbers and tables: grader.config_values). Where the assignment's folders are
(assignments/<slug>, solutions/<slug>) is grader.course's business: this module reads one file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Mapping, get_args

from grader.config_values import known_words, read_number, read_record, read_table, unknown_key
from grader.errors import AssignmentError
from grader.hidden_feedback import hidden_feedback
from grader.policy.carry_table import CarryMode, read_carry_mode, read_exercises
from grader.similarity.settings import Similarity, read_similarity

if TYPE_CHECKING:  # read only for a file that has the table (every `grader check` reads the file)
    from grader.policy.deadline import Deadline
    from grader.policy.questions import ManualQuestion

SCHEMAS = (1,)  # the versions of assignment.toml this grader reads
Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
VISIBILITIES: tuple[str, ...] = get_args(Visibility)
TOLERANCE_DEVICES = ("cpu", "cuda", "mps")
TOP_KEYS = ("schema", "title", "slug", "version", "notebook")
TABLES = (
    "exercises",
    "timeouts",
    "tolerances",
    "limits",
    "visibility",
    "feedback",
    "files",
    "execution",
    "deadline",
    "similarity",
    "manual",
    "grading",
)


@dataclass(frozen=True)
class Timeouts:
    cell: float = 30.0  # seconds per notebook cell
    call: float = 10.0  # seconds per call into a student function
    kernel_start: float = 60.0  # seconds for the kernel to answer at all
    total: float = 600.0  # seconds for one submission, all included


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 1e-4
    atol: float = 1e-5


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 4096  # address space of the kernel
    processes: int = 64  # processes/threads the kernel may start
    file_size_mb: int = 64  # largest file the kernel may write
    cpu_seconds: int = 600  # CPU time of the kernel
    output_kb: int = 64  # printed output kept per cell / per check
    submitted_mb: int = 32  # all the files submitted with a notebook, together
    submitted_files: int = 50  # how many files may come with a notebook


@dataclass(frozen=True)
class FilesTable:
    """[files]: what of the master folder goes with the assignment (grader.assignment_files resolves it).

    public: paths or globs (relative to the master folder) that `grader assign` copies to the
    students and every grading kernel sees, read-only, in its working folder; hidden: ones that
    stay in the master folder, read by checks in the grader process (the `assignment_files`
    fixture), never seen by a kernel; max_mb: the bound on the public files' total size.
    """

    public: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    max_mb: float = 64.0


@dataclass(frozen=True)
class Execution:
    """[execution]: how the notebook's cells are run at grading time."""

    skip_tags: tuple[str, ...] = ("skip-execution",)  # a cell with one of these tags is not run

    def skip_tag(self, tags: tuple[str, ...]) -> str | None:
        """The first of a cell's `tags` that says not to run it, or None."""
        return next((tag for tag in tags if tag in self.skip_tags), None)


@dataclass(frozen=True)
class Assignment:
    """One assignment: its assignment.toml, and where grader.course found its folders."""

    slug: str
    title: str
    root: Path  # assignments/<slug>
    version: str = "1"
    notebook: str = ""  # file name of the student notebook
    exercises: dict[str, str] = field(default_factory=dict)  # name -> title, in order
    timeouts: Timeouts = Timeouts()
    tolerances: dict[str, Tolerance] = field(default_factory=lambda: {"default": Tolerance()})
    limits: Limits = Limits()
    visibility: dict[str, str] = field(
        default_factory=dict
    )  # "public"/"hidden"/"exercise.<name>" -> gradescope visibility
    hidden_feedback: str = "pass_fail"  # [visibility] hidden_checks: "pass_fail" or "mistake" (its name, never values)
    files: FilesTable = FilesTable()  # [files] as written
    public_files: tuple[str, ...] = ()  # [files] public, resolved: posix paths relative to root
    hidden_files: tuple[str, ...] = ()  # [files] hidden, resolved against solutions/<slug> (when present)
    execution: Execution = Execution()  # [execution]: the tags of cells not run at grading time
    manual: tuple[ManualQuestion, ...] = ()  # [manual.<name>]: questions a person grades, in order
    deadline: Deadline | None = None  # [deadline]: the late policy (None: no deadline)
    similarity: Similarity = Similarity()  # [similarity]: the pairs the similarity section lists
    uses: dict[str, tuple[str, ...]] = field(default_factory=dict)  # [exercises.<name>] uses (policy/carry_table.py)
    carried_forward: CarryMode = "none"  # [grading] carried_forward: the points of error carried forward
    solutions: Path | None = None  # solutions/<slug> when present (instructor checkout)
    public_checks: Path = Path("checks")  # the checks students have (assignments/<slug>/checks)
    hidden_checks: Path | None = None  # solutions/<slug>/checks when present
    schema: int = 1

    def check_folders(self, hidden: bool = True) -> list[Path]:
        """The checks folders graded with: the public one, then the hidden one when there is one and `hidden`."""
        return [self.public_checks] + ([self.hidden_checks] if hidden and self.hidden_checks is not None else [])

    def tolerance(self, device: str) -> Tolerance:
        kind = device.split(":")[0]
        return self.tolerances.get(kind, self.tolerances.get("default", Tolerance()))


@dataclass(frozen=True)
class AssignmentFile:
    """What one assignment.toml says, validated; `grader.course` adds the folders."""

    path: Path
    slug: str
    title: str
    version: str
    notebook: str
    exercises: dict[str, str]
    timeouts: Timeouts
    tolerances: dict[str, Tolerance]
    limits: Limits
    visibility: dict[str, str]
    schema: int = 1
    hidden_feedback: str = "pass_fail"
    files: FilesTable = FilesTable()
    execution: Execution = Execution()
    manual: tuple[ManualQuestion, ...] = ()
    deadline: Deadline | None = None
    similarity: Similarity = Similarity()
    uses: dict[str, tuple[str, ...]] = field(default_factory=dict)
    carried_forward: CarryMode = "none"


# -- the file's own values -------------------------------------------------------------------
def _unknown_table(where: Path, name: str) -> AssignmentError:
    return AssignmentError(f"{where}: unknown table [{name}]", hint=known_words(name, TABLES, brackets=True))


def _text(where: Path, key: str, value: object, default: str) -> str:
    if value is None or value == "":
        return default
    if key == "version" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # version = 1 was always read as "1"
    if not isinstance(value, str):
        raise AssignmentError(f"{where}: {key} = {value!r} is not a string", hint=f'write {key} = "..." in quotes')
    return value


def _schema(where: Path, value: object) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value not in SCHEMAS:
        reads = ", ".join(map(str, SCHEMAS))
        raise AssignmentError(
            f"{where}: schema = {value!r} is not a version of assignment.toml this grader reads",
            hint=f"this grader reads schema {reads}; upgrade the grader, or write schema = {SCHEMAS[-1]}",
        )
    return value


def _tolerances(where: Path, raw: object) -> dict[str, Tolerance]:
    """[tolerances] rtol/atol (the default) and one table per device kind."""
    data = read_table(raw, where, "tolerances")
    known = ["rtol", "atol", *TOLERANCE_DEVICES]
    out: dict[str, Tolerance] = {"default": Tolerance()}
    flat: dict[str, object] = {}
    for key, value in data.items():
        if key in TOLERANCE_DEVICES:
            out[key] = read_record(where, f"tolerances.{key}", value, Tolerance)
        elif key in ("rtol", "atol"):
            flat[key] = value
        elif isinstance(value, dict):
            raise AssignmentError(
                f"{where}: unknown table [tolerances.{key}]",
                hint=known_words(key, TOLERANCE_DEVICES).replace("known keys", "known devices"),
            )
        else:
            raise unknown_key(where, "tolerances", key, known)
    if flat:
        out["default"] = read_record(where, "tolerances", flat, Tolerance)
    return out


def _hidden_feedback(where: Path, visibility: object, feedback: object) -> str:
    """[visibility] hidden_checks, or [feedback]'s older spelling (grader.hidden_feedback)."""
    data = read_table(feedback, where, "feedback")
    for key in data:
        if key != "hidden_checks":
            raise unknown_key(where, "feedback", key, ["hidden_checks"])
    return hidden_feedback(where, read_table(visibility, where, "visibility").get("hidden_checks"), data)


def _visibility(where: Path, raw: object, exercises: Mapping[str, str]) -> dict[str, str]:
    """[visibility]: public/hidden -> a Gradescope visibility; [visibility.exercises]: name -> one,
    for that exercise's public checks. Flattened to {"public", "hidden", "exercise.<name>"}."""
    data = read_table(raw, where, "visibility")
    allowed = ", ".join(VISIBILITIES)

    def word(key: str, value: object) -> str:
        if value not in VISIBILITIES:
            raise AssignmentError(
                f"{where}: [visibility] {key} = {value!r} is not a visibility", hint=f"use one of: {allowed}"
            )
        return str(value)

    out: dict[str, str] = {}
    for key, value in data.items():
        if key == "exercises":
            if not isinstance(value, dict):
                raise AssignmentError(f"{where}: [visibility.exercises] must map exercise names to visibilities")
            for name, vis in value.items():
                if exercises and name not in exercises:
                    raise AssignmentError(
                        f"{where}: [visibility.exercises] names an unknown exercise '{name}'",
                        hint="known exercises: " + ", ".join(map(str, exercises)),
                    )
                out[f"exercise.{name}"] = word(f"exercises.{name}", vis)
        elif key in ("public", "hidden"):
            out[key] = word(key, value)
        elif key != "hidden_checks":  # what hidden checks say: _hidden_feedback
            raise unknown_key(where, "visibility", key, ["public", "hidden", "hidden_checks", "exercises"])
    return out


def _patterns(where: Path, key: str, value: object) -> tuple[str, ...]:
    example = f'{key} = ["data/train.pt", "helpers.py"]'
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        raise AssignmentError(
            f"{where}: [files] {key} = {value!r} is not a list of paths",
            hint=f"write {example} (paths or globs relative to the master folder)",
        )
    for item in items:
        parts = item.replace("\\", "/").split("/")
        if item.startswith(("/", "~")) or ".." in parts or (parts and ":" in parts[0]):
            raise AssignmentError(
                f"{where}: [files] {key} names {item!r}, which is not inside the assignment's folder",
                hint="name files relative to the master folder, without '..' or a leading '/'",
            )
    return tuple(str(v) for v in items)


def _files_table(where: Path, raw: object) -> FilesTable:
    """[files] public, hidden, max_mb: unknown keys and wrong types are errors (globs are resolved
    against the folders by grader.assignment_files)."""
    data = read_table(raw, where, "files")
    known = [f.name for f in fields(FilesTable)]
    for key in data:
        if key not in known:
            raise unknown_key(where, "files", key, known)
    max_mb = read_number(where, "files", "max_mb", data["max_mb"], float) if "max_mb" in data else FilesTable.max_mb
    if max_mb <= 0:
        raise AssignmentError(f"{where}: [files] max_mb = {max_mb:g} must be more than 0", hint="write max_mb = 64")
    return FilesTable(
        public=_patterns(where, "public", data.get("public", [])),
        hidden=_patterns(where, "hidden", data.get("hidden", [])),
        max_mb=float(max_mb),
    )


def _execution(where: Path, raw: object) -> Execution:
    """[execution] skip_tags = ["skip-execution", ...]: cells tagged so are not run at grading time."""
    data = read_table(raw, where, "execution")
    for key in data:
        if key != "skip_tags":
            raise unknown_key(where, "execution", key, ["skip_tags"])
    if "skip_tags" not in data:
        return Execution()
    tags = data["skip_tags"]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise AssignmentError(
            f"{where}: [execution] skip_tags = {tags!r} is not a list of tags",
            hint='write skip_tags = ["skip-execution"]: cell tags, as strings; [] runs every cell',
        )
    return Execution(skip_tags=tuple(t.strip() for t in tags))


# -- the file -------------------------------------------------------------------------------
def _toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise AssignmentError(
            f"no assignment at {path.parent}: assignment.toml is missing",
            hint="pass --assignment with the folder that holds assignment.toml",
        )
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AssignmentError(f"{path} is not valid TOML: {exc}") from None


def _check_top_level(path: Path, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if key in TOP_KEYS or key in TABLES:
            continue
        if isinstance(value, dict):
            raise _unknown_table(path, key)
        raise unknown_key(path, "", key, [*TOP_KEYS, *TABLES])


def _manual(path: Path, raw: object) -> "tuple[ManualQuestion, ...]":
    """[manual]: grader.policy.questions.read_manual, imported only for a file that has the table."""
    if raw is None:
        return ()
    from grader.policy.questions import read_manual

    return read_manual(path, raw)


def _deadline(path: Path, raw: object) -> "Deadline | None":
    """[deadline]: grader.policy.deadline_table.read_deadline, imported only for a file that has it."""
    if raw is None:
        return None
    from grader.policy.deadline_table import read_deadline

    return read_deadline(path, raw)


def read_assignment_file(path: Path, default_slug: str) -> AssignmentFile:
    """Read and validate one assignment.toml; `default_slug` is used when it names none."""
    data = _toml(path)
    schema = _schema(path, data.get("schema"))  # first: a newer file's keys are not misspellings
    _check_top_level(path, data)
    slug = _text(path, "slug", data.get("slug"), default_slug)
    exercises, uses = read_exercises(path, data.get("exercises"))
    return AssignmentFile(
        path=path,
        slug=slug,
        schema=schema,
        title=_text(path, "title", data.get("title"), slug),
        version=_text(path, "version", data.get("version"), "1"),
        notebook=_text(path, "notebook", data.get("notebook"), f"{slug}.ipynb"),
        exercises=exercises,
        timeouts=read_record(path, "timeouts", data.get("timeouts"), Timeouts),
        tolerances=_tolerances(path, data.get("tolerances")),
        limits=read_record(path, "limits", data.get("limits"), Limits),
        visibility=_visibility(path, data.get("visibility"), exercises),
        hidden_feedback=_hidden_feedback(path, data.get("visibility"), data.get("feedback")),
        files=_files_table(path, data.get("files")),
        execution=_execution(path, data.get("execution")),
        manual=_manual(path, data.get("manual")),
        deadline=_deadline(path, data.get("deadline")),
        similarity=read_similarity(path, data.get("similarity")),
        uses=uses,
        carried_forward=read_carry_mode(path, data.get("grading")),
    )
