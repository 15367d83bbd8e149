"""The agent is written as modules (grader/bridge/inkernel/) and sent as one text: what the kernel
compiles is those modules joined, and a join that would run wrong in the kernel fails at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.bridge.agent import AGENT_MODULES, AGENT_PACKAGE, AGENT_SOURCE, join_agent


def write(folder: Path, **modules: str) -> Path:
    for name, text in modules.items():
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return folder


def test_the_kernel_gets_every_module_of_the_agent_without_their_imports_of_one_another() -> None:
    compile(AGENT_SOURCE, "<grader-agent>", "exec")
    assert f"from {AGENT_PACKAGE}" not in AGENT_SOURCE and AGENT_SOURCE.count("from __future__") == 1
    for name in AGENT_MODULES:  # each module's own docstring, in order
        first_line = (
            (Path(__file__).resolve().parents[2] / "grader" / "bridge" / "inkernel" / f"{name}.py")
            .read_text(encoding="utf-8")
            .splitlines()[0]
        )
        assert first_line in AGENT_SOURCE


def test_a_name_two_modules_define_fails_the_join(tmp_path: Path) -> None:
    folder = write(tmp_path, first="LIMIT = 1\n", second="from pkg.first import LIMIT\n\ndef LIMIT():\n    pass\n")
    with pytest.raises(RuntimeError, match="first.py and second.py both define 'LIMIT'"):
        join_agent(folder, ("first", "second"), "pkg")


def test_an_import_of_the_grader_at_a_module_s_top_fails_the_join(tmp_path: Path) -> None:
    folder = write(tmp_path, first="import grader.checks\n")
    with pytest.raises(RuntimeError, match="first.py imports the grader at its top"):
        join_agent(folder, ("first",), "pkg")


def test_sibling_imports_are_left_out_and_the_rest_kept(tmp_path: Path) -> None:
    folder = write(
        tmp_path,
        first="import json\nLIMIT = 1\n",
        second="from __future__ import annotations\n\nfrom pkg.first import (\n    LIMIT,\n)\n\nTWICE = LIMIT * 2\n",
    )
    namespace: dict[str, object] = {}
    exec(compile(join_agent(folder, ("first", "second"), "pkg"), "<agent>", "exec"), namespace)
    assert namespace["TWICE"] == 2 and "pkg" not in namespace
