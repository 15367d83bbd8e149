"""Exercise 1: DigitsDataset, read through what its cell left behind (train_set[0], len(train_set))."""

import pytest
import torch

from grader.checks import Mistake, assert_tensor

pytestmark = pytest.mark.exercise("dataset")
EXERCISE = "## Exercise 1"


def training_data(files):
    return torch.load(files / "data/digits-train.pt", weights_only=True)


@pytest.mark.points(2)
def test_the_first_example_is_its_image_flattened_and_scaled(nb, assignment_files):
    raw = training_data(assignment_files)["images"][0]
    cell = nb.cell(after=EXERCISE)
    assert_tensor(
        cell.names["first_image"],
        raw.flatten().float() / 255,
        what="`first_image` (train_set[0]'s image)",
        inputs=(raw,),
        mistakes=[
            Mistake(
                "the image is not scaled",
                lambda r: r.flatten().float(),
                hint="divide it by 255, so that its values are in [0, 1]",
            ),
            Mistake(
                "the image is not turned into floats",
                lambda r: r.flatten(),
                hint="use `.float() / 255`: a float32 tensor, values in [0, 1]",
            ),
            Mistake(
                "the image is not flattened",
                lambda r: r.float() / 255,
                hint="return `image.flatten()`: 64 values, not an 8x8 grid",
            ),
        ],
    )


def test_the_first_example_has_its_label(nb, assignment_files):
    label = int(training_data(assignment_files)["labels"][0])
    got = nb.cell(after=EXERCISE).names["first_label"]
    value = got.item() if isinstance(got, torch.Tensor) and got.numel() == 1 else got
    assert value == label, f"`first_label` (train_set[0]'s label) is {got!r}; the first example's label is {label}."


def test_the_dataset_has_every_example(nb):
    n = nb.cell(after=EXERCISE).names["n_train"]
    assert n == 500, f"len(train_set) is {n!r}; the training file holds 500 images. __len__ returns their number."
