"""The sample submissions of neural-net-basics, graded for real: what a teacher would see.

Each notebook in tests/submissions/neural-net-basics/ is graded once per session (real kernels,
public and hidden checks) and the verdicts are asserted per exercise, with the words that name
the problem. Regenerate the samples with `python tests/submissions/make_samples.py`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path
from typing import Callable

import pytest

from grader.config import Assignment
from grader.course import load_assignment
from grader.grade import grade
from grader.results import Result

ROOT = Path(__file__).resolve().parents[2]
SLUG = "neural-net-basics"
SAMPLES = ROOT / "tests" / "submissions" / SLUG
MASTER = ROOT / "solutions" / SLUG / f"{SLUG}.ipynb"
EXERCISES = ("activation", "reshape_weights", "single_neuron", "two_layer_forward")
NEVER_ENDS = "cell_never_ends.ipynb"
SHORT_CELL_TIMEOUT = 3.0

Grader = Callable[[str], Result]


@pytest.fixture(scope="module")
def assignment() -> Assignment:
    return load_assignment(ROOT / "assignments" / SLUG)


@pytest.fixture(scope="module")
def graded(assignment: Assignment) -> Grader:
    """Grade a sample (or "master") once per module; later calls reuse the result."""
    cache: dict[str, Result] = {}

    def get(name: str) -> Result:
        if name not in cache:
            path = MASTER if name == "master" else SAMPLES / name
            if name == NEVER_ENDS:
                chosen = dataclasses.replace(
                    assignment, timeouts=dataclasses.replace(assignment.timeouts, cell=SHORT_CELL_TIMEOUT)
                )
                cache[name] = grade(path, chosen)
            else:  # the verdict tests/goldens/test_goldens.py compares with its recording, graded once
                from graded_once import graded_once

                cache[name] = graded_once(path, assignment.root)
        return cache[name]

    return get


def verdicts(result: Result) -> dict[str, str]:
    """Per exercise: "full", "partial" or "zero", as a gradebook would show it."""
    out = {}
    for name, (score, points) in result.exercise_scores().items():
        out[name] = "full" if score == points > 0 else "zero" if score == 0 else "partial"
    return out


def failed(result: Result) -> dict[str, str]:
    return {c.name: c.message for c in result.checks if not c.passed}


def check(result: Result, name: str):  # type: ignore[no-untyped-def]
    return next(c for c in result.checks if c.name == name)


ALL_FULL = dict.fromkeys(EXERCISES, "full")
EXPECTED = {
    "master": ALL_FULL,
    "correct.ipynb": ALL_FULL,
    "written_from_scratch.ipynb": ALL_FULL,
    "python_script_named_ipynb.ipynb": ALL_FULL,
    NEVER_ENDS: ALL_FULL,
    "kills_the_kernel.ipynb": ALL_FULL,
    "stubs_untouched.ipynb": dict.fromkeys(EXERCISES, "zero"),
    "truncated.ipynb": dict.fromkeys(EXERCISES, "zero"),
    "sigmoid_sign_error.ipynb": {
        "activation": "partial",
        "reshape_weights": "full",
        "single_neuron": "partial",
        "two_layer_forward": "partial",
    },
    "forgot_bias.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "partial",
        "two_layer_forward": "partial",
    },
    "sigmoid_sign_error_and_forgot_bias_in_neuron.ipynb": {
        "activation": "partial",
        "reshape_weights": "full",
        "single_neuron": "partial",
        "two_layer_forward": "partial",
    },
    "reshape_with_resize_.ipynb": {
        "activation": "full",
        "reshape_weights": "partial",
        "single_neuron": "partial",
        "two_layer_forward": "full",
    },
    "reshape_returns_copy.ipynb": {
        "activation": "full",
        "reshape_weights": "partial",
        "single_neuron": "full",
        "two_layer_forward": "full",
    },
    "hardcoded_0_1595.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "partial",
        "two_layer_forward": "full",
    },
    "bias_inside_the_sum.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "zero",
        "two_layer_forward": "full",
    },
    "bias_inside_the_sum_reshaped.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "partial",
        "two_layer_forward": "full",
    },
    "no_activation_in_neuron.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "partial",
        "two_layer_forward": "full",
    },
    "hidden_units_summed_to_one.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "full",
        "two_layer_forward": "partial",
    },
    "mm_operands_swapped.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "full",
        "two_layer_forward": "zero",
    },
    "python2_print_statement.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "partial",
        "two_layer_forward": "full",
    },
    "endless_activation_called_from_two_cells.ipynb": {
        "activation": "zero",
        "reshape_weights": "full",
        "single_neuron": "zero",
        "two_layer_forward": "zero",
    },
    "endless_loop_in_two_layer_forward.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "full",
        "two_layer_forward": "zero",
    },
    "outer_product_wrong_order.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "zero",
        "two_layer_forward": "full",
    },
    "returns_numpy.ipynb": {
        "activation": "zero",
        "reshape_weights": "full",
        "single_neuron": "zero",
        "two_layer_forward": "zero",
    },
    "syntax_error_in_one_cell.ipynb": {
        "activation": "full",
        "reshape_weights": "full",
        "single_neuron": "full",
        "two_layer_forward": "zero",
    },
}


def test_every_sample_has_an_expected_verdict() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.ipynb")) == sorted(k for k in EXPECTED if k != "master")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_verdict_per_exercise(graded: Grader, name: str) -> None:
    result = graded(name)
    assert verdicts(result) == EXPECTED[name], failed(result)
    assert result.max_score == 38.0
    if EXPECTED[name] == ALL_FULL:
        assert result.score == result.max_score and result.passed


def test_master_runs_every_check_public_and_hidden(graded: Grader) -> None:
    result = graded("master")
    assert result.readable and result.hidden_ran and not result.cells and not result.errors
    for exercise in EXERCISES:
        kinds = {c.hidden for c in result.checks if c.exercise == exercise}
        assert kinds == {False, True}, exercise


def test_student_notebook_scores_zero_without_a_crash(graded: Grader) -> None:
    result = graded("stubs_untouched.ipynb")
    assert result.readable and result.score == 0 and result.status == "failed"
    for message in failed(result).values():
        assert "NotImplementedError" in message or "does not define" in message
    assert {c.ename for c in result.cells} == {"NotImplementedError"}


def test_sigmoid_sign_error_is_a_value_error(graded: Grader) -> None:
    result = graded("sigmoid_sign_error.ipynb")
    assert check(result, "test_activation_keeps_shape_and_dtype").passed
    assert "values differ" in failed(result)["test_activation_known_values"]
    assert "values differ" in failed(result)["test_activation_matches_sigmoid_on_unseen_inputs"]


def test_forgot_bias_fails_the_bias_and_value_checks(graded: Grader) -> None:
    result = graded("forgot_bias.ipynb")
    problems = failed(result)
    assert check(result, "test_single_neuron_returns_a_1x1_tensor").passed
    assert "values differ" in problems["test_single_neuron_walkthrough_value"]
    assert "test_single_neuron_adds_the_bias" in problems
    assert "values differ" in problems["test_two_layer_forward_on_a_batch"]


def test_resize_changes_the_input(graded: Grader) -> None:
    result = graded("reshape_with_resize_.ipynb")
    problems = failed(result)
    assert "changed `weights`" in problems["test_reshape_weights_leaves_input_unchanged"]
    assert "(1, 5)" in problems["test_reshape_weights_leaves_input_unchanged"]
    assert check(result, "test_reshape_weights_returns_a_view").passed  # resize_ keeps the storage
    # the notebook's own weights were resized by an earlier cell, so computing y failed
    assert any("cannot be multiplied" in c.message for c in result.cells)


def test_clone_is_not_a_view(graded: Grader) -> None:
    result = graded("reshape_returns_copy.ipynb")
    assert "a copy, not a view" in failed(result)["test_reshape_weights_returns_a_view"]
    assert check(result, "test_reshape_weights_leaves_input_unchanged").passed


def test_hardcoded_answer_passes_public_checks_and_fails_hidden_ones(graded: Grader) -> None:
    result = graded("hardcoded_0_1595.ipynb")
    # every public check that carries points passes; the one worth none names the hard-coding (issue 11)
    public = [c for c in result.checks if c.exercise == "single_neuron" and not c.hidden and c.points]
    if result.device == "cpu":
        assert all(c.passed for c in public)
    else:  # torch.tensor([[0.1595]]) is made on the CPU: on a GPU the device check catches it too
        assert any("is on cpu" in c.message for c in public)
    assert not check(result, "test_single_neuron_on_unseen_inputs").passed
    assert check(result, "test_single_neuron_on_unseen_inputs").public_view().message.startswith("Hidden check failed")


def test_outer_product_is_named(graded: Grader) -> None:
    message = failed(graded("outer_product_wrong_order.ipynb"))["test_single_neuron_returns_a_1x1_tensor"]
    assert "shape (5, 5), expected (1, 1)" in message and "outer product" in message


def test_a_shape_only_expectation_shows_no_expected_numbers(graded: Grader) -> None:
    # the check compares against torch.empty(1, 1): its numbers are whatever memory held
    from grader.feedback import render_text

    result = graded("outer_product_wrong_order.ipynb")
    check = next(c for c in result.checks if c.name == "test_single_neuron_returns_a_1x1_tensor")
    assert check.expected is not None and check.expected.shape == [1, 1] and check.expected.values is None
    assert check.actual is not None and check.actual.shape == [5, 5] and check.actual.values
    lines = render_text(result).splitlines()
    at = next(i for i, line in enumerate(lines) if "test_single_neuron_returns_a_1x1_tensor" in line)
    assert lines[at + 2].split() == ["expected:", "torch.Tensor", "(1,", "1)", "float32"]
    walkthrough = next(c for c in result.checks if c.name == "test_single_neuron_walkthrough_value")
    assert walkthrough.expected is not None and walkthrough.expected.values == [pytest.approx(0.1595, abs=1e-4)]


def test_numpy_result_is_named(graded: Grader) -> None:
    problems = failed(graded("returns_numpy.ipynb"))
    assert "numpy" in problems["test_activation_keeps_shape_and_dtype"]
    assert all("numpy" in problems[name] for name in problems if name.startswith("test_activation"))


def test_syntax_error_is_a_cell_issue_and_other_exercises_still_pass(graded: Grader) -> None:
    result = graded("syntax_error_in_one_cell.ipynb")
    syntax = [c for c in result.cells if c.ename == "SyntaxError"]
    assert len(syntax) == 1 and "SyntaxError" in syntax[0].message
    assert "def two_layer_forward" in syntax[0].source_head
    assert "does not define `two_layer_forward`" in failed(result)["test_two_layer_forward_walkthrough_value"]


def test_a_syntax_error_names_the_line_of_its_cell_not_ipythons_file(graded: Grader) -> None:
    """IPython compiles a cell as a temporary file ("1062446796.py, line 3"): the student reads
    the line of the cell the issue names ("Cell 21: ... (line 3)")."""
    syntax = [c for c in graded("syntax_error_in_one_cell.ipynb").cells if c.ename == "SyntaxError"]
    assert syntax[0].index == 20 and syntax[0].message == "raised SyntaxError: '(' was never closed (line 3)"


def test_never_ending_cell_times_out_and_the_rest_is_graded(graded: Grader) -> None:
    result = graded(NEVER_ENDS)
    issues = [c for c in result.cells if "timeout" in c.message]
    assert len(issues) == 1 and issues[0].kind in ("timeout", "dropped")
    assert "while True" in issues[0].source_head


def test_cell_that_kills_the_kernel_is_dropped_and_the_rest_is_graded(graded: Grader) -> None:
    result = graded("kills_the_kernel.ipynb")
    assert [c.kind for c in result.cells] == ["dropped"]
    assert any("restarted" in e for e in result.errors)


def test_truncated_notebook_is_unreadable_with_the_reason(graded: Grader) -> None:
    result = graded("truncated.ipynb")
    assert result.readable is False and result.score == 0 and result.status == "unreadable"
    assert [e for e in result.errors if "truncated" in e] == [result.errors[0]]  # said once, at the top
    assert {c.message for c in result.checks if not c.hidden} == {"Not graded: the note at the top says why."}


def test_an_unreadable_notebooks_reason_is_printed_once(graded: Grader, assignment: Assignment) -> None:
    """Not on every check of the terminal summary, the feedback page and results.json: once, at the top."""
    from grader.feedback import render_html, render_text
    from grader.integrations.gradescope_results import dumps_gradescope

    result = graded("truncated.ipynb")
    reason = result.errors[0].split(":")[0]
    shown = json.loads(dumps_gradescope(result, assignment.visibility))
    gradescope = "\n".join([shown["output"]] + [t["output"] for t in shown["tests"]])
    for text in (render_text(result, title=assignment.title), render_html(result, title=assignment.title), gradescope):
        assert text.count(reason) == 1


def test_script_named_ipynb_is_graded_with_a_warning(graded: Grader) -> None:
    assert any("Python script" in e for e in graded("python_script_named_ipynb.ipynb").errors)


def test_samples_are_what_make_samples_writes() -> None:
    from grader.authoring.assign import notebook_text

    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "tests" / "submissions" / "make_samples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, nb in module.samples().items():
        text = nb if isinstance(nb, str) else notebook_text(nb)
        assert (SAMPLES / name).read_text(encoding="utf-8") == text, f"{name} is stale: run make_samples.py"


# -- the feedback names the mistake (issue 11): what the student reads in each failed public check


def test_a_flipped_sign_in_the_sigmoid_is_named(graded: Grader) -> None:
    problems = failed(graded("sigmoid_sign_error.ipynb"))
    assert (
        "It looks like 1 / (1 + exp(x)), with the sign inside exp flipped" in problems["test_activation_known_values"]
    )
    assert "1 / (1 + torch.exp(-x))" in problems["test_activation_known_values"]
    # the neuron built on it: the grader sees the sign flip on its own (no catalogue entry says so)
    assert "It looks like a sign flip" in problems["test_single_neuron_walkthrough_value"]


def test_a_left_out_bias_is_named(graded: Grader) -> None:
    problems = failed(graded("forgot_bias.ipynb"))
    for name in ("test_single_neuron_walkthrough_value", "test_notebook_computes_y"):
        assert "It looks like the bias is left out: add `+ bias` after the sum." in problems[name], problems[name]
    assert "It looks like the biases are left out" in problems["test_two_layer_forward_walkthrough_value"]


def test_the_bias_added_inside_the_sum_is_named(graded: Grader) -> None:
    problems = failed(graded("bias_inside_the_sum.ipynb"))
    message = problems["test_single_neuron_walkthrough_value"]
    assert "has shape (), expected (1, 1)" in message
    assert "the bias is added inside the sum (once per feature)" in message and "after the sum" in message


def test_a_mistake_reshaped_on_the_way_out_is_named_with_its_shape(graded: Grader) -> None:
    # the catalogue's mistake computes a 0-d tensor; the student's .view(1, 1) has its numbers
    message = failed(graded("bias_inside_the_sum_reshaped.ipynb"))["test_single_neuron_walkthrough_value"]
    assert "1 of 1 values differ" in message
    assert (
        "It looks like the bias is added inside the sum (once per feature); the result was also reshaped to "
        "(1, 1): add the bias once, after the sum"
    ) in message, message
    from grader.results import mistakes_of

    # the report counts the mistake by its name, without the shape
    assert ("single_neuron", "the bias is added inside the sum (once per feature)") in mistakes_of(
        graded("bias_inside_the_sum_reshaped.ipynb")
    )


def test_a_left_out_activation_is_named(graded: Grader) -> None:
    message = failed(graded("no_activation_in_neuron.ipynb"))["test_single_neuron_walkthrough_value"]
    assert "-1.662" not in message and "It looks like the activation is left out" in message


def test_hidden_units_summed_into_one_are_named(graded: Grader) -> None:
    problems = failed(graded("hidden_units_summed_to_one.ipynb"))
    for name in ("test_two_layer_forward_walkthrough_value", "test_notebook_computes_output"):
        assert "the hidden units are summed into one before the output layer" in problems[name]
        assert "no torch.sum" in problems[name]


def test_a_hard_coded_walkthrough_answer_is_named_by_a_public_check(graded: Grader) -> None:
    result = graded("hardcoded_0_1595.ipynb")
    message = failed(result)["test_single_neuron_computes_from_its_inputs"]
    assert "gives the same value for 2 different inputs: is the answer hard-coded?" in message
    assert check(result, "test_single_neuron_computes_from_its_inputs").points == 0  # it names, it does not cost
    assert check(graded("correct.ipynb"), "test_single_neuron_computes_from_its_inputs").passed


def test_the_swapped_operands_of_the_product_are_named(graded: Grader) -> None:
    problems = failed(graded("outer_product_wrong_order.ipynb"))
    assert (
        "the operands of the matrix product swapped (an outer product)"
        in problems["test_single_neuron_walkthrough_value"]
    )
    assert "torch.mm(features, weights.view(5, 1))" in problems["test_single_neuron_walkthrough_value"]


def test_a_right_answer_is_never_diagnosed(graded: Grader) -> None:
    assert all("It looks like" not in c.message for c in graded("correct.ipynb").checks)


# -- errors in the exercise's terms (issue 11)


def test_a_failed_matrix_product_names_the_operands_their_shapes_and_the_fix(graded: Grader) -> None:
    message = failed(graded("mm_operands_swapped.ipynb"))["test_two_layer_forward_walkthrough_value"]
    assert "mat1 and mat2 shapes cannot be multiplied (3x2 and 1x3)" in message
    assert (
        "W1 is (3, 2) and features is (1, 3): for a matrix product the inner sizes must agree (2 and 1 here); "
        "try torch.mm(features, W1)."
    ) in message


def test_a_name_missing_because_its_cell_failed_says_which_cell_and_the_error(graded: Grader) -> None:
    problems = failed(graded("syntax_error_in_one_cell.ipynb"))
    assert (
        "`two_layer_forward` is not defined because cell 21, which defines it, has a SyntaxError on line 3: "
        "'(' was never closed. Fix that cell"
    ) in problems["test_two_layer_forward_walkthrough_value"]
    # `output` fails in the next cell because of it: the chain is told
    assert "cell 22, which assigns it, raised NameError" in problems["test_notebook_computes_output"]
    assert "cell 21, which defines it, has a SyntaxError" in problems["test_notebook_computes_output"]


def test_a_python_2_print_statement_is_named_with_the_python_3_form(graded: Grader) -> None:
    message = failed(graded("python2_print_statement.ipynb"))["test_notebook_computes_y"]
    assert "`y` is not defined because cell 16, which assigns it, has a SyntaxError on line 2" in message
    assert "`print y` is Python 2's print statement; in Python 3 print is a function: `print(y)`" in message
    assert "`print(y)`. Fix that cell" in message and "?." not in message


def test_a_function_that_ran_past_its_timeout_is_not_waited_on_again(graded: Grader) -> None:
    # the notebook's own cell 22 found two_layer_forward stuck: no check waits for it again
    result = graded("endless_loop_in_two_layer_forward.ipynb")
    problems = failed(result)
    cell = next(c.message for c in result.cells if c.index == 21)
    assert (
        "stopped after 30 s (timeout), stuck in `two_layer_forward`, cell 21, line 4: `while hidden.sum() != 0:" in cell
    )
    at_once = [
        m
        for m in problems.values()
        if m.startswith(
            "`two_layer_forward` never returned when it ran before (stuck in `two_layer_forward`, cell 21, line 4"
        )
    ]
    assert len(at_once) >= 3, problems
    assert result.timings["checks"] < 10, result.timings  # not one call timeout spent


@pytest.mark.slow  # waits out one cell timeout (30 s) and one call timeout (10 s), once each
def test_an_endless_activation_is_waited_for_once_and_named_where_it_is_stuck(graded: Grader) -> None:
    result = graded("endless_activation_called_from_two_cells.ipynb")
    cells = {c.index + 1: c.message for c in result.cells}
    stuck = "stuck in `activation`, cell 5, line 7: `while True:`"
    assert f"stopped after 30 s (timeout), {stuck}" in cells[16], cells
    assert (
        f"stopped after 10 s (timeout), {stuck} (where an earlier cell was stuck, so it was stopped after the "
        "call timeout, not the 30 s of a cell)" in cells[22]
    ), cells
    problems = failed(result)
    assert problems["test_single_neuron_returns_a_1x1_tensor"].startswith(
        f"`single_neuron` calls `activation`, which never returned ({stuck}), so `single_neuron` was not called"
    )
    assert problems["test_two_layer_forward_on_a_batch"].startswith(
        "`two_layer_forward` calls `activation`, which never"
    )
    assert problems["test_activation_known_values"].startswith(
        f"`activation` never returned when it ran before ({stuck})"
    )
    # one cell timeout and one call timeout, and a few seconds; checks wait for nothing
    assert result.timings["cells"] < 30 + 10 + 8 and result.timings["checks"] < 5, result.timings


# -- hidden checks name the mistake, never values; the class report says what to re-teach (issue 11)


def test_a_hidden_check_names_the_mistake_and_nothing_else(graded: Grader) -> None:
    hidden = check(graded("sigmoid_sign_error.ipynb"), "test_activation_matches_sigmoid_on_unseen_inputs")
    view = hidden.public_view()
    assert view.message.startswith("Hidden check failed. It looks like a sign flip")
    assert "Hidden checks reveal nothing else: not their inputs, not their values." in view.message
    assert not any(ch.isdigit() for ch in view.message) and view.expected is None and view.actual is None


def test_an_instructor_may_have_hidden_checks_name_nothing(assignment: Assignment) -> None:
    quiet = dataclasses.replace(assignment, hidden_feedback="nothing")
    result = grade(SAMPLES / "sigmoid_sign_error.ipynb", quiet)
    hidden = [c.public_view() for c in result.checks if c.hidden and not c.passed]
    assert hidden and all(
        c.message == "Hidden check failed. Hidden checks reveal nothing but their name and pass/fail." for c in hidden
    )
    assert all(not c.diagnosis for c in result.checks if c.hidden)


def test_by_default_hidden_checks_show_their_name_and_pass_fail_only(tmp_path: Path, graded: Grader) -> None:
    # DESIGN.md: hidden checks reveal their name and pass/fail, and the recognised mistake only where
    # the instructor allows ([visibility] hidden_checks = "mistake", which this sample course sets).
    import csv
    import json
    import shutil
    import subprocess
    import sys

    from grader.verdict import HIDDEN_MESSAGE_FAIL

    sample, mistake = "outer_product_wrong_order.ipynb", "an outer product where an inner one was meant"
    allowed = [c.public_view().message for c in graded(sample).checks if c.hidden and not c.passed]
    assert allowed and all(mistake in m for m in allowed)  # named by hidden checks only, where allowed
    course = tmp_path / "course"
    for part in ("assignments", "solutions"):
        shutil.copytree(ROOT / part / SLUG, course / part / SLUG)
        toml = course / part / SLUG / "assignment.toml"
        toml.write_text(toml.read_text().replace('hidden_checks = "mistake"\n', ""))  # the default
    assert load_assignment(course / "assignments" / SLUG).hidden_feedback == "pass_fail"
    (tmp_path / "class").mkdir()
    shutil.copy(SAMPLES / sample, tmp_path / "class" / "ada.ipynb")
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "batch",
            str(tmp_path / "class"),
            "--assignment",
            str(course / "assignments" / SLUG),
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-sandbox",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    tests = json.loads((out / "results" / "ada.json").read_text())["tests"]
    hidden = [t for t in tests if "hidden" in t["tags"] and t["status"] == "failed"]
    assert hidden and all(t["output"] == HIDDEN_MESSAGE_FAIL for t in hidden)
    with open(out / "grades.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert mistake not in row["mistakes"] and "matrix product swapped" in row["mistakes"]  # the public checks' own
    page = (out / "feedback" / "ada.html").read_text()
    assert mistake not in page and HIDDEN_MESSAGE_FAIL in page


@pytest.mark.parametrize(
    "name, mistake",
    [
        ("bias_inside_the_sum.ipynb", "the bias is added inside the sum (once per feature)"),
        ("outer_product_wrong_order.ipynb", "the operands of the matrix product swapped (an outer product)"),
    ],
)
def test_one_mistake_is_counted_once_for_what_to_re_teach(graded: Grader, name: str, mistake: str) -> None:
    """The catalogue names the mistake in the public checks; the hidden checks, without a catalogue,
    see the same answer and diagnose it generically ("a bare number where a matrix is asked for",
    "an outer product where an inner one was meant"): one mistake, counted once."""
    from grader.results import mistakes_of

    result = graded(name)
    assert [m for m in mistakes_of(result) if m[0] == "single_neuron"] == [("single_neuron", mistake)]
    assert any(c.diagnosed_by in ("shape", "values") for c in result.checks if c.exercise == "single_neuron")


def test_grades_csv_and_the_class_report_list_the_mistakes(graded: Grader, assignment: Assignment) -> None:
    from grader.feedback.classstats import ClassRow, class_mistakes
    from grader.feedback.report import render_report
    from grader.results import csv_row, to_csv

    names = ["forgot_bias.ipynb", "bias_inside_the_sum.ipynb", "sigmoid_sign_error.ipynb", "correct.ipynb"]
    rows = [ClassRow(student=n, status=graded(n).status, result=graded(n)) for n in names]
    text = to_csv([csv_row(r.student, r.result) for r in rows if r.result], list(assignment.exercises))
    header = text.splitlines()[0].split(",")
    # docs/batch.md's order: the fixed columns, the late policy's, mistakes, stale, then the exercises
    assert header[header.index("final") + 1] == "mistakes" and header[-4:] == list(assignment.exercises)
    assert "single_neuron: the bias is left out" in text.splitlines()[1]  # forgot_bias's row
    taught = class_mistakes(assignment, rows)
    assert ("One neuron", "the bias is left out", 1) in taught
    assert ("One neuron", "the bias is added inside the sum (once per feature)", 1) in taught
    assert [exercise for exercise, _, _ in taught][0] == "Sigmoid activation"  # in the assignment's order
    page = render_report(assignment, rows)
    assert "What to re-teach" in page and "the bias is added inside the sum (once per feature)" in page
