"""A student's folder as zip bytes, for a batch worker on another machine (Dask): the worker opens
it as it opens a zip submission (grader.submission.archive), bounds and names checked there."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from grader.submission.names import skipped

__all__ = ["PACK_MAX_BYTES", "pack_folder"]

PACK_MAX_BYTES = 512 * 2**20  # what one student's folder may send at most; the worker's bounds are lower


def pack_folder(folder: Path) -> bytes:
    """The plain files under `folder` (no links, no hidden entries or litter), zipped."""
    buf, total = io.BytesIO(), 0
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not skipped(d) and not os.path.islink(os.path.join(root, d)))
            for name in sorted(files):
                path = Path(root) / name
                if skipped(name) or path.is_symlink() or not path.is_file():
                    continue
                size = path.stat().st_size
                if total + size > PACK_MAX_BYTES:
                    continue  # left behind: the worker's bounds would refuse it anyway
                total += size
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()
