"""The similarity check (grader/similarity/, docs/similarity.md) on a class built for it
(tests/submissions/make_similarity.py): the pair and the trio who share code are found, the ten
who wrote their own are not, one-line answers are too short to count, a stub counts for nothing;
fingerprints are stable across processes; a student's code is escaped wherever it is shown."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import load_assignment
from grader.submission.notebook import Cell
from grader.similarity.compare import compare
from grader.similarity.fingerprint import fingerprint, fingerprint_path
from grader.similarity.store import Prints
from grader.similarity.view import pairs_json, render_section

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ROOT / "tests" / "submissions" / "similarity"
PAIRS = {
    "forward-pass": [("pair_a_helper_functions", "pair_b_renamed_reordered_recommented")],
    "digits": [("pair_a_preprocessed_once", "pair_b_renamed_reordered_recommented")],
}
TRIOS = {
    "forward-pass": ("trio_1_stepwise", "trio_2_stepwise_renamed", "trio_3_stepwise_recommented"),
    "digits": ("trio_1_item_by_item", "trio_2_item_by_item_renamed", "trio_3_item_by_item_recommented"),
}


def class_prints(slug: str) -> list[Prints]:
    assignment = load_assignment(ROOT / "assignments" / slug)
    return [
        Prints(p.stem, "-", tuple(fingerprint_path(p, assignment))) for p in sorted((CLASSES / slug).glob("*.ipynb"))
    ]


@pytest.mark.parametrize("slug", ["forward-pass", "digits"])
def test_the_pair_and_the_trio_are_found_and_the_ten_independent_ones_are_not(slug: str) -> None:
    assignment = load_assignment(ROOT / "assignments" / slug)
    prints = class_prints(slug)
    assert len(prints) == 17 and sum(p.student.startswith("independent_") for p in prints) == 10
    found = compare(prints, assignment.similarity)
    trio = TRIOS[slug]
    expected = {*PAIRS[slug], (trio[0], trio[1]), (trio[0], trio[2]), (trio[1], trio[2])}
    assert {(p.a.student, p.b.student) for p in found.whole()} == expected
    assert not [p for p in found.pairs if "independent_" in p.a.student + p.b.student]  # per exercise neither
    assert found.clusters == [trio]
    pair = next(p for p in found.whole() if p.a.student.startswith("pair_a"))
    assert min(pair.a.share, pair.b.share) >= 0.6 and min(pair.a.tokens, pair.b.tokens) >= 150
    assert found.no_code == ["stub_untouched_1", "stub_untouched_2"]  # the stub is what everyone received


def test_one_line_answers_are_left_out_as_too_short_and_the_report_says_so() -> None:
    assignment = load_assignment(ROOT / "assignments" / "forward-pass")
    found = compare(class_prints("forward-pass"), assignment.similarity)
    assert "independent_one_liners" in found.too_short["neuron_sum"]
    assert "pair_a_helper_functions" not in found.too_short["neuron_sum"]
    html = render_section(found)
    n = len(found.too_short["neuron_sum"])
    assert f"<b>neuron_sum</b>: {n} answers of fewer than 40 tokens, left out of the comparison" in html
    assert "No code of their own beyond what was handed out: stub_untouched_1, stub_untouched_2." in html


def test_the_words_describe_and_never_accuse() -> None:
    assignment = load_assignment(ROOT / "assignments" / "digits")
    html = render_section(compare(class_prints("digits"), assignment.similarity))
    assert (
        "<b>trio_1_item_by_item</b> and <b>trio_2_item_by_item_renamed</b>: "
        "these two share 100% of their own code (162 and 162 tokens)" in html
    )
    assert (
        "trio_1_item_by_item, trio_2_item_by_item_renamed, trio_3_item_by_item_recommented share code with one another"
        in html
    )
    for word in ("copied", "plagiar", "cheat", "suspicious"):
        assert word not in html.lower()


def test_renamed_names_reordered_lines_and_other_comments_give_the_same_fingerprints() -> None:
    assignment = load_assignment(ROOT / "assignments" / "forward-pass")
    one = "def f(a, b):\n    # add them up\n    total = torch.sum(a * b)\n    return activation(total + 1)\n" * 3
    two = one.replace("total", "s").replace("f(", "g(").replace("# add them up", "# the weighted sum").replace("a", "x")

    def cells(code: str) -> list[Cell]:
        return [Cell(0, "## Exercise 1: one neuron", "markdown"), Cell(1, code)]

    a, b = fingerprint(cells(one), [], assignment), fingerprint(cells(two), [], assignment)
    assert [p.exercise for p in a] == ["neuron_sum"] and a[0].tokens == b[0].tokens
    assert a[0].hashes.tolist() == b[0].hashes.tolist()


def test_fingerprints_are_the_same_in_every_process() -> None:
    """What a batch keeps must compare with what a later one makes (Python's hash() of a string,
    which copydetect uses, differs from one process to the next)."""
    path = CLASSES / "digits" / "pair_a_preprocessed_once.ipynb"
    code = (
        "from pathlib import Path; from grader.course import load_assignment; "
        "from grader.similarity.fingerprint import fingerprint_path; "
        f"print([p.hashes.tolist() for p in fingerprint_path(Path({str(path)!r}), "
        f"load_assignment(Path({str(ROOT / 'assignments' / 'digits')!r})))])"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1] and len(json.loads(runs[0])[0]) > 10


def test_a_students_code_is_escaped_in_the_side_by_side_view() -> None:
    assignment = load_assignment(ROOT / "assignments" / "forward-pass")
    hostile = (
        'def f(x):\n    """</pre><script>alert(1)</script>"""\n'
        "    y = torch.sum(x * x) + 1  # <img src=x onerror=alert(2)>\n"
        "    z = activation(y) * torch.sum(x) - y / 2\n    return activation(z + y) * 3 - torch.mean(x)\n"
    )
    cells = [Cell(0, "## Exercise 1: one neuron", "markdown"), Cell(1, hostile)]
    prints = [Prints(f"<b>s{i}</b>", "-", tuple(fingerprint(cells, [], assignment))) for i in (1, 2)]
    html = render_section(compare(prints, assignment.similarity))
    assert "<script>" not in html and "<img" not in html and "<b>s1</b>" not in html
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;s1&lt;/b&gt;" in html
    assert "<mark>" in html


def test_the_json_holds_the_pairs_with_the_fields_of_the_contract() -> None:
    assignment = load_assignment(ROOT / "assignments" / "digits")
    rows = json.loads(pairs_json(compare(class_prints("digits"), assignment.similarity)))
    whole = [r for r in rows if r["exercise"] is None]
    assert {"a", "b", "a_share", "b_share", "exercise"} <= set(rows[0])
    assert whole[0]["a"] == "trio_1_item_by_item" and whole[0]["a_share"] == 1.0
    assert {r["exercise"] for r in rows} == {None, "dataset", "network"}


def test_a_similarity_table_out_of_range_is_refused_in_words(tmp_path: Path) -> None:
    from grader.config import read_assignment_file
    from grader.errors import GraderError

    (tmp_path / "assignment.toml").write_text('title = "t"\n[similarity]\nthreshold = 82\n')
    with pytest.raises(GraderError) as caught:
        read_assignment_file(tmp_path / "assignment.toml", "t")
    assert "[similarity] threshold = 82 is not a share between 0 and 1" in str(caught.value)
    (tmp_path / "assignment.toml").write_text('title = "t"\n[similarity]\nthreshold = 0.8\nmin_tokens = 60\n')
    found = read_assignment_file(tmp_path / "assignment.toml", "t").similarity
    assert (found.threshold, found.min_tokens, found.common) == (0.8, 60, 0.1)


def test_the_fingerprints_table_is_the_one_docs_batch_md_lists(tmp_path: Path) -> None:
    import re

    from grader.batch.gradebook import Gradebook

    Gradebook(f"sqlite:///{tmp_path / 'g.sqlite'}").close()
    with sqlite3.connect(tmp_path / "g.sqlite") as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(fingerprints)")]
    documented = dict(re.findall(r"^- `(\w+)\(([^)]*)\)`", (ROOT / "docs" / "batch.md").read_text(), re.M))
    assert [c.split()[0] for c in documented["fingerprints"].split(", ")] == columns


def test_a_regrade_replaces_a_submissions_fingerprints_and_a_stub_keeps_an_empty_row(tmp_path: Path) -> None:
    from grader.batch.gradebook import Gradebook
    from grader.results import Result
    from grader.similarity import store

    assignment = load_assignment(ROOT / "assignments" / "digits")
    book = Gradebook(f"sqlite:///{tmp_path / 'g.sqlite'}")
    for student in ("ada", "stub"):
        book.record(
            assignment="digits",
            student=student,
            sha256="0" * 64,
            source=f"{student}.ipynb",
            status="failed",
            result=Result(submission=f"{student}.ipynb", assignment="digits"),
        )
    pair_a = fingerprint_path(CLASSES / "digits" / "pair_a_preprocessed_once.ipynb", assignment)
    trio = fingerprint_path(CLASSES / "digits" / "trio_1_item_by_item.ipynb", assignment)
    store.write(book, "digits", "ada", "0" * 64, pair_a)
    store.write(book, "digits", "ada", "0" * 64, trio)  # --regrade: the new ones replace them
    store.write(
        book, "digits", "stub", "0" * 64, fingerprint_path(CLASSES / "digits" / "stub_untouched_1.ipynb", assignment)
    )
    kept = {p.student: p for p in store.read(book, "digits")}
    book.close()
    assert [(p.exercise, p.tokens, p.hashes.tolist()) for p in kept["ada"].parts] == [
        (p.exercise, p.tokens, p.hashes.tolist()) for p in trio
    ]
    assert [(p.exercise, p.tokens) for p in kept["stub"].parts] == [("", 0)]
    assert store.fingerprinted(Gradebook(f"sqlite:///{tmp_path / 'g.sqlite'}"), "digits") == {
        ("ada", "0" * 64),
        ("stub", "0" * 64),
    }


def test_grader_similarity_without_a_gradebook_says_what_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.cli.main import main

    code = main(["similarity", str(ROOT / "assignments" / "digits"), "--gradebook", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2 and f"no gradebook at {tmp_path / 'nowhere'}" in err


def test_a_students_own_py_files_count_and_a_hostile_file_name_stays_one_comment_line(tmp_path: Path) -> None:
    assignment = load_assignment(ROOT / "assignments" / "digits")
    helpers = '''def scaled(images, top=255.0):
    """Pixels as floats in [0, 1], one row per image."""
    flat = images.reshape(images.shape[0], -1)
    return flat.float() / top


def accuracy(model, images, labels):
    with torch.no_grad():
        guesses = model(scaled(images)).argmax(dim=1)
    return (guesses == labels).float().mean().item()
'''
    for student, name, text in (
        ("ana", "helpers.py", helpers),
        ("ben", "utils\nimport os.py", helpers.replace("guesses", "g").replace("top", "m")),
    ):
        folder = tmp_path / student
        folder.mkdir()
        shutil.copy(CLASSES / "digits" / "stub_untouched_1.ipynb", folder / "digits.ipynb")
        (folder / name).write_text(text)
    prints = [Prints(s, "-", tuple(fingerprint_path(tmp_path / s, assignment))) for s in ("ana", "ben")]
    assert [p.exercise for p in prints[0].parts] == [""] and prints[0].parts[0].code.startswith("# [file helpers.py]\n")
    assert prints[1].parts[0].code.startswith("# [file utils_import_os.py]\ndef scaled")
    found = compare(prints, assignment.similarity)
    assert [(p.a.student, p.b.student, p.a.share, p.b.share) for p in found.whole()] == [("ana", "ben", 1.0, 1.0)]


def test_the_committed_class_is_what_make_similarity_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_similarity", ROOT / "tests" / "submissions" / "make_similarity.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    module.main()
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.ipynb"))
    assert made == sorted(p.relative_to(CLASSES) for p in CLASSES.rglob("*.ipynb")) and len(made) == 34
    assert all((tmp_path / p).read_text() == (CLASSES / p).read_text() for p in made)
