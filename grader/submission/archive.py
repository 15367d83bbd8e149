"""A zip holding a notebook and its own files, opened without trusting it.

Before any byte is extracted: the archive's own size is bounded; the notebook is chosen (the only
one, or the one named as the assignment's notebook), and its folder in the zip is the root of the
submission; every other entry goes through the Collector (names made safe, no '..', no absolute
paths, no links, no encrypted entries, the count and the total size bounded by what the zip's
directory declares). Extraction then reads at most the declared size of each entry (zipfile stops
there, and a CRC that does not match refuses the entry): a zip bomb costs the bound, not the bomb.
"""

from __future__ import annotations

import hashlib
import posixpath
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.submission.collect import Collector
from grader.submission.names import is_junk, safe_name

__all__ = ["NOTEBOOK_MAX_BYTES", "Unpacked", "unpack", "zip_slug"]

NOTEBOOK_MAX_BYTES = 50 * 2**20  # as grader.submission.notebook.MAX_BYTES


@dataclass(frozen=True)
class Unpacked:
    notebook: Path | None  # the extracted notebook; None when none can be graded
    problem: str = ""  # why not, in words for the student


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _choose(names: list[str], notebook_name: str, label: str) -> tuple[str | None, str]:
    notebooks = [n for n in names if n.lower().endswith(".ipynb") and not is_junk(n)]
    named = [n for n in notebooks if posixpath.basename(n) == notebook_name]
    if len(named) == 1:
        return named[0], ""
    if len(notebooks) == 1 and not named:
        return notebooks[0], ""
    if not notebooks:
        return None, f"The zip {label} holds no notebook (.ipynb); put the notebook and its files in the zip."
    shown = ", ".join((named or notebooks)[:8])
    return None, (
        f"The zip {label} holds {len(notebooks)} notebooks ({shown}); the grader cannot tell which to "
        f"grade. Keep one, named {notebook_name}."
    )


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> int:
    """Copy one entry to `target`, at most its declared size; its size, or -1 when damaged."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            for block in iter(lambda: src.read(1 << 20), b""):
                written += len(block)
                if written > info.file_size:
                    raise zipfile.BadZipFile("longer than declared")
                out.write(block)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        target.unlink(missing_ok=True)
        return -1
    return written


def _digest(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    try:
        with zf.open(info) as src:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        return ""
    return digest.hexdigest()


def _notebook(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, label: str) -> Unpacked:
    if _is_link(info) or info.flag_bits & 0x1 or safe_name(info.filename).reason:
        return Unpacked(
            None,
            f"The notebook {info.filename} in the zip {label} is a link, encrypted, or has a "
            "name that leaves the zip's folder; zip the notebook file itself.",
        )
    if info.file_size > NOTEBOOK_MAX_BYTES:
        return Unpacked(
            None,
            f"The notebook {info.filename} in the zip {label} is larger than "
            f"{NOTEBOOK_MAX_BYTES // 2**20} MB; a notebook that big cannot be graded.",
        )
    target = dest / posixpath.basename(info.filename)
    if _extract(zf, info, target) < 0:
        return Unpacked(None, f"The notebook {info.filename} in the zip {label} is damaged (it could not be unpacked).")
    return Unpacked(target)


def _files(
    zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], root: str, dest: Path, collector: Collector
) -> None:
    for name, info in entries.items():
        if collector.full:
            collector.unlisted = True
            return
        if root and not name.startswith(root):
            if not (is_junk(name) or name.lower().endswith(".ipynb")):
                collector.looked += 1
                collector.refuse(
                    name, f"it is not in the notebook's folder ({root.rstrip('/')}) in the zip", info.file_size
                )
            continue
        sent = name[len(root) :]
        if _is_link(info) or info.flag_bits & 0x1:
            collector.looked += 1
            collector.refuse(sent, "a link" if _is_link(info) else "an encrypted entry", info.file_size)
            continue
        taken = collector.consider(sent, info.file_size, lambda info=info: _digest(zf, info))  # type: ignore[misc]
        if taken is None:
            continue
        size = _extract(zf, info, dest / taken)
        if size < 0:
            collector.refuse(sent, "it is damaged in the zip (it could not be unpacked)", info.file_size)
        else:
            collector.take(taken, size, dest / taken, sent)


def unpack(archive: Path, dest: Path, notebook_name: str, collector: Collector) -> Unpacked:
    """Extract the notebook of `archive` into `dest` and its files into `dest/files`, bounded."""
    label = archive.name
    limit = NOTEBOOK_MAX_BYTES + collector.max_bytes + 2**20
    try:
        if archive.stat().st_size > limit:
            return Unpacked(
                None,
                f"The zip {label} is larger than {limit // 2**20} MB: more than a notebook and "
                f"{collector.limits.submitted_mb} MB of files. Send fewer or smaller files.",
            )
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return Unpacked(None, f"The zip {label} could not be read ({exc}); zip the notebook and its files again.")
    with zf:
        entries = {i.filename.replace("\\", "/"): i for i in zf.infolist() if not i.is_dir()}
        chosen, problem = _choose(list(entries), notebook_name, label)
        if chosen is None:
            return Unpacked(None, problem)
        opened = _notebook(zf, entries.pop(chosen), dest, label)
        if opened.notebook is not None:
            root = posixpath.dirname(chosen)
            _files(zf, entries, root + "/" if root else "", dest / "files", collector)
        return opened


def zip_slug(archive: Path) -> str | None:
    """The slug in the metadata of the zip's only notebook (or the only one of `notebook_name`), or None."""
    import json

    from grader.course import metadata_slug

    try:
        with zipfile.ZipFile(archive) as zf:
            entries = {i.filename.replace("\\", "/"): i for i in zf.infolist() if not i.is_dir()}
            notebooks = [n for n in entries if n.lower().endswith(".ipynb") and not is_junk(n)]
            if len(notebooks) != 1 or entries[notebooks[0]].file_size > NOTEBOOK_MAX_BYTES:
                return None
            data = json.loads(zf.read(entries[notebooks[0]]).decode("utf-8-sig"))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return None
    return metadata_slug(data) if isinstance(data, dict) else None
