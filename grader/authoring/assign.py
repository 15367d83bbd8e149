"""Authoring: turn a master notebook into the student notebook, nbgrader-style.

The master folder of an assignment, `solutions/<slug>/`, holds what only instructors see:

    solutions/<slug>/
      <notebook>.ipynb    the master notebook, solutions between markers
      assignment.toml     the assignment (title, slug, version, notebook, exercises, limits ...)
      public/             public checks: copied to the students' folder
      checks/             hidden checks: stay here; the grader runs them from here
      data/, helpers.py   files named in [files]: public ones copied to the students' folder at
                          the same paths, hidden ones never (and removed there if an earlier
                          assign had copied them)

`assign(solutions/<slug>, assignments)` writes what students get:

    assignments/<slug>/
      <notebook>.ipynb    the student notebook: stubs, no hidden tests, no outputs
      assignment.toml     a byte copy of the master's (the one to edit); refused, naming them, when
                          the released one sets keys the master's does not (never a silent loss); with
                          a [manual.<grade_id>] question added for each of nbgrader's manually graded
                          cells the master does not declare (manualcells.py)
      checks/             a copy of public/
      <[files] public>    byte copies of the public files, at the same relative paths

In a master notebook's cells:

    ### BEGIN SOLUTION / ### END SOLUTION          the lines between become, at the BEGIN line's
                                                   indentation, `# YOUR CODE HERE` and
                                                   `raise NotImplementedError()` (code cells) or
                                                   `YOUR ANSWER HERE` (markdown cells)
    ### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS  the lines between (markers included) are removed;
                                                   a cell left empty by that is dropped

Output is deterministic: running `assign` twice writes the same bytes (and touches no file
whose bytes would not change).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import course
from grader.assignment_files import resolve, resolve_public
from grader.authoring.manualcells import manual_cells, tagged, toml_text
from grader.config import FilesTable, read_assignment_file
from grader.policy.questions import ManualQuestion
from grader.errors import AuthoringError

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
MARKERS = {
    BEGIN_SOLUTION: ("begin", "solution"),
    END_SOLUTION: ("end", "solution"),
    BEGIN_HIDDEN: ("begin", "hidden"),
    END_HIDDEN: ("end", "hidden"),
}
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = ("YOUR ANSWER HERE",)
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
PUBLIC_DIR = course.PUBLIC  # in solutions/<slug>/: public checks
HIDDEN_DIR = course.CHECKS  # in solutions/<slug>/: hidden checks
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SKIP_NAMES = ("__pycache__", ".pytest_cache", ".ipynb_checkpoints")


class MarkerError(AuthoringError):
    """A solution or hidden-tests marker is unclosed, unopened or nested in a master notebook."""

    def __init__(self, message: str, *, cell: int, line: int, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.cell = cell  # 1-based cell number
        self.line = line  # 1-based line in the cell


# -- one cell ---------------------------------------------------------------------------


def _marker(line: str) -> tuple[str, str] | None:
    """('begin'|'end', 'solution'|'hidden') when the line is a marker line."""
    text = line.strip()
    for marker, kind in MARKERS.items():
        if text == marker or (text.startswith(marker) and not text[len(marker)].isalnum()):
            return kind
    return None


def _where(number: int, source: str) -> str:
    first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return f"cell {number} ({first[:60]!r})"


def strip_cell(source: str, kind: str, number: int = 1) -> tuple[str, bool]:
    """The student's version of one cell's source, and whether it had a hidden-tests block.

    `kind` is the cell type ("code" or "markdown"); `number` (1-based) names the cell in errors.
    """
    out: list[str] = []
    open_kind: str | None = None
    open_line = 0
    had_hidden = False
    lines = source.splitlines(keepends=True)
    for lineno, line in enumerate(lines, start=1):
        found = _marker(line)
        if found is None:
            if open_kind is None:
                out.append(line)
            continue
        edge, what = found
        label = f"### {edge.upper()} {'SOLUTION' if what == 'solution' else 'HIDDEN TESTS'}"
        if edge == "begin":
            if open_kind is not None:
                raise MarkerError(
                    f"{_where(number, source)}, line {lineno}: '{label}' inside the "
                    f"{'solution' if open_kind == 'solution' else 'hidden tests'} block opened on line {open_line}",
                    cell=number,
                    line=lineno,
                    hint="markers cannot be nested: close the first block before opening another",
                )
            open_kind, open_line = what, lineno
            if what == "solution":
                indent = line[: len(line) - len(line.lstrip())]
                stub = CODE_STUB if kind == "code" else MARKDOWN_STUB
                out += [indent + s + "\n" for s in stub]
            else:
                had_hidden = True
            continue
        if open_kind != what:
            opened = f"; the open block is {open_kind} (line {open_line})" if open_kind else ""
            raise MarkerError(
                f"{_where(number, source)}, line {lineno}: '{label}' without a matching BEGIN{opened}",
                cell=number,
                line=lineno,
                hint="every END marker closes the BEGIN marker of the same kind just before it",
            )
        open_kind = None
    if open_kind is not None:
        label = "### BEGIN SOLUTION" if open_kind == "solution" else "### BEGIN HIDDEN TESTS"
        closing = "### END SOLUTION" if open_kind == "solution" else "### END HIDDEN TESTS"
        raise MarkerError(
            f"{_where(number, source)}, line {open_line}: '{label}' is never closed",
            cell=number,
            line=open_line,
            hint=f"add a '{closing}' line after the block",
        )
    text = "".join(out)
    if not source.endswith("\n") and text.endswith("\n"):
        text = text[:-1]
    return text, had_hidden


# -- one notebook -----------------------------------------------------------------------


def cell_id(slug: str, index: int, source: str) -> str:
    return hashlib.sha1(f"{slug}\0{index}\0{source}".encode()).hexdigest()[:12]


def student_notebook(master: Any, slug: str, version: str) -> Any:
    """The student version of a master notebook (an nbformat v4 node); the master is not changed."""
    import copy

    import nbformat

    nb = copy.deepcopy(master)
    cells = []
    for number, cell in enumerate(nb.cells, start=1):
        source = cell.get("source", "")
        if cell.get("cell_type") in ("code", "markdown"):
            new_source, had_hidden = strip_cell(source, cell.cell_type, number)
            if had_hidden and not new_source.strip():
                continue  # the cell held hidden tests only
            cell["source"] = new_source
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
        if "id" not in cell:
            cell["id"] = cell_id(slug, number, source)
        cells.append(cell)
    nb.cells = cells
    nb.nbformat, nb.nbformat_minor = 4, max(int(nb.get("nbformat_minor", 0)), 5)
    meta = nb.setdefault("metadata", nbformat.NotebookNode())
    meta["kernelspec"] = nbformat.NotebookNode(KERNELSPEC)
    meta[course.METADATA_KEY] = nbformat.NotebookNode(course.notebook_metadata(slug, version))
    return nb


def notebook_text(nb: Any) -> str:
    """The notebook as nbformat writes it (sorted keys, one-space indent), with a final newline."""
    import nbformat

    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def read_master(path: Path) -> Any:
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise AuthoringError(
            f"no master notebook at {path}", hint="the notebook named in assignment.toml must be in the master folder"
        ) from None
    except Exception as exc:  # nbformat raises many kinds for a bad file
        raise AuthoringError(f"the master notebook {path} cannot be read: {exc}") from None


# -- the assignment folder --------------------------------------------------------------


@dataclass(frozen=True)
class Master:
    root: Path  # solutions/<slug>
    slug: str
    version: str
    notebook: str
    files: FilesTable = FilesTable()
    toml: Path = Path(course.TOML)
    manual: tuple[ManualQuestion, ...] = ()

    @property
    def notebook_path(self) -> Path:
        return self.root / self.notebook


def load_master(solutions_dir: Path) -> Master:
    """The master folder's assignment.toml, validated as the grader reads it."""
    root = Path(solutions_dir)
    toml_path = root / course.TOML
    if not toml_path.is_file():
        raise AuthoringError(
            f"no assignment.toml in {root}", hint="pass the master folder solutions/<slug>, which holds assignment.toml"
        )
    file = read_assignment_file(toml_path, default_slug=root.resolve().name)
    if not SLUG.match(file.slug):
        raise AuthoringError(
            f"{toml_path}: slug {file.slug!r} is not a valid slug", hint="use lower-case letters, digits, '-' and '_'"
        )
    return Master(
        root=root,
        slug=file.slug,
        version=file.version,
        notebook=file.notebook,
        files=file.files,
        toml=toml_path,
        manual=file.manual,
    )


