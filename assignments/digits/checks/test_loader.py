"""Exercise 2: train_loader, read through the batch its cell took (images, labels)."""

import pytest
import torch

from grader.checks import assert_tensor

pytestmark = pytest.mark.exercise("loader")
EXERCISE = "## Exercise 2"


@pytest.mark.points(2)
def test_a_batch_is_64_flattened_images_and_their_labels(nb):
    names = nb.cell(after=EXERCISE).names
    assert_tensor(
        names["images"], torch.zeros(64, 64), what="`images`, the first batch of train_loader", check_values=False
    )
    assert_tensor(
        names["labels"],
        torch.zeros(64, dtype=torch.int64),
        what="`labels`, the first batch's labels",
        check_values=False,
    )


def test_the_batch_holds_examples_of_the_dataset(nb, assignment_files):
    data = torch.load(assignment_files / "data/digits-train.pt", weights_only=True)
    known = {tuple(row.tolist()): int(label) for row, label in zip(data["images"].flatten(1), data["labels"])}
    names = nb.cell(after=EXERCISE).names
    images, labels = names["images"], names["labels"]
    rows = [tuple((image * 255).round().to(torch.int64).tolist()) for image in images]
    strangers = sum(row not in known for row in rows)
    assert not strangers, (
        f"{strangers} of the {len(rows)} images in the first batch are not images of the "
        "training set, as train_set[i] gives them (flattened, divided by 255)."
    )
    wrong = sum(known[row] != int(label) for row, label in zip(rows, labels))
    assert not wrong, f"{wrong} of the batch's labels are not the labels of their images."
    assert rows != [tuple(r.tolist()) for r in data["images"].flatten(1)[: len(rows)]], (
        "the first batch holds the first 64 images in their order: make the DataLoader shuffle them (shuffle=True)."
    )
