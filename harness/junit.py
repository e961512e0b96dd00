"""JUnit XML for CI systems: one test case per gate check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.jsonio import write_text_atomic

__all__ = ["OUTCOMES", "JUnitCase", "junit_xml", "write_junit"]

OUTCOMES = ("pass", "failure", "error", "skipped")


@dataclass(frozen=True)
class JUnitCase:
    """One test case. ``outcome`` is pass, failure, error or skipped; ``message`` one line."""

    name: str
    classname: str
    outcome: str = "pass"
    message: str = ""
    details: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"JUnitCase.outcome {self.outcome!r} is not one of {OUTCOMES}")


def junit_xml(suite_name: str, cases: Sequence[JUnitCase]) -> bytes:
    """A ``<testsuites>`` document with one ``<testsuite>`` holding ``cases`` in order."""
    counts = {outcome: sum(c.outcome == outcome for c in cases) for outcome in OUTCOMES}
    attrs = {
        "name": suite_name,
        "tests": str(len(cases)),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": "0",
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    for case in cases:
        element = ET.SubElement(
            suite, "testcase", {"classname": case.classname, "name": case.name, "time": "0"}
        )
        if case.outcome != "pass":
            child = ET.SubElement(element, case.outcome, {"message": case.message})
            if case.outcome != "skipped":
                child.set("type", "breach" if case.outcome == "failure" else "invalid")
            if case.details:
                child.text = case.details
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(path: Path, suite_name: str, cases: Sequence[JUnitCase]) -> None:
    """Write the JUnit XML file atomically."""
    write_text_atomic(Path(path), junit_xml(suite_name, cases))
