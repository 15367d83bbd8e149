"""How to grade, as every front end says it: the device, the sandbox, which checks, which kernels.

A leaf module (no import of the engine), so that argument parsers can name the choices cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from grader.errors import DeviceUnavailable, UsageError

Device = Literal["auto", "cpu", "cuda", "mps"]
SandboxMode = Literal["auto", "none", "require"]
DEVICES: tuple[str, ...] = get_args(Device)
SANDBOX_MODES: tuple[str, ...] = get_args(SandboxMode)


@dataclass(frozen=True)
class Options:
    device: Device = "auto"
    sandbox: SandboxMode = "auto"
    hidden: bool = True  # run solutions/<slug>/checks when present
    select: str | None = None  # pytest -k expression (one exercise, say)
    fork_server: bool = True  # kernels forked from a zygote with torch imported (grader/sandbox/forkserver.py);
    # False: a plain kernel per submission (--no-fork-server)


def parse_device(value: object) -> Device:
    """A device named in data (a JSON config, say), checked."""
    for device in get_args(Device):
        if value == device:
            return device
    raise DeviceUnavailable(f"unknown device '{value}'", hint="use one of: " + ", ".join(DEVICES))


def parse_sandbox(value: object) -> SandboxMode:
    """A sandbox mode named in data, checked."""
    for mode in get_args(SandboxMode):
        if value == mode:
            return mode
    raise UsageError(f"unknown sandbox mode '{value}'", hint="use one of: " + ", ".join(SANDBOX_MODES))
