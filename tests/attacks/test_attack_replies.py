"""Hostile replies: a notebook that rewrites the agent and answers every request with a reply
that is malformed or over budget. Its answers are right, so only the replies can fail the checks:
each fails, in the words the student reads, the grader survives with its memory in bounds, and
the host is intact.
"""

from __future__ import annotations

import re
import resource

import pytest

from attack_support import Attacks, host_problems

STUDENT_WORDS = re.compile(
    r"the kernel's reply( for reading `\w+`)? could not be read as data \(.+\)"
    r"|the kernel's reply for reading `\w+` is too large to grade: .+"
    r"|the kernel's reply for reading `\w+` was refused: \w+"
)
EXPECTED = {
    "forge_hostile_replies": [
        "the kernel's reply could not be read as data (a NumPy scalar of dtype 'V1000000000'; only bool, integer, "
        "float and complex dtypes are carried)",
        "the kernel's reply for reading `activation` could not be read as data "
        "(the reply is nested too deeply to read)",
        "the kernel's reply for reading `reshape_weights` is too large to grade: it holds a string of 33,554,432 "
        "characters, more than the 1,048,576 a reply may hold",  # a 32 MB string
        "the kernel's reply for reading `reshape_weights` is too large to grade: its tensors hold 1,000,000,000,000 "
        "elements (4,000,000,000,000 bytes), more than the 134,217,728 elements and 536,870,912 bytes a reply may "
        "hold",  # 10**12 elements, stride 0
    ],
    "forge_hostile_blobs": [
        "the kernel's reply for reading `activation` could not be read as data (its tensor blob holds a compressed or "
        "oversized record ('archive/data/0'))",
        "the kernel's reply for reading `activation` was refused: UnpicklingError",  # bytearray(2 ** 40)
        "the kernel's reply for reading `reshape_weights` could not be read as data (its tensor blob is not a readable "
        "archive (BadZipFile))",
        "the kernel's reply for reading `reshape_weights` could not be read as data (its tensor blob is not an archive "
        "torch.save wrote)",
    ],
}
GROWTH = 512 * 1024  # KB: what grading one of them may add to the grader's peak memory


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_check_fails_on_its_hostile_reply_in_the_students_words(attacks: Attacks, name: str) -> None:
    import grader.nb.proxy, grader.checks.plugin, grader.grade, nbclient, torch  # noqa: F401, E401 - their memory is not the attack's

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    attack = attacks.grade(name)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    result = attack.result
    messages = [c.message for c in result.checks]
    assert (result.score, result.max_score) == (0, 4), messages
    assert all(c.status == "failed" and STUDENT_WORDS.fullmatch(c.message) for c in result.checks), messages
    assert messages == EXPECTED[name]
    assert not any("fault in the check" in m or "tell your instructor" in m for m in messages), messages
    assert not [e for e in result.errors if "Grader note" in e], result.errors  # no check crashed
    assert not [c for c in result.cells if c.index in (1, 2, 3, 4, 5)], result.cells  # every cell of the notebook ran
    assert grown < GROWTH, f"grading {name} raised the grader's peak memory by {grown} KB"
    assert host_problems(attack) == []
