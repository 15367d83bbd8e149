"""Exercise 3: DigitNet, as the notebook's `model` (an nn.Module): its scores and its parameters."""

import pytest
import torch

from grader.checks import assert_tensor, randn

pytestmark = pytest.mark.exercise("network")


@pytest.mark.points(2)
def test_scores_for_a_batch(nb):
    x = randn(5, 64, seed=1).clamp(0, 1)
    assert_tensor(nb.model(x), torch.zeros(5, 10), what="model(x) for a batch of 5 images", check_values=False)


def test_its_parameters(nb):
    info = nb.module("model")
    assert info.parameters, f"`model` ({info.type}) has no parameters: give DigitNet its nn.Linear layers in __init__."
    first = info.parameters[0]
    assert first.shape[-1:] == (64,), (
        f"`model`'s first layer, {first.name}, has shape {first.shape}: it should take "
        "the 64 pixel values (nn.Linear(64, ...))."
    )
    assert info.count <= 100_000, f"`model` has {info.count:,} parameters; keep it under 100,000."
