"""The `grader` command: argument parsing only, one module a command; the work is in library functions."""

from __future__ import annotations

from grader.cli.main import main

__all__ = ["main"]
