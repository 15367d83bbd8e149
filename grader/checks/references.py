"""Reference implementations of exercises, registered by checks modules (error carried forward).

    from grader.checks import reference

    @reference("activation")
    def sigmoid(x):
        return 1 / (1 + (-x).exp())

A reference runs only in the grader's process (grader/bridge/asks.py answers a stand-in's
question with its value); its code never enters the kernel. The `reference=` given to
`assert_tensor` registers itself for the exercise of the check that gives it, unless that
exercise has one already.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

__all__ = ["Registered", "reference", "references", "register_for_running", "running"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Registered:
    """One exercise's reference and the checks file it came from."""

    function: Callable[..., Any]
    file: Path | None


REGISTRY: dict[str, Registered] = {}  # by @reference
GIVEN: dict[str, Registered] = {}  # by assert_tensor(reference=...), under the file of the check
RUNNING: list[tuple[str, Path]] = []  # the exercise and file of the check running now, while one is


def _file_of(function: Callable[..., Any]) -> Path | None:
    code = getattr(function, "__code__", None)
    return Path(code.co_filename).resolve() if code is not None else None


def reference(exercise: str) -> Callable[[F], F]:
    """Register the decorated function as the right `exercise`."""

    def register(function: F) -> F:
        REGISTRY[exercise] = Registered(function, _file_of(function))
        return function

    return register


def register_for_running(function: Callable[..., Any]) -> None:
    """`assert_tensor(..., reference=f)`: f for the running check's exercise (an @reference wins)."""
    if RUNNING:
        exercise, file = RUNNING[-1]
        if exercise not in GIVEN or GIVEN[exercise].file != file:
            GIVEN[exercise] = Registered(function, file)


def running() -> list[tuple[str, Path]]:
    return RUNNING


def references(files: set[Path]) -> dict[str, Callable[..., Any]]:
    """The references these checks files registered (@reference first, then assert_tensor's)."""
    found = {name: r.function for name, r in GIVEN.items() if r.file in files}
    found.update({name: r.function for name, r in REGISTRY.items() if r.file in files})
    return found
