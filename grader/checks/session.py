"""pytest in this process, for the grading plugin: the ordinary run (pytest.main), and a session
prepared ahead by a process that forks its graders.

A prepared session is everything pytest.main does before the first check runs, done once in the
process that forks the graders (the warm server, a batch's worker server): the configuration
(arguments, plugins, the ini file), the session's start and the collection (the check modules
imported, their tests found, selected and ordered). No check runs there. In a fork of that
process, the first grading of the same checks (the same folders and their contents, the same
hidden folder, the same selection) takes it: the fork's copy of the grading plugin is given the
submission's notebook, the collected checks run, and the session finishes as pytest.main
finishes one (the same exit statuses). A prepared session serves one grading in one fork; the
process that prepared it, and a second grading in the same fork, run pytest.main.

It takes pytest.main's steps one by one, some of them pytest's own internals (_prepareconfig,
Config._do_configure and _ensure_unconfigure, as in pytest 8 and 9): a pytest without them
prepares nothing, and every grading runs pytest.main.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "Prepared",
    "checks_key",
    "imported_from",
    "no_bytecode_written",
    "prepare",
    "prepared_for",
    "pytest_args",
    "run_pytest",
]

INI = Path(__file__).parent / "pytest.ini"
HASHED_BYTES = 1 << 20


def pytest_args(paths: list[Path], *, select: str | None = None) -> list[str]:
    """pytest's arguments for the check folders among `paths` that exist ([] when none does)."""
    args = [str(p) for p in paths if p.exists()]
    if not args:
        return []
    args += [
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        "-p",
        "no:stepwise",
        "-p",
        "no:pastebin",
        "-p",
        "no:junitxml",
        "-p",
        "no:doctest",
        # per-submission costs with nothing to show for them here: these two run gc.collect() five
        # times per session (to surface unraisable exceptions; with torch loaded, most of a small
        # assignment's check time); logging swaps handlers around every test phase; autoloading
        # scans every installed distribution for pytest11 entry points (checks use the `nb`
        # fixture and the grader's own markers; no third-party fixture such as caplog)
        "-p",
        "no:unraisableexception",
        "-p",
        "no:threadexception",
        "-p",
        "no:logging",
        "--disable-plugin-autoload",
        "--import-mode=importlib",
        "-o",
        "python_files=test_*.py check_*.py",
        "-o",
        "addopts=",
        "--rootdir",
        str(Path(args[0]).resolve().parent),
        "-c",
        str(INI),
        "-s",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        # conftest.py files above the checks (a course repository's own) stay out of grading
        "--confcutdir",
        os.path.commonpath([str(Path(a).resolve()) for a in args]),
    ]
    if select:
        args += ["-k", select]
    return args


@contextmanager
def no_bytecode_written() -> Iterator[None]:
    """Python and pytest write no bytecode while the checks are collected and run: no
    __pycache__ in the course's check folders (pytest's assertion rewriting would leave one
    there, beside files the grader only reads, and fail quietly on a read-only course folder).
    Bytecode already there is still read. The rewrite it costs, a few ms for a small
    assignment, is paid once per process that forks graders and once per cold check."""
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before


def run_pytest(args: list[str], plugins: list[Any]) -> int:
    """The ordinary run: pytest.main, its exit status."""
    return int(pytest.main(args, plugins=plugins))


def checks_key(paths: list[Path], hidden_root: Path | None, select: str | None) -> str:
    """What a prepared session must match: the check folders and every file in them (a check
    edited since is another set of checks: files up to HASHED_BYTES by their contents, larger
    ones by size and time of change), the hidden folder, the selection."""
    digest = hashlib.sha256()
    for folder in sorted(Path(p).resolve() for p in paths if p.exists()):
        digest.update(f"folder {folder}\n".encode())
        for file in sorted(f for f in folder.rglob("*") if f.is_file() and "__pycache__" not in f.parts):
            stat = file.stat()
            digest.update(f"{file.relative_to(folder)} {stat.st_size}\n".encode())
            digest.update(file.read_bytes() if stat.st_size <= HASHED_BYTES else str(stat.st_mtime_ns).encode())
    digest.update(f"hidden {hidden_root.resolve() if hidden_root else ''}\nselect {select or ''}\n".encode())
    return digest.hexdigest()


