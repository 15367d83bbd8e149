"""Canvas's bulk download ("Download Submissions"): one flat file per uploaded file, named

    lastfirst_[LATE_]userid_attachmentid_filename.ext

`lastfirst` is the student's sortable name (lowercase, no spaces), `LATE_` Canvas's late marker,
`userid` the Canvas user id, `attachmentid` the upload's id (larger: uploaded later). A file
uploaded again under the same name is renamed by Canvas `filename-1.ext`, `filename-2.ext`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CanvasFile", "parse_canvas_name", "upload_name"]

_NAME = re.compile(r"^(?P<key>[^\W_]+)_(?P<late>LATE_)?(?P<uid>\d+)_(?P<aid>\d+)_(?P<file>.+)$")
_AGAIN = re.compile(r"^(?P<stem>.+)-\d+(?P<ext>\.[^.]+)$")


@dataclass(frozen=True)
class CanvasFile:
    key: str  # lastfirst
    user_id: str
    attachment_id: int
    filename: str  # as the student uploaded it (with Canvas's -N for a repeat)
    late: bool


def parse_canvas_name(name: str) -> CanvasFile | None:
    """The parts of a Canvas download name, or None when `name` is not one."""
    match = _NAME.match(name)
    if match is None:
        return None
    return CanvasFile(
        key=match["key"],
        user_id=match["uid"],
        attachment_id=int(match["aid"]),
        filename=match["file"],
        late=bool(match["late"]),
    )


def upload_name(filename: str, others: set[str]) -> str:
    """The name before Canvas's repeat suffix: `hw1-2.ipynb` -> `hw1.ipynb` when that is one of
    `others` (the student's other names, the assignment's notebook); else `filename` as it is."""
    match = _AGAIN.match(filename)
    if match is not None and match["stem"] + match["ext"] in others:
        return match["stem"] + match["ext"]
    return filename
