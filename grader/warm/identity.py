"""Which warm server a `grader check` may use, and where it listens.

A server is named by a key: the hash of the installed grader's sources, of the assignment's
checks (every file of its checks folders and its assignment.toml) and of the environment
variables that change grading. Its socket lives in a folder only the user can read: owned by
the uid, mode 0700, not a symlink; any other folder is refused (the check runs cold).
Cheap to import: no torch, no grader engine.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.pythonpath import install_folders

DIR_VAR = "GRADER_SERVER_DIR"
NOT_HASHED = {DIR_VAR, "GRADER_NO_SERVER", "GRADER_FORKSERVER"}  # where the server is; the server's own zygote
ENV_PREFIXES = ("GRADER_", "CUDA_", "OMP_", "MKL_", "TORCH_", "PYTORCH_")
_GRADER_ROOT = Path(__file__).resolve().parent.parent
_SKIP_DIRS = {"__pycache__"}


@dataclass(frozen=True)
class ServerKey:
    grader: str  # sha256 of the grader package's files
    assignment: str  # sha256 of the checks folders and assignment.toml
    environment: str  # sha256 of the interpreter and the grading environment variables

    @property
    def name(self) -> str:
        return f"{self.grader[:12]}-{self.assignment[:12]}-{self.environment[:8]}"


class FolderRefused(Exception):
    """The server folder is not this user's alone; `str()` says why and what to do."""


def _hash_tree(digest: "hashlib._Hash", root: Path, label: str) -> None:
    if not root.is_dir():
        digest.update(f"{label}:missing\0".encode())
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(folder) / name
            digest.update(f"{label}:{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")


def grader_hash(root: Path = _GRADER_ROOT) -> str:
    """The hash of the installed grader's sources (code and templates)."""
    digest = hashlib.sha256()
    _hash_tree(digest, root, "grader")
    return digest.hexdigest()


def assignment_hash(root: Path, checks: tuple[Path, ...]) -> str:
    """The hash of `root`/assignment.toml and every file of the `checks` folders."""
    digest = hashlib.sha256()
    toml = root / "assignment.toml"
    digest.update(str(root.resolve()).encode() + b"\0")
    digest.update(toml.read_bytes() if toml.is_file() else b"missing")
    for index, folder in enumerate(checks):
        _hash_tree(digest, folder, f"checks{index}")
    return digest.hexdigest()


def interpreter() -> str:
    """This interpreter's path, normalised (`../.venv/bin/python` run from a subfolder leaves the `..` in
    sys.executable; a server started from another folder would see another path). Not resolved: a
    venv's python links to the base interpreter, and two venvs are two environments."""
    return os.path.normpath(os.path.abspath(sys.executable))


def environment_hash() -> str:
    digest = hashlib.sha256(interpreter().encode() + b"\0")
    for name in sorted(os.environ):
        if name.startswith(ENV_PREFIXES) and name not in NOT_HASHED:
            digest.update(f"{name}={os.environ[name]}\0".encode())
    # the install folders on PYTHONPATH reach the kernels (grader.sandbox.spec.import_folders): a
    # server started without one cannot grade a check that needs it. The folders, not PYTHONPATH
    # itself, which the client extends with the grader's own folder to start the server
    for folder in install_folders(os.environ.get("PYTHONPATH", "")):
        digest.update(f"install={folder}\0".encode())
    return digest.hexdigest()


def server_key(root: Path, checks: tuple[Path, ...]) -> ServerKey:
    """The key of a server for the assignment at `root` with these checks folders, in this environment."""
    return ServerKey(grader=grader_hash(), assignment=assignment_hash(root, checks), environment=environment_hash())


def server_dir() -> Path:
    """The user's server folder: $GRADER_SERVER_DIR, else $XDG_RUNTIME_DIR/grader, else /tmp/grader-<uid>."""
    explicit = os.environ.get(DIR_VAR)
    if explicit:
        return Path(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "grader"
    return Path("/tmp") / f"grader-{os.getuid()}"


def private_dir(folder: Path) -> Path:
    """`folder`, made (0700) if missing; raises FolderRefused unless it is a real folder of this
    uid that no one else can read, write or enter."""
    try:
        folder.mkdir(mode=0o700, parents=False)
    except FileExistsError:
        pass
    except OSError as exc:
        raise FolderRefused(f"cannot make the warm server's folder {folder}: {exc.strerror}") from exc
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise FolderRefused(f"{folder} is not a folder (a link or a file); remove it or set {DIR_VAR}")
    if info.st_uid != os.getuid():
        raise FolderRefused(
            f"{folder} belongs to uid {info.st_uid}, not to you (uid {os.getuid()}); "
            f"remove it or set {DIR_VAR} to a folder of your own"
        )
    if info.st_mode & 0o077:
        raise FolderRefused(
            f"{folder} can be reached by others (mode {stat.S_IMODE(info.st_mode):o}); run `chmod 700 {folder}`"
        )
    return folder


def socket_path(folder: Path, key: ServerKey) -> Path:
    return folder / f"check-{key.name}.sock"
