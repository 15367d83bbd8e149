"""Exercise 3, public checks: the two-layer network's output, answered in a top-level cell.

Checked on the notebook's own network (as its data cell left `features`, `W1`, `B1`, `W2`, `B2`),
then run again on networks of other sizes, drawn here.
"""

import pytest
import torch

from grader.checks import Mistake, assert_tensor, data_cell, data_if_it_fits, seeded_draws, typed_in

pytestmark = pytest.mark.exercise("two_layer")

HEADING = "## Exercise 3"
DATA_HEADING = "## The data for a network with a hidden layer"
NAMES = ("features", "W1", "B1", "W2", "B2")
s = torch.sigmoid

# What students really write instead (each computed here, on the inputs the check used)
MISTAKES = [
    Mistake(
        "the hidden units are summed into one before the output layer",
        lambda x, W1, B1, W2, B2: s(s(torch.sum(torch.mm(x, W1)) + B1) @ W2 + B2),
        hint="keep one value per hidden unit: h = activation(torch.mm(features, W1) + B1), no torch.sum",
    ),
    Mistake(
        "the hidden layer has no activation",
        lambda x, W1, B1, W2, B2: s((x @ W1 + B1) @ W2 + B2),
        hint="h = activation(torch.mm(features, W1) + B1)",
    ),
    Mistake(
        "the output layer has no activation",
        lambda x, W1, B1, W2, B2: s(x @ W1 + B1) @ W2 + B2,
        hint="output = activation(torch.mm(h, W2) + B2)",
    ),
    Mistake(
        "the biases are left out",
        lambda x, W1, B1, W2, B2: s(s(x @ W1) @ W2),
        hint="add B1 in the hidden layer and B2 in the output layer",
    ),
    Mistake(
        "B1 is left out of the hidden layer",
        lambda x, W1, B1, W2, B2: s(s(x @ W1) @ W2 + B2),
        hint="h = activation(torch.mm(features, W1) + B1)",
    ),
    Mistake(
        "B2 is left out of the output layer",
        lambda x, W1, B1, W2, B2: s(s(x @ W1 + B1) @ W2),
        hint="output = activation(torch.mm(h, W2) + B2)",
    ),
    Mistake(
        "the two biases are swapped",
        lambda x, W1, B1, W2, B2: s(s(x @ W1 + B2) @ W2 + B1),
        hint="B1 (1, n_hidden) belongs to the hidden layer, B2 (1, n_output) to the output layer",
    ),
    Mistake(
        "the output layer is fed the features instead of the hidden layer's output",
        lambda x, W1, B1, W2, B2: s(x @ W2 + B2),
        hint=(
            "the output layer's input is h = activation(torch.mm(features, W1) + B1): "
            "output = activation(torch.mm(h, W2) + B2)"
        ),
    ),
]


def network(features, W1, B1, W2, B2):
    """Reference forward pass, computed in float64."""
    x, W1, B1, W2, B2 = (t.double() for t in (features, W1, B1, W2, B2))
    return s(s(x @ W1 + B1) @ W2 + B2).to(features.dtype)


def new_network(seed, batch, n_input, n_hidden, n_output):
    """Drawn as the notebook draws its own: features, W1, W2, B1, B2; with the sizes that go with them."""
    features, W1, W2, B1, B2 = seeded_draws(
        seed, (batch, n_input), (n_input, n_hidden), (n_hidden, n_output), (1, n_hidden), (1, n_output)
    )
    sizes = {"n_input": n_input, "n_hidden": n_hidden, "n_output": n_output}
    return (features, W1, B1, W2, B2), sizes


@pytest.mark.points(1)
def test_exercise_3_gives_one_output(nb):
    answer = nb.section(after=HEADING).answer
    data = data_if_it_fits(nb, NAMES, network, after=DATA_HEADING)
    assert_tensor(
        answer,
        torch.empty(1, 1),
        what="your answer to Exercise 3",
        check_values=False,
        check_device=False,
        mistakes=MISTAKES,
        inputs=data,
    )


@pytest.mark.points(2)
def test_exercise_3_on_the_notebooks_data(nb):
    answer = nb.section(after=HEADING).answer
    data, expected = data_cell(nb, NAMES, network, after=DATA_HEADING)
    assert_tensor(
        answer,
        expected,
        what="your answer to Exercise 3 on the notebook's data",
        check_device=False,
        mistakes=MISTAKES,
        inputs=data,
    )


@pytest.mark.points(3)
def test_exercise_3_on_new_data(nb):
    cell = nb.section(after=HEADING)
    for seed, sizes in ((31, (1, 3, 2, 1)), (32, (1, 4, 3, 1)), (33, (1, 2, 5, 2))):
        args, counts = new_network(seed, *sizes)
        answer = cell.rerun(**dict(zip(NAMES, args)), **counts).answer
        assert_tensor(
            answer,
            network(*args),
            what="your Exercise 3 cell, run again on a new network with n_input, n_hidden, n_output = "
            f"{sizes[1]}, {sizes[2]}, {sizes[3]}",
            mistakes=[typed_in(cell, *NAMES), *MISTAKES],
            inputs=args,
        )