def write_if_changed(path: Path, data: bytes, written: list[Path]) -> None:
    """Write only when the bytes differ, so a second run touches nothing."""
    if not (path.is_file() and path.read_bytes() == data):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    written.append(path)


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(part in SKIP_NAMES or part.startswith(".") for part in p.relative_to(folder).parts)
        and p.suffix != ".pyc"
    )


def _sync(src: Path, dst: Path, written: list[Path]) -> None:
    """Make dst hold exactly the files of src (stale files removed)."""
    wanted = {p.relative_to(src) for p in _files(src)}
    for rel in sorted(wanted):
        write_if_changed(dst / rel, (src / rel).read_bytes(), written)
    for old in _files(dst):
        if old.relative_to(dst) not in wanted:
            old.unlink()
    if dst.is_dir():
        for cache in dst.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)


def assign(solutions_dir: Path, assignments_dir: Path) -> list[Path]:
    """Write assignments/<slug>/ from the master folder solutions/<slug>/; return the files written."""
    master = load_master(Path(solutions_dir))  # the toml is validated as the grader reads it
    nb = read_master(master.notebook_path)
    manual = manual_cells(nb)  # nbgrader's manually graded cells: [manual.<grade_id>] questions
    student = student_notebook(tagged(nb, manual) if manual else nb, master.slug, master.version)
    out = Path(assignments_dir) / master.slug
    toml = (master.root / course.TOML).read_bytes()
    if manual:
        toml = toml_text(toml.decode("utf-8"), manual, master.manual).encode("utf-8")
    _refuse_lost_settings(master, out / course.TOML, toml.decode("utf-8"))
    written: list[Path] = []
    write_if_changed(out / master.notebook, notebook_text(student).encode("utf-8"), written)
    write_if_changed(out / course.TOML, toml, written)
    _sync(master.root / PUBLIC_DIR, out / course.CHECKS, written)
    _copy_files(master, out, written)
    return written


