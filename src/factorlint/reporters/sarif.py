"""SARIF 2.1.0, as GitHub code scanning and other SARIF viewers read it.

- ``tool.driver.rules``: every rule of the run's registry (code as ``id``, ``name``, the summary as
  ``shortDescription``, the first paragraph of the documentation as ``fullDescription``, the whole
  documentation as ``help``, its first reference as ``helpUri``, the level its severity gives,
  and ``security-severity`` on the security rules, which code scanning ranks by).
- ``results``: one per finding, suppressed ones with an ``inSource`` suppression, each with its
  region (1-based lines and columns counted in code points, ``columnKind``) and the line-insensitive
  fingerprint as ``partialFingerprints`` so that alerts follow a finding across edits above it.
- Files that could not be analysed are ``toolExecutionNotifications`` of the invocation.

Paths are URIs relative to ``%SRCROOT%`` (the scanned folder): percent-encoded from the file name's
bytes, so a name that is not UTF-8 or holds ``#``, ``?`` or ``%`` stays one unambiguous reference.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

from factorlint import __version__
from factorlint.model import Diagnostic, Finding, Report
from factorlint.reporters.escape import json_text

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/humanlayer/12-factor-agents"
LEVELS = {"error": "error", "warning": "warning", "advice": "note"}
# GitHub code scanning's ranks: critical >= 9.0, high >= 7.0, medium >= 4.0, low below.
SECURITY_SEVERITY = {"error": "8.0", "warning": "5.5", "advice": "3.0"}
PRECISION = {"high": "high", "medium": "medium", "low": "low"}
_URL = re.compile(r"https?://\S+")


def render(report: Report, *, commit: str | None = None, **_) -> str:
    return json_text(sarif_log(report, commit=commit)) + "\n"


def sarif_log(report: Report, *, commit: str | None = None) -> dict:
    from factorlint.checks.registry import all_rules

    rules = sorted(all_rules(), key=lambda r: r.meta.code)
    index = {rule.meta.code: i for i, rule in enumerate(rules)}
    results = [_result(f, index, suppressed=False) for f in report.findings]
    results += [_result(f, index, suppressed=True) for f in report.suppressed]
    run: dict = {
        "tool": {
            "driver": {
                "name": "factorlint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(rule) for rule in rules],
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": _root_uri(report.root)}},
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": not report.diagnostics,
                "toolExecutionNotifications": [_notification(d) for d in report.diagnostics],
            }
        ],
        "results": results,
    }
    if commit:
        run["versionControlProvenance"] = [
            {"repositoryUri": _root_uri(report.root), "revisionId": commit}
        ]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def _rule(rule) -> dict:
    meta = rule.meta
    documentation = rule.documentation()
    record: dict = {
        "id": meta.code,
        "name": meta.name,
        "shortDescription": {"text": meta.summary},
        "fullDescription": {"text": _first_paragraph(documentation) or meta.summary},
        "help": {"text": f"{meta.fix_advice}\n\n{documentation}", "markdown": documentation},
        "defaultConfiguration": {"level": LEVELS[meta.severity], "enabled": meta.default_enabled},
        "properties": {"tags": _tags(meta), "precision": PRECISION[meta.confidence]},
    }
    reference = _URL.search(documentation)
    if reference:
        record["helpUri"] = reference.group().rstrip(").,")
    if meta.code.startswith("TFS"):
        record["properties"]["security-severity"] = SECURITY_SEVERITY[meta.severity]
    return record


def _tags(meta) -> list[str]:
    if meta.code.startswith("TFS"):
        tags = ["security", "agent-security"]
        if meta.also_factor:
            tags.append(f"factor-{meta.also_factor}")
        return tags
    if meta.factor is None:
        return ["analysis"]
    return ["12-factor-agents", f"factor-{meta.factor}"]


def _first_paragraph(documentation: str) -> str:
    """The first paragraph under the documentation's first heading ("What it does")."""
    paragraphs = [p.strip() for p in documentation.split("\n\n")]
    body = [p for p in paragraphs if p and not p.startswith("#")]
    return " ".join(body[0].split()) if body else ""


def _result(finding: Finding, index: dict[str, int], *, suppressed: bool) -> dict:
    result: dict = {
        "ruleId": finding.code,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [_location(finding.path, finding.line, finding.column, finding.end_line, finding.end_column)],
        "partialFingerprints": {"factorlint/v1": finding.fingerprint},
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    properties: dict = {}
    if finding.fix is not None:
        properties["fix"] = finding.fix.applicability
    if finding.cell:
        properties["cell"] = finding.cell  # the region's lines count in this notebook cell
    if properties:
        result["properties"] = properties
    if suppressed:
        suppression: dict = {"kind": "inSource"}
        if finding.suppressed:
            suppression["justification"] = finding.suppressed
        result["suppressions"] = [suppression]
    return result


def _notification(diagnostic: Diagnostic) -> dict:
    line = diagnostic.line or 1
    column = diagnostic.column or 1
    return {
        "level": "error",
        "descriptor": {"id": diagnostic.code},
        "message": {"text": diagnostic.message},
        "locations": [_location(diagnostic.path, line, column, line, column)],
    }


def _location(path: str, line: int, column: int, end_line: int, end_column: int) -> dict:
    region = {"startLine": max(line, 1), "startColumn": max(column, 1)}
    if end_line >= line:
        region["endLine"] = end_line
        if end_line > line or end_column > column:
            region["endColumn"] = end_column
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": uri_reference(path), "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    }


def uri_reference(path: str) -> str:
    """A '/'-separated relative path as a URI reference, percent-encoded from its bytes."""
    return quote(os.fsencode(path), safe="/")


def _root_uri(root: str) -> str:
    """The scanned folder as a ``file:`` URI ending in '/', as ``originalUriBaseIds`` requires."""
    absolute = (Path(root).resolve() if root else Path.cwd()).as_posix()
    if not absolute.startswith("/"):
        absolute = "/" + absolute  # C:/work -> file:///C:/work
    uri = "file://" + quote(os.fsencode(absolute), safe="/:")
    return uri if uri.endswith("/") else uri + "/"