@dataclass
class Prepared:
    """A configured pytest session with its checks collected, not yet run."""

    key: str
    config: Any  # pytest.Config
    session: Any  # pytest.Session
    plugin: Any  # the grading plugin registered with it (grader.checks.plugin.GradingPlugin)
    owner: int  # the process that prepared it, which never runs it
    modules: frozenset[str] = frozenset()  # what its collection imported (the check modules)
    taken: bool = False

    def forget(self) -> None:
        """Not to be used here: its check modules out of sys.modules too (the checks may have
        changed since: pytest would take a module already imported under the same name)."""
        self.taken = True
        for name in self.modules:
            sys.modules.pop(name, None)

    def run(self) -> int:
        """Run the collected checks and finish the session, with pytest.main's exit statuses
        (wrap_session's): 0 passed, 1 a check failed, 2 interrupted, 3 internal error, 5 none collected."""
        from _pytest.main import ExitCode
        from _pytest.outcomes import Exit

        config, session = self.config, self.session
        before = os.environ.get("PYTEST_VERSION")
        os.environ["PYTEST_VERSION"] = pytest.__version__
        try:
            try:
                config.hook.pytest_runtestloop(session=session)
                session.exitstatus = (
                    ExitCode.TESTS_FAILED
                    if session.testsfailed
                    else ExitCode.NO_TESTS_COLLECTED
                    if session.testscollected == 0
                    else ExitCode.OK
                )
            except session.Failed:
                session.exitstatus = ExitCode.TESTS_FAILED
            except (KeyboardInterrupt, Exit, session.Interrupted) as exc:
                code = getattr(exc, "returncode", None)
                session.exitstatus = code if code is not None else ExitCode.INTERRUPTED
            except BaseException as exc:  # as pytest.main: an internal error, never a crash of the grader
                session.exitstatus = ExitCode.INTERNAL_ERROR
                print(f"pytest internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            finally:
                try:
                    config.hook.pytest_sessionfinish(session=session, exitstatus=session.exitstatus)
                finally:
                    config._ensure_unconfigure()
        finally:
            if before is None:
                os.environ.pop("PYTEST_VERSION", None)
            else:
                os.environ["PYTEST_VERSION"] = before
        return int(session.exitstatus)


_PREPARED: Prepared | None = None


def prepare(paths: list[Path], plugins: list[Any], *, select: str | None = None) -> str:
    """Configure pytest and collect the checks under `paths` in this process, for its forks
    (`plugins[0]` is the grading plugin, with no notebook yet). '' or why it was not prepared:
    then every fork runs pytest.main, as without it."""
    global _PREPARED
    from _pytest.config import _prepareconfig
    from _pytest.main import Session

    if _PREPARED is not None:  # replaced: its modules are not these checks'
        _PREPARED.forget()
    _PREPARED = None
    args = pytest_args(paths, select=select)
    if not args:
        return "no checks folder"
    key = checks_key(paths, plugins[0].hidden_root, select)
    before = set(sys.modules)
    with no_bytecode_written():
        config = _prepareconfig(args, plugins)
        try:
            if not callable(getattr(config, "_ensure_unconfigure", None)):
                raise RuntimeError(f"pytest {pytest.__version__} finishes a session in another way")
            session = Session.from_config(config)
            session.exitstatus = 0
            config._do_configure()
            config.hook.pytest_sessionstart(session=session)
            config.hook.pytest_collection(session=session)
        except BaseException as exc:
            getattr(config, "_ensure_unconfigure", lambda: None)()
            return f"{type(exc).__name__}: {exc}"
    _PREPARED = Prepared(key, config, session, plugins[0], os.getpid(), imported_from(set(sys.modules) - before, paths))
    return ""


def imported_from(names: set[str], paths: list[Path]) -> frozenset[str]:
    """Those of the modules `names` whose file is under the check folders (or the folder above
    the first, pytest's rootdir here): the check modules and their conftests."""
    folders = [Path(p).resolve() for p in paths if p.exists()]
    prefixes = tuple(str(f) + os.sep for f in folders + [f.parent for f in folders[:1]])
    found = set()
    for name in names:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file and os.path.realpath(file).startswith(prefixes):
            found.add(name)
    return frozenset(found)


def prepared_for(paths: list[Path], hidden_root: Path | None, select: str | None) -> Prepared | None:
    """The session prepared for exactly these checks, once, in a fork of the process that prepared it."""
    prepared = _PREPARED
    if prepared is None or prepared.taken or prepared.owner == os.getpid():
        return None
    prepared.taken = True  # whatever follows: this fork's one use of it
    try:
        same = checks_key(paths, hidden_root, select) == prepared.key
    except OSError:
        same = False
    if not same:
        prepared.forget()
        return None
    return prepared
