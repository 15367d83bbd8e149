"""JUnit XML of a verdict: one testcase per check, the exercise as classname, a failed check's
text as the terminal shows it (within the visibility rules)."""

from __future__ import annotations

import re
from dataclasses import replace
from xml.etree import ElementTree as ET

from grader.results import Result, failure_text, standalone_message

__all__ = ["to_junit"]


def to_junit(result: Result) -> str:
    """JUnit XML: one testcase per check, the exercise as classname."""
    failures = sum(not c.passed for c in result.checks)
    suite = ET.Element(
        "testsuite",
        {
            "name": result.assignment,
            "tests": str(len(result.checks) or 1),
            "failures": str(failures + (0 if result.checks else 1)),
            "errors": "0",
            "time": f"{result.execution_time:.3f}",
        },
    )
    props = ET.SubElement(suite, "properties")
    for key in ("device", "isolation", "sha256", "grader_version"):
        ET.SubElement(props, "property", {"name": key, "value": str(getattr(result, key))})
    if not result.checks:
        case = ET.SubElement(suite, "testcase", {"classname": "submission", "name": "readable", "time": "0"})
        failure = ET.SubElement(case, "failure", {"message": "; ".join(result.errors) or "no checks ran"})
        failure.text = "\n".join(result.errors)
    for check in result.checks:
        view = check.public_view()
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": check.exercise,
                "name": check.name,
                "time": f"{check.duration:.3f}",
            },
        )
        if not view.passed:
            view = replace(view, message=standalone_message(view.message, result))
            failure = ET.SubElement(
                case, "failure", {"message": view.message.splitlines()[0] if view.message else "failed"}
            )
            failure.text = failure_text(view)
    ET.indent(suite)
    # the student's words may hold characters XML 1.0 forbids (NUL, ESC ...): a CI could not parse the file
    return _XML_INVALID.sub("", ET.tostring(suite, encoding="unicode", xml_declaration=True))


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
