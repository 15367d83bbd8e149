"""Regenerate the class of the similarity check: `python tests/submissions/make_similarity.py`.

For each of forward-pass and digits, a class in tests/submissions/similarity/<slug>/, each
notebook the student notebook of assignments/<slug>/ with its answer cells written as named:

    pair_a_*, pair_b_*          one solution shared by two, B's with every name changed, its
                                functions in another order and its comments and strings rewritten
    trio_1_*, trio_2_*, trio_3_*    another solution shared by three, each retouched a little
    independent_*               ten students who wrote their own, each in a style of their own
    stub_untouched_1, _2        the notebook as handed out (everyone's stub code, and nothing else)

The answers are written to be right (the forward-pass class is graded by tests/similarity/test_similarity.py);
no model.pt comes with the digits notebooks: only their code is compared. Deterministic.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "similarity"
HEADING = re.compile(r"^# Exercise (\d): your solution here$", re.M)

sys.path.insert(0, str(HERE))
from similarity_answers import DIGITS, FORWARD_PASS, TAILS  # noqa: E402


def read(path: Path) -> Any:
    import nbformat

    return nbformat.read(str(path), as_version=4)


def filled(slug: str, answers: dict[int, str]) -> Any:
    """The student notebook of `slug` with the answer cell of each exercise in `answers` replaced:
    its heading comment, the answer, then what the handed-out cell runs after it (digits)."""
    nb = copy.deepcopy(read(ROOT / "assignments" / slug / f"{slug}.ipynb"))
    for cell in nb.cells:
        match = HEADING.match(cell.source) if cell.cell_type == "code" else None
        if match and int(match.group(1)) in answers:
            n = int(match.group(1))
            tail = TAILS.get((slug, n), "")
            cell.source = (
                f"# Exercise {n}: your solution here\n" + answers[n].strip("\n") + ("\n\n" + tail if tail else "")
            )
    return nb


def write(slug: str, name: str, nb: Any) -> Path:
    import nbformat

    path = OUT / slug / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def main() -> None:
    for slug, students in (("forward-pass", FORWARD_PASS), ("digits", DIGITS)):
        for name, answers in students.items():
            write(slug, name, filled(slug, answers))
        for n in (1, 2):
            write(slug, f"stub_untouched_{n}", read(ROOT / "assignments" / slug / f"{slug}.ipynb"))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
