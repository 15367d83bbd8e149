"""What assert_tensor says a wrong value looks like, with and without an instructor's catalogue.

These run in the grader process on tensors made here: the diagnoses are computed outside the
kernel, on values that came back as data, so no notebook is needed to show them.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from grader.checks import CheckFailed, Mistake, assert_depends_on_inputs, assert_tensor

X = torch.tensor([[-2.0, -0.5, 0.3, 1.0, 2.5]])


def message(actual: Any, expected: Any, **kwargs: Any) -> str:
    with pytest.raises(CheckFailed) as failed:
        assert_tensor(actual, expected, what="f(x)", **kwargs)
    return failed.value.message


def diagnosis(actual: Any, expected: Any, **kwargs: Any) -> Any:
    with pytest.raises(CheckFailed) as failed:
        assert_tensor(actual, expected, what="f(x)", **kwargs)
    return failed.value.details.get("diagnosis")


def test_a_catalogued_mistake_is_named_with_what_to_change() -> None:
    mistakes = [Mistake("tanh instead of the sigmoid", torch.tanh, hint="use 1 / (1 + exp(-x))")]
    text = message(torch.tanh(X), torch.sigmoid(X), mistakes=mistakes, inputs=(X,))
    assert text.startswith("f(x) has the right shape but 5 of 5 values differ")
    assert text.endswith("It looks like tanh instead of the sigmoid: use 1 / (1 + exp(-x)).")


def test_the_first_matching_mistake_wins_and_a_broken_one_is_passed_over() -> None:
    def broken(x: Any) -> Any:
        raise ValueError("does not apply")

    mistakes = [
        Mistake("broken", broken),
        Mistake("doubled", lambda x: 2 * torch.sigmoid(x)),
        Mistake("also doubled", lambda x: torch.sigmoid(x) * 2),
    ]
    found = diagnosis(2 * torch.sigmoid(X), torch.sigmoid(X), mistakes=mistakes, inputs=(X,))
    assert found.name == "doubled" and found.recognised_by == "catalogue"


def test_a_catalogued_mistake_sees_fresh_copies_of_the_inputs() -> None:
    def in_place(x: Any) -> Any:
        return x.mul_(3)  # a variant that changes its argument must not change the next one's

    x = X.clone()
    found = diagnosis(3 * X, X + 1, mistakes=[Mistake("tripled", in_place), Mistake("x", lambda x: x)], inputs=(x,))
    assert found.name == "tripled" and torch.equal(x, X)


def test_a_value_near_no_mistake_gets_no_name() -> None:
    text = message(
        torch.sigmoid(X) + torch.tensor([[0.3, -0.1, 0.2, 0.0, 0.5]]),
        torch.sigmoid(X),
        mistakes=[Mistake("tanh", torch.tanh)],
        inputs=(X,),
    )
    assert "It looks like" not in text


def test_a_sign_flip_is_seen_with_a_reference_function() -> None:
    found = diagnosis(torch.sigmoid(-X) * 1.0, torch.sigmoid(X), reference=torch.sigmoid, inputs=(X,))
    assert found.name.startswith("a sign flip") and found.recognised_by == "values"


def test_a_sign_flip_of_a_sigmoid_is_seen_without_a_reference() -> None:
    z = torch.tensor([[0.7]])
    assert diagnosis(torch.sigmoid(-z), torch.sigmoid(z)).name.startswith("a sign flip")


@pytest.mark.parametrize(
    "actual,expected,words",
    [
        (torch.tensor(0.5), torch.tensor([[0.5]]), "a 0-d tensor (a bare number) where a (1, 1) tensor is asked for"),
        (torch.tensor([0.5]), torch.tensor([[0.5]]), "a tensor of shape (1,) where a (1, 1) tensor is asked for"),
        (torch.ones(3), torch.ones(3, 4), "a dimension was summed (or squeezed) away"),
        (torch.ones(1, 3, 4), torch.ones(3, 4), "an extra dimension of size 1"),
        (torch.ones(4, 3), torch.ones(3, 4), "the result is transposed"),
        (torch.ones(5, 5), torch.ones(1, 1), "an outer product where an inner one was meant"),
    ],
)
def test_a_wrong_shape_is_named(actual: Any, expected: Any, words: str) -> None:
    assert words in message(actual, expected)


def test_values_transposed_in_a_square_result_are_named() -> None:
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert "It looks like the result is transposed" in message(a.T.contiguous(), a)


def test_a_constant_factor_and_a_constant_offset_are_named() -> None:
    e = torch.tensor([[1.0, 2.0, 3.0]])
    assert "scaled by a constant factor 0.3333" in message(e / 3, e)
    assert "shifted by a constant 0.7" in message(e + 0.7, e)


def test_nan_or_inf_where_finite_values_were_expected_is_named() -> None:
    assert "some values are NaN where finite values were expected" in message(
        torch.tensor([[float("nan"), 1.0]]), torch.tensor([[0.0, 1.0]])
    )
    assert "some values are infinite" in message(torch.tensor([[float("inf"), 1.0]]), torch.tensor([[0.0, 1.0]]))


def test_the_same_value_for_different_inputs_is_named_as_hard_coded() -> None:
    def typed_in(x: Any) -> Any:
        return torch.tensor([[0.1595]])

    with pytest.raises(CheckFailed) as failed:
        assert_depends_on_inputs(typed_in, (torch.zeros(1),), (torch.ones(1),), what="single_neuron(...)")
    assert (
        "single_neuron(...) gives the same value for 2 different inputs: is the answer hard-coded?"
        in failed.value.message
    )
    assert_depends_on_inputs(torch.sigmoid, (torch.zeros(1),), (torch.ones(1),))  # a computed answer passes


def test_a_non_tensor_is_named_before_any_diagnosis() -> None:
    with pytest.raises(CheckFailed, match="should be a torch.Tensor, but it is a float"):
        assert_depends_on_inputs(lambda x: 0.5, (torch.zeros(1),), (torch.ones(1),))
