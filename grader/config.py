"""An assignment on disk: assignment.toml, its notebook, its public and hidden checks."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import AssignmentError


@dataclass(frozen=True)
class Timeouts:
    cell: float = 30.0          # seconds per notebook cell
    call: float = 10.0          # seconds per call into a student function
    kernel_start: float = 60.0  # seconds for the kernel to answer at all
    total: float = 600.0        # seconds for one submission, all included


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 1e-4
    atol: float = 1e-5


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 4096        # address space of the kernel
    processes: int = 64          # processes/threads the kernel may start
    file_size_mb: int = 64       # largest file the kernel may write
    cpu_seconds: int = 600       # CPU time of the kernel
    output_kb: int = 64          # printed output kept per cell / per check


@dataclass(frozen=True)
class Assignment:
    slug: str
    title: str
    root: Path                                  # assignments/<slug>
    version: str = "1"
    notebook: str = ""                          # file name of the student notebook
    exercises: dict[str, str] = field(default_factory=dict)   # name -> title, in order
    timeouts: Timeouts = Timeouts()
    tolerances: dict[str, Tolerance] = field(default_factory=lambda: {"default": Tolerance()})
    limits: Limits = Limits()
    visibility: dict[str, str] = field(default_factory=dict)  # "public"/"hidden"/"exercise.<name>" -> gradescope visibility
    solutions: Path | None = None               # solutions/<slug> when present (instructor checkout)

    @property
    def public_checks(self) -> Path:
        return self.root / "checks"

    @property
    def hidden_checks(self) -> Path | None:
        if self.solutions is None:
            return None
        path = self.solutions / "checks"
        return path if path.is_dir() else None

    def tolerance(self, device: str) -> Tolerance:
        kind = device.split(":")[0]
        return self.tolerances.get(kind, self.tolerances.get("default", Tolerance()))


def _section(data: dict, name: str, cls: type, where: Path):  # type: ignore[no-untyped-def]
    raw = data.get(name, {})
    if not isinstance(raw, dict):
        raise AssignmentError(f"{where}: [{name}] must be a table")
    known = cls.__dataclass_fields__
    unknown = set(raw) - set(known)
    if unknown:
        raise AssignmentError(
            f"{where}: unknown key(s) in [{name}]: {', '.join(sorted(unknown))}",
            hint=f"known keys: {', '.join(known)}",
        )
    try:
        return cls(**{k: type(getattr(cls(), k))(v) for k, v in raw.items()})
    except (TypeError, ValueError) as exc:
        raise AssignmentError(f"{where}: bad value in [{name}]: {exc}") from None


VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def _visibility(raw: object, exercises: dict, where: Path) -> dict[str, str]:
    """[visibility]: public/hidden -> a Gradescope visibility; [visibility.exercises]: name -> one,
    for that exercise's public checks. Flattened to {"public", "hidden", "exercise.<name>"}."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise AssignmentError(f"{where}: [visibility] must be a table")
    allowed = ", ".join(VISIBILITIES)

    def word(key: str, value: object) -> str:
        if value not in VISIBILITIES:
            raise AssignmentError(f"{where}: [visibility] {key} = {value!r} is not a visibility",
                                  hint=f"use one of: {allowed}")
        return str(value)

    out: dict[str, str] = {}
    for key, value in raw.items():
        if key == "exercises":
            if not isinstance(value, dict):
                raise AssignmentError(f"{where}: [visibility.exercises] must map exercise names to visibilities")
            for name, vis in value.items():
                if exercises and name not in exercises:
                    raise AssignmentError(f"{where}: [visibility.exercises] names an unknown exercise '{name}'",
                                          hint="known exercises: " + ", ".join(map(str, exercises)))
                out[f"exercise.{name}"] = word(f"exercises.{name}", vis)
        elif key in ("public", "hidden"):
            out[key] = word(key, value)
        else:
            raise AssignmentError(f"{where}: unknown key '{key}' in [visibility]",
                                  hint="known keys: public, hidden, exercises")
    return out


def load_assignment(root: Path) -> Assignment:
    """Read assignments/<slug>/assignment.toml; find solutions/<slug> beside it if present."""
    root = Path(root).resolve()
    toml_path = root / "assignment.toml"
    if not toml_path.is_file():
        raise AssignmentError(
            f"no assignment at {root}: assignment.toml is missing",
            hint="pass --assignment with the folder that holds assignment.toml",
        )
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AssignmentError(f"{toml_path} is not valid TOML: {exc}") from None
    slug = str(data.get("slug") or root.name)
    tolerances: dict[str, Tolerance] = {"default": Tolerance()}
    for key, value in (data.get("tolerances") or {}).items():
        if isinstance(value, dict):
            tolerances[key] = Tolerance(**{k: float(v) for k, v in value.items()})
    if "rtol" in (data.get("tolerances") or {}) or "atol" in (data.get("tolerances") or {}):
        tol = data["tolerances"]
        tolerances["default"] = Tolerance(float(tol.get("rtol", 1e-4)), float(tol.get("atol", 1e-5)))
    solutions = root.parent.parent / "solutions" / slug
    exercises = data.get("exercises") or {}
    if not isinstance(exercises, dict):
        raise AssignmentError(f"{toml_path}: [exercises] must map names to titles")
    notebook = str(data.get("notebook") or f"{slug}.ipynb")
    return Assignment(
        slug=slug,
        title=str(data.get("title") or slug),
        root=root,
        version=str(data.get("version", "1")),
        notebook=notebook,
        exercises={str(k): str(v) for k, v in exercises.items()},
        timeouts=_section(data, "timeouts", Timeouts, toml_path),
        tolerances=tolerances,
        limits=_section(data, "limits", Limits, toml_path),
        visibility=_visibility(data.get("visibility"), exercises, toml_path),
        solutions=solutions if solutions.is_dir() else None,
    )


def find_assignment(slug: str | None, search_root: Path | None = None) -> Assignment:
    """Look a slug up under ./assignments (the default for `grader check`)."""
    if not slug:
        raise AssignmentError(
            "the notebook names no assignment in its metadata",
            hint="pass --assignment assignments/<slug>",
        )
    base = (search_root or Path.cwd()) / "assignments" / slug
    if not (base / "assignment.toml").is_file():
        raise AssignmentError(
            f"no assignment '{slug}' under {base.parent}",
            hint="run from the course folder that holds assignments/, or pass --assignment DIR",
        )
    return load_assignment(base)
