"""Exercise 4, hidden check: `weights` itself was not changed (a view in the expression only)."""

import pytest

from grader.checks import assert_unchanged, seeded_draws

pytestmark = pytest.mark.exercise("fix_mm")


@pytest.mark.points(1)
def test_weights_left_as_given(nb):
    nb.cell(starting_with="## Exercise 4").value
    _, weights, _ = seeded_draws(7, (1, 5), (1, 5), (1, 1))
    assert_unchanged(nb.weights, weights, what="`weights`")
