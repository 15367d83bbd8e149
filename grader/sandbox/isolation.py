"""Which isolation this host can give a kernel: bubblewrap when it works here, rlimits always.

The single place that decides isolation (`detect`); every verdict records `Isolation.label`.
What a kernel's sandbox then is, in detail, is its SandboxSpec (`grader.sandbox.spec`): under
bubblewrap a read-only system, the Python it runs, its own folder, private tmpfs for /tmp and
its home, no network, its own pid namespace and, when the grader runs as root, a uid of its
own with no capabilities. The probes of the host the spec needs (what bubblewrap and setpriv
support, whether others can run this Python) live here too. See docs/security.md.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.errors import SandboxUnavailable

__all__ = [
    "Isolation",
    "SandboxUnavailable",
    "bwrap_options",
    "bwrap_works",
    "detect",
    "reachable_by_others",
    "setpriv_knows",
]


@dataclass(frozen=True)
class Isolation:
    kind: Literal["bubblewrap", "limits"]
    label: str  # what the verdict says
    bwrap: str | None = None

    @property
    def sandboxed(self) -> bool:
        return self.kind == "bubblewrap"


@functools.lru_cache(maxsize=1)
def bwrap_works(bwrap: str) -> str:
    """'' when bubblewrap can build our sandbox here, else the reason it cannot."""
    try:
        proc = subprocess.run(
            [
                bwrap,
                "--ro-bind",
                "/",
                "/",
                "--unshare-pid",
                "--unshare-net",
                "--die-with-parent",
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--tmpfs",
                "/tmp",
                "true",
            ],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if proc.returncode == 0 else proc.stderr.decode("utf-8", "replace").strip()[:200]


@functools.lru_cache(maxsize=4)
def bwrap_options(bwrap: str) -> frozenset[str]:
    """The options this bubblewrap knows (--size and --perms arrived in 0.5-0.7)."""
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, timeout=10).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    return frozenset(word for word in text.split() if word.startswith("--"))


def detect(mode: str = "auto") -> Isolation:
    """mode: auto (bubblewrap when it works), none (limits only), require (error without it)."""
    if mode == "none":
        return Isolation("limits", f"limits only (sandbox disabled by --no-sandbox); the kernel runs {_identity()}")
    bwrap = shutil.which("bwrap")
    reason = "bubblewrap is not installed" if bwrap is None else bwrap_works(bwrap)
    if bwrap and not reason:
        return Isolation(
            "bubblewrap",
            "bubblewrap sandbox (no network, read-only system, private /tmp, own pid namespace) + limits",
            bwrap,
        )
    if mode == "require":
        raise SandboxUnavailable(
            f"a sandbox is required but unavailable: {reason}",
            hint="install bubblewrap (apt-get install bubblewrap) or drop --require-sandbox",
        )
    return Isolation("limits", f"limits only, no sandbox ({reason}); the kernel runs {_identity()}")


def _identity() -> str:
    """Who the kernel runs as without a sandbox: what a verdict must admit."""
    if os.name != "posix":
        return "as your user, with your user's files and network"
    if os.geteuid() != 0:
        return "as your user, with your user's files and network"
    if reachable_by_others(sys.executable):
        return "as a uid of its own, with network access and read access to world-readable files"
    if setpriv_knows("--ambient-caps"):
        return (
            "as a uid of its own allowed to read every file (this Python is not reachable by other "
            "users), with network access"
        )
    return "as root (this Python is not reachable by other users), with full access to files and network"


@functools.lru_cache(maxsize=8)
def setpriv_knows(option: str) -> bool:
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return False
    try:
        text = subprocess.run([setpriv, "--help"], capture_output=True, timeout=10).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in text


@functools.lru_cache(maxsize=4)
def reachable_by_others(executable: str) -> bool:
    """Can an unprivileged user run this interpreter outside a sandbox (is every parent o+x)?"""
    paths = {os.path.realpath(executable), *(os.path.realpath(p) for p in (sys.prefix, sys.base_prefix))}
    for path in paths:
        for parent in [Path(path), *Path(path).parents]:
            try:
                if not parent.stat().st_mode & 0o001:
                    return False
            except OSError:
                return False
    return True
