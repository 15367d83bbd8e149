"""Moodle's "Download all submissions": one folder per student and submission plugin,

    Full Name_participantid_assignsubmission_file_/   the files the student uploaded
    Full Name_participantid_assignsubmission_onlinetext_/

or, with "Download submissions in folders" off, flat files `Full Name_id_assignsubmission_file_name`.
The id is the participant identifier the grading worksheet's `Identifier` column shows ("Participant 123").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MoodleName", "parse_moodle_name"]

_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$")


@dataclass(frozen=True)
class MoodleName:
    display_name: str
    participant: str
    plugin: str  # file, onlinetext, ...
    filename: str  # "" for a folder; the file's own name for a flat file


def parse_moodle_name(name: str, *, folder: bool) -> MoodleName | None:
    """The parts of a Moodle download name (a folder's, or a flat file's), or None."""
    match = _FOLDER.match(name)
    if match is None or (folder and match["file"]) or (not folder and not match["file"]):
        return None
    return MoodleName(
        display_name=match["name"].strip(), participant=match["id"], plugin=match["plugin"], filename=match["file"]
    )
