"""Error carried forward: the stand-in the grader puts in the kernel holds no reference code.

tests/attacks/notebooks/neural-net-basics/probe_the_standin.ipynb is a submission to
neural-net-basics whose `activation` is wrong and whose `two_layer_forward` is right; while its
`activation` is the grader's stand-in, `two_layer_forward` reads the stand-in's source, code,
globals and closure (and what those hold), every function and module of the kernel, and raises
with anything that comes from the grader's checks. It gets the carried-forward verdict only
when that search ran to the end and found nothing.
"""

from __future__ import annotations

from pathlib import Path

from grader.course import load_assignment
from grader.grade import Options, grade

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
PROBE = HERE / "notebooks" / "neural-net-basics" / "probe_the_standin.ipynb"
NETWORK_CALLS = (
    "test_two_layer_forward_walkthrough_value",
    "test_two_layer_forward_on_a_batch",
    "test_two_layer_forward_on_unseen_sizes",
)


def test_code_that_reads_the_standin_finds_no_reference_code() -> None:
    assert PROBE.is_file(), "run tests/attacks/make_notebooks.py"
    result = grade(PROBE, load_assignment(ROOT / "assignments" / "neural-net-basics"), Options())
    network = {c.name: c for c in result.checks if c.exercise == "two_layer_forward"}
    for name in NETWORK_CALLS:
        check = network[name]
        assert "FOUND" not in check.message and "RuntimeError" not in check.message, check.message
        # granted only after a re-run in which the probe read the stand-in and found nothing
        assert check.carried_forward == "activation", check.message
    assert not result.errors
