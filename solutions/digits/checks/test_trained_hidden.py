"""Hidden: the trained model on 200 held-out digits (data/digits-test.pt, a hidden file of the
master folder: read here, in the grader, never sent to the kernel; only the images are)."""

import pytest
import torch

from grader.checks import assert_accuracy

pytestmark = pytest.mark.exercise("trained")


@pytest.mark.points(4)
def test_accuracy_on_held_out_digits(nb, assignment_files):
    data = torch.load(assignment_files / "data/digits-test.pt", weights_only=True)
    X = data["images"].flatten(1).float() / 255
    assert_accuracy(
        nb.model,
        X,
        data["labels"],
        at_least=0.9,
        thresholds={0.8: 0.5, 0.6: 0.25},
        batch_size=64,
        what="held-out digits",
    )
