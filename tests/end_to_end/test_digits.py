"""The fourth bundled assignment, digits: a Dataset and a DataLoader over a data set the assignment
ships (made by solutions/digits/make_data.py), the network as an nn.Module, a training cell tagged
skip-execution, the checkpoint model.pt submitted with the notebook, and a hidden check of the
trained model on a held-out split that never enters a kernel. Each sample folder in
tests/submissions/digits/ (notebook + model.pt, made by make_digits.py) is graded for real, as
`grader check` grades a notebook with the files of its folder, and gets the verdict and the words
a careful reader would give. Regenerate the samples with `python tests/submissions/make_digits.py`.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from grader.authoring.assign import assign, notebook_text
from grader.checking import check_notebook
from grader.feedback import render_text
from grader.grade import Options
from grader.integrations.gradescope_results import to_gradescope
from grader.results import Result

ROOT = Path(__file__).resolve().parents[2]
SLUG = "digits"
SAMPLES = ROOT / "tests" / "submissions" / SLUG
MASTER_DIR = ROOT / "solutions" / SLUG
ASSIGNMENT = ROOT / "assignments" / SLUG
EXERCISES = ("dataset", "loader", "network", "trained")
MAX_SCORE = 17.0
SKIPPED = "cell 12 was not run at grading time (tagged skip-execution)"

Grader = Callable[[str], Result]


def load_script(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def graded() -> Grader:
    """Grade a sample folder's notebook (with the files beside it) once per module."""
    cache: dict[str, Result] = {}

    def get(name: str) -> Result:
        if name not in cache:
            cache[name] = check_notebook(SAMPLES / name / f"{SLUG}.ipynb", ASSIGNMENT, options=Options(device="cpu"))[0]
        return cache[name]

    return get


def verdicts(result: Result) -> dict[str, str]:
    out = {}
    for name, (score, points) in result.exercise_scores().items():
        out[name] = "full" if score == points > 0 else "zero" if score == 0 else "partial"
    return out


def failed(result: Result) -> dict[str, str]:
    return {c.name: c.message for c in result.checks if not c.passed}


def full(**others: str) -> dict[str, str]:
    return {**dict.fromkeys(EXERCISES, "full"), **others}


# What a careful reader gives each sample, exercise by exercise, and the score
EXPECTED = {
    "master_full_marks": (full(), 17.0),
    "stub_zero": (dict.fromkeys(EXERCISES, "zero"), 0.0),
    "right": (full(), 17.0),  # its own Dataset and nn.Sequential
    "wrong_output_size": (full(network="partial", trained="partial"), 9.0),  # loads, but 16 scores, not 10
    "never_trained": (full(trained="partial"), 11.0),  # loads, but guesses
    "checkpoint_missing": (full(trained="zero"), 10.0),
    "checkpoint_mismatch": (full(trained="zero"), 10.0),
}


