"""Exercise 3, public checks: the two-layer network's output, answered in a top-level cell.

Checked on the notebook's own network (as its data cell left `features`, `W1`, `B1`, `W2`, `B2`),
then run again on networks of other sizes, drawn here.
"""
import pytest
import torch

from grader.checks import CheckFailed, Mistake, assert_tensor, seeded_draws

pytestmark = pytest.mark.exercise("two_layer")

HEADING = "## Exercise 3"
DATA_HEADING = "## The data for a network with a hidden layer"
NAMES = ("features", "W1", "B1", "W2", "B2")
s = torch.sigmoid

# What students really write instead (each computed here, on the inputs the check used)
MISTAKES = [
    Mistake("the hidden units are summed into one before the output layer",
            lambda x, W1, B1, W2, B2: s(s(torch.sum(torch.mm(x, W1)) + B1) @ W2 + B2),
            hint="keep one value per hidden unit: h = activation(torch.mm(features, W1) + B1), no torch.sum"),
    Mistake("the hidden layer has no activation", lambda x, W1, B1, W2, B2: s((x @ W1 + B1) @ W2 + B2),
            hint="h = activation(torch.mm(features, W1) + B1)"),
    Mistake("the output layer has no activation", lambda x, W1, B1, W2, B2: s(x @ W1 + B1) @ W2 + B2,
            hint="output = activation(torch.mm(h, W2) + B2)"),
    Mistake("the biases are left out", lambda x, W1, B1, W2, B2: s(s(x @ W1) @ W2),
            hint="add B1 in the hidden layer and B2 in the output layer"),
    Mistake("B1 is left out of the hidden layer", lambda x, W1, B1, W2, B2: s(s(x @ W1) @ W2 + B2),
            hint="h = activation(torch.mm(features, W1) + B1)"),
    Mistake("B2 is left out of the output layer", lambda x, W1, B1, W2, B2: s(s(x @ W1 + B1) @ W2),
            hint="output = activation(torch.mm(h, W2) + B2)"),
    Mistake("the two biases are swapped", lambda x, W1, B1, W2, B2: s(s(x @ W1 + B2) @ W2 + B1),
            hint="B1 (1, n_hidden) belongs to the hidden layer, B2 (1, n_output) to the output layer"),
    Mistake("the output layer is fed the features instead of the hidden layer's output",
            lambda x, W1, B1, W2, B2: s(x @ W2 + B2),
            hint="the output layer's input is h = activation(torch.mm(features, W1) + B1): output = activation(torch.mm(h, W2) + B2)"),
]


def network(features, W1, B1, W2, B2):
    """Reference forward pass, computed in float64."""
    x, W1, B1, W2, B2 = (t.double() for t in (features, W1, B1, W2, B2))
    return s(s(x @ W1 + B1) @ W2 + B2).to(features.dtype)


def on_the_notebooks_network(nb):
    """features, W1, B1, W2, B2 as the notebook's second data cell left them, and the right output for them."""
    names = nb.cell(after=DATA_HEADING).names
    missing = [f"`{n}`" for n in NAMES if n not in names]
    if missing:
        raise CheckFailed(f"The data cell under '{DATA_HEADING}' does not define "
                          f"{', '.join(missing)}. Keep that cell as given, run all cells, and check again.")
    data = tuple(names[n] for n in NAMES)
    try:
        return data, network(*data)
    except (RuntimeError, TypeError, AttributeError):
        shapes = described(NAMES, data)
        raise CheckFailed(f"The data under '{DATA_HEADING}' do not fit together: {shapes}. In your own kernel "
                          "grader.check() sees each name as it is now, which a later cell may have changed; when your "
                          "work is graded the notebook runs from the top. Keep the data cell as given, run all cells, "
                          "and check again.") from None


def described(names, values):
    return ", ".join(f"`{n}` is {tuple(v.shape)}" if isinstance(v, torch.Tensor) else f"`{n}` is a {type(v).__name__}"
                     for n, v in zip(names, values))


def new_network(seed, batch, n_input, n_hidden, n_output):
    """Drawn as the notebook draws its own: features, W1, W2, B1, B2; with the sizes that go with them."""
    features, W1, W2, B1, B2 = seeded_draws(seed, (batch, n_input), (n_input, n_hidden), (n_hidden, n_output),
                                            (1, n_hidden), (1, n_output))
    sizes = {"n_input": n_input, "n_hidden": n_hidden, "n_output": n_output}
    return (features, W1, B1, W2, B2), sizes


def inputs_if_they_fit(nb):
    """The notebook's data, to name a mistake by; None where they do not fit together (the shape is checked all the same)."""
    try:
        return on_the_notebooks_network(nb)[0]
    except CheckFailed:
        return None


def typed_in(cell):
    """The cell's answer on the notebook's data, given back whatever the data: a number typed in."""
    return Mistake("a number typed in: the same answer whatever the data", lambda *_: cell.answer,
                   hint="compute the output from `features`, `W1`, `B1`, `W2` and `B2`; the grader runs your cell with other values")


@pytest.mark.points(1)
def test_exercise_3_gives_one_output(nb):
    answer = nb.section(after=HEADING).answer
    data = inputs_if_they_fit(nb)
    assert_tensor(answer, torch.empty(1, 1), what="your answer to Exercise 3",
                  check_values=False, check_device=False, mistakes=MISTAKES, inputs=data)


@pytest.mark.points(2)
def test_exercise_3_on_the_notebooks_data(nb):
    answer = nb.section(after=HEADING).answer
    data, expected = on_the_notebooks_network(nb)
    assert_tensor(answer, expected, what="your answer to Exercise 3 on the notebook's data",
                  check_device=False, mistakes=MISTAKES, inputs=data)


@pytest.mark.points(3)
def test_exercise_3_on_new_data(nb):
    cell = nb.section(after=HEADING)
    for seed, sizes in ((31, (1, 3, 2, 1)), (32, (1, 4, 3, 1)), (33, (1, 2, 5, 2))):
        args, counts = new_network(seed, *sizes)
        answer = cell.rerun(**dict(zip(NAMES, args)), **counts).answer
        assert_tensor(answer, network(*args),
                      what="your Exercise 3 cell, run again on a new network with n_input, n_hidden, n_output = "
                           f"{sizes[1]}, {sizes[2]}, {sizes[3]}",
                      mistakes=[typed_in(cell), *MISTAKES], inputs=args)
