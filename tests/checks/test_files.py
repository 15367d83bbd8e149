"""Files that go with a notebook (issue 14): the assignment's own ([files] public, seen read-only by
every kernel; hidden, never seen by one, read by the checks through `assignment_files`) and the
files a student sends with the notebook (a folder or a zip; `grader check --with`), bounded,
named safely, and listed in results.json. Real notebooks in real kernels, in the sandbox."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
import torch

from grader.authoring.assign import assign
from grader.checking import Outputs, check_notebook
from grader.config import Limits
from grader.course import load_assignment
from grader.errors import AssignmentError
from grader.grade import Options, default_kernel
from grader.sandbox.files import KernelFile
from grader.sandbox.isolation import detect
from grader.submission.archive import unpack
from grader.submission.collect import Collector

SLUG = "files-demo"
ANSWER = "SECRET-HELD-OUT 16"  # the hidden file's words: no kernel may ever read them
SANDBOX_REASON = detect("auto").reason if not detect("auto").sandboxed else ""
if SANDBOX_REASON and os.environ.get("GRADER_REQUIRE_SANDBOX_TESTS"):
    raise RuntimeError(f"GRADER_REQUIRE_SANDBOX_TESTS is set (CI) but there is no sandbox: {SANDBOX_REASON}")
needs_sandbox = pytest.mark.skipif(bool(SANDBOX_REASON), reason=f"needs the sandbox: {SANDBOX_REASON}")

TOML = f"""
slug = "{SLUG}"
title = "Files: data, helpers and a model"
notebook = "{SLUG}.ipynb"

[exercises]
files = "The assignment's data, the student's own helpers and model"

[files]
public = ["data/*.txt", "course_utils.py"]
hidden = ["held-out"]
max_mb = 1

[limits]
submitted_mb = 1
submitted_files = 4
"""
CELLS = [
    "import torch\nfrom pathlib import Path\nimport course_utils\n"
    "train = [float(v) for v in Path('data/train.txt').read_text().split()]",
    "def total():\n    return sum(train) + course_utils.OFFSET",
    "import helpers\nweights = torch.load('model.pt', weights_only=True)",
    "def scaled():\n    return helpers.scale(weights)",
]
PUBLIC_CHECKS = """
import pytest
import torch

from grader.checks import assert_tensor

pytestmark = pytest.mark.exercise("files")


@pytest.mark.points(1)
def test_total_reads_the_assignment_data(nb, assignment_files):
    values = [float(v) for v in (assignment_files / "data/train.txt").read_text().split()]
    assert nb.total() == sum(values) + 10, "total() must add the training values and course_utils.OFFSET"


@pytest.mark.points(1)
def test_scaled_uses_the_submitted_model(nb):
    assert_tensor(nb.scaled(), torch.arange(4.0) * 2)


@pytest.mark.points(1)
def test_total_against_the_held_out_answer(nb, assignment_files):
    words = (assignment_files / "held-out/answer.txt").read_text().split()
    assert nb.total() == float(words[-1])
"""
HIDDEN_CHECKS = """
import pytest

pytestmark = pytest.mark.exercise("files")


@pytest.mark.points(1)
def test_total_hidden(nb, assignment_files):
    assert nb.total() == float((assignment_files / "held-out/answer.txt").read_text().split()[-1])
