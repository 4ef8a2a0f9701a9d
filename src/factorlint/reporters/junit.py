"""JUnit XML, for CI systems that show test reports (Jenkins, GitLab's test report, Azure).

One ``testsuite`` named ``factorlint`` with one ``testcase`` per analysed file (``classname`` the
path, ``name`` the path): a file with findings has one ``failure`` per finding (``type`` the rule
code, ``message`` the finding's message, the text its location); a file that could not be
analysed has an ``error``. Files without findings pass.

XML 1.0 cannot carry every character a file name or a message may hold (C0 controls, lone
surrogates from undecodable names): those are written as ``\\xNN`` / ``\\uXXXX`` text, and the rest
is escaped by the XML writer, so the report always parses.
"""

from __future__ import annotations

import re
from collections import defaultdict
from xml.etree import ElementTree

from factorlint.model import Report
from factorlint.reporters.concise import position

_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\x7f-\x9f]")


def xml_text(text: str) -> str:
    """``text`` with what XML 1.0 forbids (and the C1 controls) written out as escapes."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def render(report: Report, **_) -> str:
    by_path: dict[str, list] = defaultdict(list)
    errors: dict[str, list] = defaultdict(list)
    for finding in report.findings:
        by_path[finding.path].append(finding)
    for diagnostic in report.diagnostics:
        errors[diagnostic.path].append(diagnostic)
    paths = sorted({f.path for f in report.files} | set(by_path) | set(errors))
    suite = ElementTree.Element("testsuite", {
        "name": "factorlint",
        "tests": str(len(paths)),
        "failures": str(sum(len(v) for v in by_path.values())),
        "errors": str(sum(len(v) for v in errors.values())),
        "skipped": "0",
    })
    for path in paths:
        case = ElementTree.SubElement(suite, "testcase", {"classname": xml_text(path), "name": xml_text(path)})
        for finding in sorted(by_path.get(path, ()), key=lambda f: (f.line, f.column, f.code)):
            failure = ElementTree.SubElement(case, "failure", {
                "type": finding.code, "message": xml_text(f"{finding.code} {finding.message}"),
            })
            failure.text = xml_text(
                f"{finding.path}:{position(finding)}: {finding.code} [{finding.severity}] {finding.message}"
            )
        for diagnostic in errors.get(path, ()):
            error = ElementTree.SubElement(case, "error", {
                "type": diagnostic.code, "message": xml_text(diagnostic.message),
            })
            error.text = xml_text(f"{diagnostic.path}: {diagnostic.code} {diagnostic.message}")
    suites = ElementTree.Element("testsuites", {
        "name": "factorlint", "tests": suite.get("tests", "0"),
        "failures": suite.get("failures", "0"), "errors": suite.get("errors", "0"),
    })
    suites.append(suite)
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
