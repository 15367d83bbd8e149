"""One exception root for every fault of the grader itself.

A fault in *student* code is never an exception here: it is data in the verdict.
Each subclass carries the exit code the CLI returns and the facts of the failure.
"""

from __future__ import annotations


class GraderError(Exception):
    """Root of every error the grader raises; `exit_code` is what the CLI returns."""

    exit_code: int = 2
    transient: bool = False  # may not happen again (a kernel that did not start): a batch grades the submission again

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  {self.hint}" if self.hint else self.message


class UsageError(GraderError):
    """Bad arguments or options."""


class AssignmentError(GraderError):
    """The assignment folder is missing or malformed."""


class DeviceUnavailable(GraderError):
    """The requested grading device does not exist on this machine."""


class SandboxUnavailable(GraderError):
    """--require-sandbox was given but no sandbox can be applied."""


class KernelError(GraderError):
    """The kernel could not be started at all (not a student fault)."""

    transient = True


class AuthoringError(GraderError):
    """A master notebook or checks file an instructor wrote is malformed."""