"""


def notebook_json(cells: list[str]) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["grader"] = {"slug": SLUG, "version": "1"}
    return nbformat.writes(nb)


def make_master(course: Path) -> Path:
    master = course / "solutions" / SLUG
    for rel, text in {
        "assignment.toml": TOML,
        "data/train.txt": "1 2 3\n",
        "data/notes.txt": "public notes\n",
        "course_utils.py": "OFFSET = 10\n",
        "held-out/answer.txt": ANSWER + "\n",
        "public/test_files.py": PUBLIC_CHECKS,
        "checks/test_hidden.py": HIDDEN_CHECKS,
        f"{SLUG}.ipynb": notebook_json(CELLS),
    }.items():
        (master / rel).parent.mkdir(parents=True, exist_ok=True)
        (master / rel).write_text(text)
    return master


def model_bytes() -> bytes:
    buf = io.BytesIO()
    torch.save(torch.arange(4.0), buf)
    return buf.getvalue()


HELPERS = "def scale(w):\n    return w * 2\n"


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = tmp_path_factory.mktemp("course")
    assign(make_master(course), course / "assignments")
    return course


def submission_folder(where: Path, *, helpers: bool = True, model: bool = True) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    (where / f"{SLUG}.ipynb").write_text(notebook_json(CELLS))
    if helpers:
        (where / "helpers.py").write_text(HELPERS)
    if model:
        (where / "model.pt").write_bytes(model_bytes())
    return where / f"{SLUG}.ipynb"


def grade_it(course: Path, path: Path, tmp: Path, **kw: Any) -> tuple[Any, dict[str, Any]]:
    results = tmp / "results.json"
    result, _ = check_notebook(
        path, course / "assignments" / SLUG, options=Options(device="cpu"), outputs=Outputs(results=results), **kw
    )
    return result, json.loads(results.read_text())


def verdicts(result: Any) -> dict[str, str]:
    return {c.name: c.status for c in result.checks}


# -- the assignment's files -------------------------------------------------------------------------


def test_assign_copies_the_public_files_and_never_the_hidden_ones(course: Path, tmp_path: Path) -> None:
    master, student = course / "solutions" / SLUG, course / "assignments" / SLUG
    for rel in ("data/train.txt", "data/notes.txt", "course_utils.py"):
        assert (student / rel).read_bytes() == (master / rel).read_bytes()
    assert not (student / "held-out").exists()
    assignment = load_assignment(student)
    assert assignment.public_files == ("course_utils.py", "data/notes.txt", "data/train.txt")
    assert assignment.hidden_files == ("held-out/answer.txt",)
    # a hidden file left in the students' folder (it was public once) is taken away
    (student / "held-out").mkdir()
    (student / "held-out" / "answer.txt").write_text(ANSWER)
    assign(master, course / "assignments")
    assert not (student / "held-out" / "answer.txt").exists()


@pytest.mark.parametrize(
    "files, words",
    [
        (
            'public = ["data/*.csv"]',
            ["[files] public names 'data/*.csv', which matches no file in", "run `grader assign` again"],
        ),
        (
            'public = ["data/train.txt"]\nhidden = ["answers/*"]',
            ["[files] hidden names 'answers/*', which matches no file"],
        ),
        ('pubic = ["data/train.txt"]', ["unknown key 'pubic' in [files]", "did you mean 'public'?"]),
        ('public = ["../secret.txt"]', ["names '../secret.txt', which is not inside the assignment's folder"]),
        ('public = "data/train.txt"\nhidden = ["data/train.txt"]', ["names 'data/train.txt' both public and hidden"]),
        ("public = [3]", ["[files] public = [3] is not a list of paths"]),
        ('public = ["data"]\nmax_mb = 0.000001', ["come to 0.0 MB, over max_mb = 1e-06"]),
    ],
)
def test_a_bad_files_entry_is_an_error_that_names_it(tmp_path: Path, files: str, words: list[str]) -> None:
    folder = tmp_path / "solutions" / "bad"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train.txt").write_text("1 2 3")
    (folder / "assignment.toml").write_text(f'slug = "bad"\n\n[files]\n{files}\n')
    with pytest.raises(AssignmentError) as err:
        load_assignment(folder)
    text = str(err.value)
    assert "assignment.toml" in text
    for word in words:
        assert word in text


PROBE = r"""
import os, json
out = {'cwd': sorted(n for n in os.listdir('.') if not n.startswith('.'))}
out['train'] = open('data/train.txt').read()
out['mine'] = open('model.pt', 'rb').read().hex()
for what, act in (('write', lambda: open('data/train.txt', 'a').write('x')),
                  ('remove', lambda: os.remove('course_utils.py')),
                  ('replace', lambda: os.rename('model.pt', 'other.pt')),
                  ('new_in_data', lambda: open('data/new.txt', 'w').write('x'))):
    try:
        act()
        out[what] = 'done'
    except OSError as exc:
        out[what] = type(exc).__name__