def test_every_sample_has_an_expected_verdict() -> None:
    assert sorted(p.name for p in SAMPLES.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_verdict_per_exercise(graded: Grader, name: str) -> None:
    result = graded(name)
    expected, score = EXPECTED[name]
    assert verdicts(result) == expected, failed(result)
    assert (result.score, result.max_score) == (score, MAX_SCORE)


def test_the_master_earns_full_marks_without_running_its_training(graded: Grader) -> None:
    result = graded("master_full_marks")
    assert result.readable and result.hidden_ran and result.passed and not result.errors
    assert [(c.kind, c.message) for c in result.cells] == [("skipped", SKIPPED)]
    assert result.files == [{"name": "model.pt", "bytes": (SAMPLES / "master_full_marks" / "model.pt").stat().st_size}]
    hidden = [c for c in result.checks if c.hidden]
    assert [c.name for c in hidden] == ["test_accuracy_on_held_out_digits"] and hidden[0].passed
    assert f"SKIPPED: {SKIPPED}" in render_text(result)
    assert SKIPPED in to_gradescope(result)["output"]


def test_the_stub_scores_zero_and_says_replace_the_stub(graded: Grader) -> None:
    result = graded("stub_zero")
    messages = failed(result)
    assert (
        "Replace the `raise NotImplementedError()` stub with your answer."
        in messages["test_the_first_example_is_its_image_flattened_and_scaled"]
    )
    assert (
        "`model` is not defined because cell 10, which assigns it, raised NotImplementedError"
        in messages["test_accuracy_on_held_out_digits"]
    )
    assert ("skipped", SKIPPED) in [(c.kind, c.message) for c in result.cells]


def test_the_wrong_output_size_is_named(graded: Grader) -> None:
    messages = failed(graded("wrong_output_size"))
    assert (
        messages["test_scores_for_a_batch"] == "model(x) for a batch of 5 images has shape (5, 16), expected (5, 10)."
    )
    assert messages["test_accuracy_on_the_training_digits"] == (
        "Your model's output for 500 inputs has shape (500, 16); expected (500, 10): one score per class for each "
        "input, 10 classes. The last layer gives 16 outputs: make it give 10 (out_features=10)."
    )


def test_a_model_that_was_never_trained_is_named(graded: Grader) -> None:
    result = graded("never_trained")
    message = failed(result)["test_accuracy_on_the_training_digits"]
    assert (
        message.startswith("Your model reaches ")
        and "on the training digits; 90% is needed for full marks (70% for part of them)." in message
    )
    assert (
        "That is about what guessing scores (10% with 10 classes): is your trained model loaded from its checkpoint"
        in message
    )
    hidden = next(c for c in result.checks if c.hidden)
    assert hidden.public_view().message == (
        "Hidden check failed. It looks like an untrained model. Hidden checks reveal "
        "nothing else: not their inputs, not their values."
    )


def test_a_missing_checkpoint_is_named(graded: Grader) -> None:
    result = graded("checkpoint_missing")
    assert result.files == []
    assert failed(result)["test_the_checkpoint_is_loaded"] == (
        'model.pt was not submitted with your notebook: cell 14 (under "Loading the trained model") could not load '
        "the trained weights (FileNotFoundError). Run the training cell, then submit model.pt beside the notebook (in "
        "its folder, or both in one zip)."
    )


def test_a_checkpoint_of_another_network_is_named(graded: Grader) -> None:
    assert failed(graded("checkpoint_mismatch"))["test_the_checkpoint_is_loaded"] == (
        "model.pt does not fit your DigitNet: size mismatch for hidden.weight: copying a param with shape "
        "torch.Size([32, 64]) from checkpoint, the shape in current model is torch.Size([64, 64]). It was saved from a "
        "network of another shape: run the training cell again with this DigitNet and submit the new model.pt."
    )


def test_the_held_out_split_stays_in_the_master_folder() -> None:
    assert (MASTER_DIR / "data" / "digits-test.pt").is_file()
    assert not (ASSIGNMENT / "data" / "digits-test.pt").exists()
    assert (ASSIGNMENT / "data" / "digits-train.pt").read_bytes() == (
        MASTER_DIR / "data" / "digits-train.pt"
    ).read_bytes()


def test_the_data_is_made_by_its_seeded_script() -> None:
    script = load_script(MASTER_DIR / "make_data.py")
    for name, (per_digit, seed) in script.SPLITS.items():
        path = MASTER_DIR / "data" / name
        committed = torch.load(path, weights_only=True)
        made = script.make_split(per_digit, seed)
        assert all(torch.equal(committed[k], made[k]) for k in ("images", "labels")), (
            f"run make_data.py: {name} is stale"
        )
        assert committed["images"].shape == (10 * per_digit, 8, 8) and committed["images"].dtype == torch.uint8
        assert torch.bincount(committed["labels"]).tolist() == [per_digit] * 10
        assert path.stat().st_size < 100_000


def test_samples_are_generated_by_the_script() -> None:
    module = load_script(ROOT / "tests" / "submissions" / "make_digits.py")
    for name, (nb, checkpoint) in module.samples().items():
        folder = SAMPLES / name
        assert (folder / f"{SLUG}.ipynb").read_text(encoding="utf-8") == notebook_text(nb), f"{name} is stale"
        assert (folder / "model.pt").is_file() == (checkpoint is not None), name
        if checkpoint is not None:
            committed = torch.load(folder / "model.pt", weights_only=True)
            made = torch.load(io.BytesIO(checkpoint), weights_only=True)
            assert committed.keys() == made.keys(), name
            # one thread, one seed: the same weights here; another CPU may differ in the last bits
            assert all(torch.allclose(committed[k], made[k], atol=1e-5) for k in committed), (
                f"{name}: model.pt is stale"
            )


def test_assignment_folder_is_generated_from_the_master(tmp_path: Path) -> None:
    written = assign(MASTER_DIR, tmp_path)
    committed = sorted(
        str(p.relative_to(ROOT / "assignments"))
        for p in ASSIGNMENT.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert committed == sorted(str(p.relative_to(tmp_path)) for p in written)
    assert sorted(str(p.relative_to(tmp_path / SLUG)) for p in written) == [
        "assignment.toml",
        "checks/test_dataset.py",
        "checks/test_loader.py",
        "checks/test_network.py",
        "checks/test_trained.py",
        "data/digits-train.pt",
        f"{SLUG}.ipynb",
    ]  # no hidden check, no test split
    for path in written:
        assert (ROOT / "assignments" / path.relative_to(tmp_path)).read_bytes() == path.read_bytes(), (
            f"run `grader assign solutions/{SLUG}`: {path.relative_to(tmp_path)} is stale"
        )
    text = (ASSIGNMENT / f"{SLUG}.ipynb").read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in text and "nn.Linear(64, 32)" in text  # the exercise's words keep the sizes
    assert text.count("raise NotImplementedError()") == 6 and '"skip-execution"' in text
