"""Regenerate the sample submissions of digits: `python tests/submissions/make_digits.py`.

Each sample is a folder, as a student submits it: the notebook (the student notebook of
assignments/digits/, answered the way one kind of student answers it) and, where that student had
one, the checkpoint model.pt, made here as the student made it: by running the notebook's own
cells, the training cell (tagged skip-execution: grading does not run it) included, on the CPU, in
a folder holding the assignment's data. A few seconds per model.

    master_full_marks/      the master's answers and the checkpoint its training saves
    stub_zero/              the student notebook as handed out: no answers, no checkpoint
    right/                  right answers in a student's own style (nn.Sequential inside DigitNet)
    wrong_output_size/      a last layer of 16 outputs, trained (cross-entropy takes it) and saved
    never_trained/          the training loop forgets optimizer.step(): the saved weights are the initial ones
    checkpoint_missing/     the master's answers; model.pt was not submitted
    checkpoint_mismatch/    DigitNet changed to a hidden layer of 64 after training: model.pt is the old one

Deterministic: seeded (the notebook's torch.manual_seed(0)), one thread; rerunning this script
after an unchanged master writes no file (a checkpoint is rewritten only when its tensors differ).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SLUG = "digits"
STUDENT = ROOT / "assignments" / SLUG / f"{SLUG}.ipynb"
MASTER = ROOT / "solutions" / SLUG / f"{SLUG}.ipynb"
DATA = ROOT / "assignments" / SLUG / "data"
OUT = HERE / SLUG
EXERCISE = re.compile(r"^# Exercise (\d): your solution here$", re.M)
MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\n", re.M)

sys.path.insert(0, str(ROOT))


def read(path: Path) -> Any:
    import nbformat

    return nbformat.read(str(path), as_version=4)


def exercise_cells(nb: Any) -> dict[int, Any]:
    """Exercise number -> its answer cell (the code cell that starts with the heading comment)."""
    found = {}
    for cell in nb.cells:
        match = EXERCISE.match(cell.source) if cell.cell_type == "code" else None
        if match:
            found[int(match.group(1))] = cell
    return found


def master_answers() -> dict[int, str]:
    """Exercise number -> the master's whole answer cell, markers taken out."""
    return {n: MARKER.sub("", cell.source) for n, cell in exercise_cells(read(MASTER)).items()}


def answered(edit: Callable[[int, str], str] = lambda n, source: source) -> Any:
    """The student notebook with the master's answers, each passed through `edit(n, source)`."""
    nb = read(STUDENT)
    answers = master_answers()
    for n, cell in exercise_cells(nb).items():
        cell.source = edit(n, answers[n])
    return nb


def training_cell(nb: Any) -> Any:
    return next(c for c in nb.cells if "skip-execution" in c.get("metadata", {}).get("tags", []))


RIGHT_DATASET = '''# Exercise 1: your solution here
class DigitsDataset(Dataset):
    """All the images as floats at once; an example is one row and its label."""

    def __init__(self, path):
        loaded = torch.load(path, weights_only=True)
        self.x = loaded["images"].reshape(-1, 64).to(torch.float32) / 255.0
        self.y = loaded["labels"]

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        return self.x[i], self.y[i]


train_set = DigitsDataset("data/digits-train.pt")
first_image, first_label = train_set[0]
n_train = len(train_set)
n_train'''

RIGHT_NETWORK = """# Exercise 3: your solution here
class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return self.layers(x)


model = DigitNet()
model(images).shape"""


def right(n: int, source: str) -> str:
    if n == 1:
        return RIGHT_DATASET
    if n == 2:
        return source.replace(
            "DataLoader(train_set, batch_size=64, shuffle=True)",
            "DataLoader(dataset=train_set, shuffle=True, batch_size=64)",
        )
    return RIGHT_NETWORK if n == 3 else source


def hidden_of(size: int) -> Callable[[int, str], str]:
    def edit(n: int, source: str) -> str:
        return (
            source.replace("nn.Linear(64, 32)", f"nn.Linear(64, {size})").replace(
                "nn.Linear(32, 10)", f"nn.Linear({size}, 10)"
            )
            if n == 3
            else source
        )

    return edit


def outputs_of(size: int) -> Callable[[int, str], str]:
    def edit(n: int, source: str) -> str:
        return source.replace("nn.Linear(32, 10)", f"nn.Linear(32, {size})") if n == 3 else source

    return edit


def never_trained() -> Any:
    nb = answered()
    cell = training_cell(nb)
    cell.source = cell.source.replace("        optimizer.step()\n", "")
    return nb


def train(nb: Any) -> bytes:
    """Run the notebook's code cells (its training cell included) as its student did, in a folder
    with the assignment's data; the model.pt its training cell saved."""
    import torch

    torch.set_num_threads(1)
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="digits-sample-") as tmp:
        shutil.copytree(DATA, Path(tmp) / "data")
        os.chdir(tmp)
        try:
            namespace: dict[str, Any] = {"__name__": "__main__"}
            with contextlib.redirect_stdout(io.StringIO()):
                for cell in nb.cells:
                    if cell.cell_type == "code" and "model.pt" in cell.source and "load_state_dict" in cell.source:
                        break  # the cells after the training are the grader's business
                    if cell.cell_type == "code":
                        exec(compile(cell.source, "<cell>", "exec"), namespace)  # our own samples
            return (Path(tmp) / "model.pt").read_bytes()
        finally:
            os.chdir(here)


def samples() -> dict[str, tuple[Any, bytes | None]]:
    """Sample name -> (its notebook, its model.pt or None): what the folders hold."""
    master = read(MASTER)
    master_pt = train(master)
    made: dict[str, tuple[Any, bytes | None]] = {
        "master_full_marks": (master, master_pt),
        "stub_zero": (read(STUDENT), None),
    }
    for name, nb in (
        ("right", answered(right)),
        ("wrong_output_size", answered(outputs_of(16))),
        ("never_trained", never_trained()),
    ):
        made[name] = (nb, train(nb))
    made["checkpoint_missing"] = (answered(), None)
    made["checkpoint_mismatch"] = (answered(hidden_of(64)), master_pt)
    return made


def same_checkpoint(path: Path, data: bytes) -> bool:
    """The checkpoint at `path` holds the tensors `data` holds (the bytes of a zip may differ)."""
    import torch

    if not path.is_file():
        return False
    old = torch.load(path, weights_only=True)
    new = torch.load(io.BytesIO(data), weights_only=True)
    return old.keys() == new.keys() and all(torch.equal(old[k], new[k]) for k in old)


def write(name: str, nb: Any, checkpoint: bytes | None) -> None:
    from grader.authoring.assign import notebook_text

    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    text = notebook_text(nb)
    path = folder / f"{SLUG}.ipynb"
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        path.write_text(text, encoding="utf-8")
    pt = folder / "model.pt"
    if checkpoint is None:
        pt.unlink(missing_ok=True)
    elif not same_checkpoint(pt, checkpoint):
        pt.write_bytes(checkpoint)


def main() -> None:
    made = samples()
    for name, (nb, checkpoint) in made.items():
        write(name, nb, checkpoint)
    for stale in sorted(p for p in OUT.iterdir() if p.is_dir() and p.name not in made):
        shutil.rmtree(stale)
    print(f"{len(made)} samples in {OUT.relative_to(ROOT)}: " + ", ".join(made))


if __name__ == "__main__":
    main()