open('scratch.txt', 'w').write('the home stays writable')
out['scratch'] = open('scratch.txt').read()
out['hidden'] = [os.path.exists(p) for p in HIDDEN]
found = []
for top in ('/tmp', '/var/tmp', os.path.dirname(os.getcwd()), '/dev/shm'):
    for root, dirs, files in os.walk(top):
        for name in files:
            try:
                if SECRET in open(os.path.join(root, name), errors='ignore').read(4096):
                    found.append(os.path.join(root, name))
            except OSError:
                pass
out['secret_found'] = found
print(json.dumps(out))
"""


@needs_sandbox
@pytest.mark.parametrize("factory", ["plain", "fast"])
def test_the_kernel_sees_the_files_read_only_and_never_a_hidden_one(course: Path, tmp_path: Path, factory: str) -> None:
    from grader.sandbox.forkserver import FastKernels

    assignment = load_assignment(course / "assignments" / SLUG)
    submitted = tmp_path / "model.pt"
    submitted.write_bytes(b"\x01\x02weights")
    hidden = [str(course / "solutions" / SLUG / "held-out" / "answer.txt"), str(course / "solutions")]
    make = default_kernel if factory == "plain" else FastKernels(prewarm=0)
    kernel = make(assignment, detect("require"), (KernelFile("model.pt", str(submitted)),))
    try:
        if not kernel.alive:
            kernel.start()
        code = f"HIDDEN = {hidden!r}\nSECRET = {ANSWER!r}\n" + PROBE
        reply = kernel.execute(code, timeout=60)
        assert reply.status == "ok", reply.traceback
        view = json.loads("".join(o.get("text", "") for o in reply.outputs))
    finally:
        kernel.shutdown()
    assert view["cwd"] == ["course_utils.py", "data", "model.pt"]
    assert view["train"] == "1 2 3\n" and bytes.fromhex(view["mine"]) == b"\x01\x02weights"
    assert {view[k] for k in ("write", "remove", "replace", "new_in_data")} <= {"OSError", "PermissionError"}
    assert view["scratch"] == "the home stays writable"
    assert view["hidden"] == [False, False]
    assert view["secret_found"] == []
    assert submitted.read_bytes() == b"\x01\x02weights"  # the host's file is untouched


# -- files sent with the notebook -------------------------------------------------------------------


def make_zip(path: Path, entries: dict[str, bytes | str], links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_a_zip_with_helpers_and_a_model_gets_full_marks(course: Path, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "alice.zip",
        {
            f"alice/{SLUG}.ipynb": notebook_json(CELLS),
            "alice/helpers.py": HELPERS,
            "alice/model.pt": model_bytes(),
            "__MACOSX/alice/._model.pt": b"x",
        },
    )
    result, data = grade_it(course, archive, tmp_path)
    assert set(verdicts(result).values()) == {"passed"} and len(result.checks) == 4
    assert result.score == result.max_score == 4
    assert data["extra_data"]["files"] == [
        {"name": "helpers.py", "bytes": len(HELPERS)},
        {"name": "model.pt", "bytes": len(model_bytes())},
    ]
    assert data["extra_data"]["files_refused"] == []
    assert f"Files received with the notebook: helpers.py ({len(HELPERS)} bytes), model.pt (" in data["output"]


def test_a_folder_submission_and_one_with_files_named_by_with(course: Path, tmp_path: Path) -> None:
    notebook = submission_folder(tmp_path / "bob")
    (tmp_path / "bob" / "other-student").mkdir()  # a folder under a notebook is not searched
    (tmp_path / "bob" / "other-student" / "answers.txt").write_text("not bob's")
    result, data = grade_it(course, notebook, tmp_path)
    assert result.score == 4, [c.message for c in result.checks]
    assert [f["name"] for f in data["extra_data"]["files"]] == ["helpers.py", "model.pt"]
    result, data = grade_it(course, notebook, tmp_path, with_files=(tmp_path / "bob" / "other-student",))
    assert [f["name"] for f in data["extra_data"]["files"]] == ["helpers.py", "model.pt", "other-student/answers.txt"]

    alone = submission_folder(tmp_path / "carol", helpers=False, model=False)
    elsewhere = tmp_path / "elsewhere"
    submission_folder(elsewhere)
    result, data = grade_it(course, alone, tmp_path, with_files=(elsewhere / "helpers.py", elsewhere / "model.pt"))
    assert result.score == 4
    assert [f["name"] for f in data["extra_data"]["files"]] == ["helpers.py", "model.pt"]


def test_a_notebook_without_its_model_fails_that_check_in_words(course: Path, tmp_path: Path) -> None:
    notebook = submission_folder(tmp_path / "dave", model=False)
    result, data = grade_it(course, notebook, tmp_path)
    assert verdicts(result)["test_scaled_uses_the_submitted_model"] == "failed"
    assert verdicts(result)["test_total_reads_the_assignment_data"] == "passed"
    assert any("model.pt" in cell.message or "model.pt" in cell.evalue for cell in result.cells)
    assert data["extra_data"]["files"] == [{"name": "helpers.py", "bytes": len(HELPERS)}]


def test_refused_names_and_sizes_are_reported_and_nothing_unsafe_is_extracted(course: Path, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "eve.zip",
        {
            f"{SLUG}.ipynb": notebook_json(CELLS),
            "helpers.py": HELPERS,
            "model.pt": model_bytes(),
            "../evil.py": "print('out')",
            "/etc/cron.d/x": "x",
            ".env": "TOKEN=1",
            "big.bin": b"\0" * (2 * 2**20),
            "course_utils.py": "OFFSET = 1000\n",
            "data/train.txt": "1 2 3\n",
            "wéird:name?.txt": "ok",
            "more/one.txt": "1",
            "more/two.txt": "2",
        },
        links=("link.txt",),
    )
    result, data = grade_it(course, archive, tmp_path)
    assert result.score == 4  # the assignment's own course_utils.py was used, not the sent one
    refused = {r["name"]: r["reason"] for r in data["extra_data"]["files_refused"]}
    assert "leaves the notebook's folder" in refused["../evil.py"]
    assert "absolute path" in refused["/etc/cron.d/x"]
    assert "hidden file" in refused[".env"]
    assert "link" in refused["link.txt"]
    assert "more than 1 MB ([limits] submitted_mb = 1)" in refused["big.bin"]
    assert "the assignment provides course_utils.py itself" in refused["course_utils.py"]
    assert "data/train.txt" not in refused  # the assignment's own, unchanged: given anyway
    assert "more than 4 files came with the notebook ([limits] submitted_files = 4)" in refused["more/two.txt"]
    received = {f["name"]: f for f in data["extra_data"]["files"]}
    assert set(received) == {"helpers.py", "model.pt", "more/one.txt", "wéird_name_.txt"}
    assert received["wéird_name_.txt"]["sent_as"] == "wéird:name?.txt"
    assert any("'../evil.py' sent with the notebook was not given to the kernel" in e for e in result.errors)
    assert not (tmp_path.parent / "evil.py").exists()


def test_a_zip_bomb_costs_the_bound_not_the_bomb(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.ipynb", notebook_json(["1"]))
        zf.writestr("bomb.bin", b"\0" * (64 * 2**20))
    collector = Collector(Limits(submitted_mb=1, submitted_files=3))
    unpacked = unpack(archive, tmp_path / "out", "x.ipynb", collector)
    assert unpacked.notebook is not None
    files = collector.result()
    assert files.received == () and "more than 1 MB" in files.refused[0].reason
    assert not (tmp_path / "out" / "files" / "bomb.bin").exists()


def test_a_zip_with_two_notebooks_or_none_is_a_verdict_that_says_so(course: Path, tmp_path: Path) -> None:
    two = make_zip(tmp_path / "two.zip", {"a.ipynb": notebook_json(CELLS), "b.ipynb": notebook_json(CELLS)})
    result, data = grade_it(course, two, tmp_path)
    assert result.score == 0 and not result.readable
    assert "holds 2 notebooks (a.ipynb, b.ipynb)" in data["output"] and f"named {SLUG}.ipynb" in data["output"]


def test_in_a_students_copy_a_check_that_needs_hidden_files_is_skipped(course: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy" / "assignments" / SLUG
    shutil.copytree(course / "assignments" / SLUG, copy)
    notebook = submission_folder(tmp_path / "frank")
    result, _ = check_notebook(notebook, copy, options=Options(device="cpu"))
    by_name = {c.name: c for c in result.checks}
    assert set(by_name) == {
        "test_total_reads_the_assignment_data",
        "test_scaled_uses_the_submitted_model",
        "test_total_against_the_held_out_answer",
    }  # no hidden checks in a copy
    skipped = by_name["test_total_against_the_held_out_answer"]
    assert skipped.status == "failed" and "the assignment's hidden files are not in this copy" in skipped.message
    assert result.score == 2


def test_a_class_of_folders_zips_and_a_lone_notebook_is_graded_with_each_ones_files(
    course: Path, tmp_path: Path
) -> None:
    from grader.batch.run import BatchConfig, run_batch

    classdir = tmp_path / "class"
    submission_folder(classdir / "alice")
    (classdir / "alice" / "runs").mkdir()  # a student's folder is searched all the way down
    (classdir / "alice" / "runs" / "log.txt").write_text("epoch 1")
    make_zip(
        classdir / "bob.zip", {f"{SLUG}.ipynb": notebook_json(CELLS), "helpers.py": HELPERS, "model.pt": model_bytes()}
    )
    (classdir / "carol.ipynb").write_text(notebook_json(CELLS))  # alone: no helpers, no model
    (classdir / "helpers.py").write_text("def scale(w):\n    return w * 3\n")  # beside the class: nobody's
    with open(tmp_path / "log.txt", "w") as log:
        run_batch(
            BatchConfig(
                classdir, course / "assignments" / SLUG, tmp_path / "out", workers=1, options=Options(device="cpu")
            ),
            log=log,
        )
    got = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "out" / "results").glob("*.json")}
    assert {k: v["score"] for k, v in got.items()} == {"alice": 4, "bob": 4, "carol": 3}
    assert [f["name"] for f in got["alice"]["extra_data"]["files"]] == ["helpers.py", "model.pt", "runs/log.txt"]
    assert [f["name"] for f in got["bob"]["extra_data"]["files"]] == ["helpers.py", "model.pt"]
    assert "files" not in got["carol"]["extra_data"]


def test_a_dask_task_carries_the_students_folder(course: Path, tmp_path: Path) -> None:
    from grader.batch.tasks import NotebookFile, Task, with_data
    from grader.submission.opened import open_submission

    submission_folder(tmp_path / "gina")
    task = with_data(Task("gina", "sha", f"class/gina/{SLUG}.ipynb", path=str(tmp_path / "gina")))
    assert task.path is None and task.packed and task.data
    assignment = load_assignment(course / "assignments" / SLUG)
    with NotebookFile(task) as path, open_submission(path, assignment, beside=False) as opened:
        submission = opened.submission
        assert submission.readable
        assert [(f.name, f.bytes) for f in submission.files.received] == [
            ("helpers.py", len(HELPERS)),
            ("model.pt", len(model_bytes())),
        ]


def test_the_gradescope_zip_carries_the_public_and_hidden_files(course: Path, tmp_path: Path) -> None:
    from grader.integrations.gradescope_zip import build_zip

    out = tmp_path / "autograder.zip"
    build_zip(load_assignment(course / "assignments" / SLUG), out, sandbox="none")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert zf.read(f"course/solutions/{SLUG}/held-out/answer.txt").decode().strip() == ANSWER
    assert {f"course/assignments/{SLUG}/data/train.txt", f"course/assignments/{SLUG}/course_utils.py"} <= names
    assert not any(n.startswith(f"course/assignments/{SLUG}/held-out") for n in names)


def test_docs_have_a_files_section() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "authoring.md").read_text()
    assert "## Files" in text and "assignment_files" in text and "submitted_mb" in text
