"""JUnit XML for CI test reports (Jenkins, GitLab, Azure Pipelines, CircleCI).

One test suite per file, named by its path: a test case per rule that has findings in the file, whose
failure lists them (``line:column [severity] message``, one a line), and for a file without findings one
passing test case, so that the report counts every file that was checked. orgtrust-lint failing on a
file (OT003) is an error, not a failure; a file that was not linted is a skipped test case (an error
when it could have held findings). Valid against the Jenkins/Surefire JUnit schema (tests/data).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from collections.abc import Callable

from orgtrust_lint.facts import INTERNAL_ERROR_RULE, Finding, SkippedFile
from orgtrust_lint.report.escape import visible

PASSED_CASE = "all rules"  # the test case of a file with nothing to report (or not linted)

# Characters XML 1.0 cannot hold at all (even escaped): what escape.visible leaves of them.
_NOT_XML = re.compile("[\ufffe\uffff]")


def _text(value: str) -> str:
    """One line of outside text, safe in an XML document (control characters as visible escapes)."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", visible(value))


def _finding_line(finding: Finding) -> str:
    where = finding.location
    return f"{where.line}:{where.column} [{finding.severity.value}] {_text(finding.message)}"


def _case(suite: ElementTree.Element, path: str, name: str) -> ElementTree.Element:
    return ElementTree.SubElement(suite, "testcase", {"classname": path, "name": name})


def render(
    findings: list[Finding],
    files: list[str],
    skipped: tuple[SkippedFile, ...] = (),
    path_of: Callable[[str], str] = str,
) -> str:
    by_file: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    names: dict[str, str] = {}
    for finding in findings:
        by_file[path_of(finding.location.path)][finding.rule].append(finding)
        names[finding.rule] = finding.name
    skipped_by_file = {path_of(item.path): item for item in skipped}
    paths = sorted({*(path_of(p) for p in files), *by_file, *skipped_by_file})

    root = ElementTree.Element("testsuites", {"name": "orgtrust-lint"})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for path in paths:
        shown = _text(path)
        suite = ElementTree.SubElement(root, "testsuite", {"name": shown, "file": shown})
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for rule in sorted(by_file.get(path, {})):
            found = sorted(by_file[path][rule], key=lambda f: (f.location.line, f.location.column))
            case = _case(suite, shown, f"{rule} {names[rule]}")
            kind = "error" if rule == INTERNAL_ERROR_RULE else "failure"
            summary = _text(found[0].message) if len(found) == 1 else f"{len(found)} findings"
            problem = ElementTree.SubElement(case, kind, {"type": rule, "message": summary})
            problem.text = "\n".join(_finding_line(f) for f in found)
            counts["tests"] += 1
            counts["failures" if kind == "failure" else "errors"] += 1
        if path in skipped_by_file:
            item = skipped_by_file[path]
            case = _case(suite, shown, PASSED_CASE)
            reason = _text(f"skipped: {item.reason}")
            # A file that could have held findings and was not read makes the run incomplete (exit 3).
            kind = "error" if item.incomplete else "skipped"
            ElementTree.SubElement(case, kind, {"type": "skipped", "message": reason})
            counts["tests"] += 1
            counts["errors" if item.incomplete else "skipped"] += 1
        elif counts["tests"] == 0:
            _case(suite, shown, PASSED_CASE)
            counts["tests"] += 1
        suite.attrib.update({key: str(value) for key, value in counts.items()})
        for key in totals:
            totals[key] += counts[key]
    root.attrib.update({key: str(value) for key, value in totals.items()})
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
