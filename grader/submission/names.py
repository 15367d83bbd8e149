"""A name sent with a notebook, as the kernel's working folder may hold it.

A name is a relative path of at most MAX_DEPTH parts. Refused: absolute paths, drive letters,
'..', hidden names (a part starting with '.'), parts longer than MAX_PART characters. Made safe:
any character other than letters, digits and ` ._-+()@,=[]~#` becomes '_', and a part may not start
with '-'. Litter (macOS resource forks, Jupyter checkpoints, caches) is skipped without a word.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["JUNK", "MAX_DEPTH", "MAX_PART", "SafeName", "is_junk", "safe_name", "skipped"]

MAX_DEPTH = 6
MAX_PART = 120
JUNK = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db", ".git", ".venv", "desktop.ini"}
ALLOWED = set(" ._-+()@,=[]~#")


@dataclass(frozen=True)
class SafeName:
    name: str = ""  # the name the kernel sees ("" when refused)
    reason: str = ""  # why it is refused ("" when taken)


def skipped(name: str) -> bool:
    """A folder's entry that is never a student's (a hidden one, or litter): not walked into, not taken."""
    return name.startswith(".") or name in JUNK


def is_junk(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return any(p in JUNK or p.startswith("._") for p in parts)


def _part(part: str) -> str:
    safe = "".join(c if (c.isalnum() or c in ALLOWED) and c.isprintable() else "_" for c in part)
    return "_" + safe[1:] if safe.startswith("-") else safe


def safe_name(sent: str) -> SafeName:
    """The name `sent` as the kernel will see it, or the reason it cannot be taken."""
    text = sent.replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    parts = [p for p in text.split("/") if p != ""]
    if text.startswith("/") or (parts and len(parts[0]) == 2 and parts[0][1] == ":"):
        return SafeName(reason="an absolute path; send names relative to the notebook's folder")
    if not parts:
        return SafeName(reason="an empty name")
    if ".." in parts or "." in parts:
        return SafeName(reason="a path that leaves the notebook's folder ('..')")
    if any(p.startswith(".") for p in parts):
        return SafeName(reason="a hidden file (its name starts with '.')")
    if len(parts) > MAX_DEPTH:
        return SafeName(reason=f"more than {MAX_DEPTH} folders deep")
    if any(len(p) > MAX_PART for p in parts):
        return SafeName(reason=f"a name longer than {MAX_PART} characters")
    return SafeName(name="/".join(_part(p) for p in parts))
