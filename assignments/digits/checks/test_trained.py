"""The trained model: the checkpoint submitted with the notebook, loaded; its accuracy on the
training digits (the held-out digits are the hidden check's)."""

import pytest
import torch

from grader.checks import assert_accuracy
from grader.failures import CheckFailed

pytestmark = pytest.mark.exercise("trained")
LOADING = "## Loading the trained model"


def test_the_checkpoint_is_loaded(nb):
    cell = nb.cell(after=LOADING)
    if cell.status == "error" and "model.pt" in cell.error and "No such file" in cell.error:
        raise CheckFailed(
            f"model.pt was not submitted with your notebook: {cell.label} could not load the trained "
            "weights (FileNotFoundError). Run the training cell, then submit model.pt beside the "
            "notebook (in its folder, or both in one zip)."
        )
    mismatch = [
        line.strip()
        for line in cell.error.splitlines()
        if line.strip().startswith(("size mismatch", "Missing key", "Unexpected key"))
    ]
    if cell.status == "error" and mismatch:
        raise CheckFailed(
            f"model.pt does not fit your DigitNet: {mismatch[0][:300]} It was saved from a network of "
            "another shape: run the training cell again with this DigitNet and submit the new model.pt."
        )
    cell.require_run()


@pytest.mark.points(2)
def test_accuracy_on_the_training_digits(nb, assignment_files):
    data = torch.load(assignment_files / "data/digits-train.pt", weights_only=True)
    X = data["images"].flatten(1).float() / 255
    assert_accuracy(
        nb.model, X, data["labels"], at_least=0.9, thresholds={0.7: 0.5}, batch_size=128, what="the training digits"
    )