def _settings(data: dict[str, Any], table: str = "") -> set[tuple[str, str]]:
    """Every (table, key) an assignment.toml sets, nested tables by their dotted name."""
    out: set[tuple[str, str]] = set()
    for key, value in data.items():
        if isinstance(value, dict):
            out |= _settings(value, f"{table}.{key}" if table else key)
        else:
            out.add((table, key))
    return out


def _refuse_lost_settings(master: Master, released: Path, writing: str) -> None:
    """The master's assignment.toml is the one to edit; `assign` copies it over the released one
    (`writing`: what it writes, the master's with the questions of nbgrader's manual cells).
    A setting only the released file has would be lost without a word: refuse, naming each."""
    import tomllib

    try:
        old = tomllib.loads(released.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # none yet, or not readable as TOML: nothing the grader could have read from it
    lost = sorted(_settings(old) - _settings(tomllib.loads(writing)))
    if lost:
        names = ", ".join(f"[{table}] {key}" if table else key for table, key in lost)
        raise AuthoringError(
            f"{released} sets {names}, which {master.toml} does not: `grader assign` would overwrite them",
            hint=f"the master's assignment.toml is the one to edit: copy these settings into {master.toml} "
            f"(or delete them from {released}), then run `grader assign` again",
        )


def _copy_files(master: Master, out: Path, written: list[Path]) -> None:
    """[files]: the public files copied at their paths; a hidden one never, and taken away if there."""
    public = resolve_public(master.root, master.files, master.toml)
    hidden = resolve(master.root, master.files.hidden, key="hidden", toml=master.toml)
    both = sorted(set(public) & set(hidden))
    if both:
        raise AuthoringError(
            f"{master.toml}: [files] names {both[0]!r} both public and hidden",
            hint="a file is either given to the students (public) or kept for the checks (hidden)",
        )
    reserved = {master.notebook, course.TOML}
    for rel in public:
        if rel in reserved or rel.split("/")[0] == course.CHECKS:
            raise AuthoringError(
                f"{master.toml}: [files] public names {rel!r}, which `grader assign` writes itself",
                hint="keep data and helper files out of checks/ and apart from the notebook and assignment.toml",
            )
        write_if_changed(out / rel, (master.root / rel).read_bytes(), written)
    for rel in hidden:
        if (out / rel).is_file():
            (out / rel).unlink()


__all__ = [
    "AuthoringError",
    "MarkerError",
    "assign",
    "cell_id",
    "load_master",
    "notebook_text",
    "read_master",
    "strip_cell",
    "student_notebook",
    "write_if_changed",
]
