"""The installation folders a PYTHONPATH adds (`pip install --target`, as `make gpu-check`
installs the grader's dependencies beside a machine's own torch): absolute folders that hold an
installed distribution (*.dist-info). Imports nothing of the grader: the warm server's key
(grader.warm.identity) and the sandbox's spec (grader.sandbox.spec) both read it."""

from __future__ import annotations

import glob
import os


def install_folders(pythonpath: str) -> list[str]:
    out: list[str] = []
    for entry in pythonpath.split(os.pathsep):
        path = os.path.realpath(entry) if entry and os.path.isabs(entry) else ""
        if (
            path
            and path not in out
            and os.path.isdir(path)
            and glob.glob(os.path.join(glob.escape(path), "*.dist-info"))
        ):
            out.append(path)
    return out
