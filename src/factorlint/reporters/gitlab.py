"""GitLab Code Quality: the JSON array GitLab reads from a job's ``codequality`` report.

Each finding is an object with ``description``, ``check_name``, ``fingerprint``, ``severity``
(``info``, ``minor``, ``major``, ``critical`` or ``blocker``) and ``location`` (``path`` and
``lines.begin``), the fields GitLab documents; ``categories`` and ``content`` add what its
widget shows. The fingerprint is the finding's own line-insensitive one (rule, path, the flagged
code and its occurrence): unique in the report, and stable across edits above the finding.
Files that could not be analysed are listed as ``info`` entries of check ``TFA000x``.
"""

from __future__ import annotations

import hashlib

from factorlint.model import Report
from factorlint.reporters.escape import json_text

SEVERITIES = {"error": "critical", "warning": "major", "advice": "minor"}


def render(report: Report, **_) -> str:
    return json_text(code_quality(report)) + "\n"


def code_quality(report: Report) -> list[dict]:
    entries = []
    for finding in report.findings:
        category = "Security" if finding.code.startswith("TFS") else "Style"
        entries.append({
            "type": "issue",
            "description": f"{finding.code} {finding.message}" + (f" (cell {finding.cell})" if finding.cell else ""),
            "check_name": finding.code,
            "fingerprint": finding.fingerprint,
            "severity": SEVERITIES[finding.severity],
            "categories": [category],
            "content": {"body": f"{finding.name}: see `factorlint rule {finding.code}`"},
            "location": {
                "path": finding.path,
                "lines": {"begin": finding.line, "end": finding.end_line},
            },
        })
    for diagnostic in report.diagnostics:
        entries.append({
            "type": "issue",
            "description": f"{diagnostic.code} {diagnostic.message}",
            "check_name": diagnostic.code,
            "fingerprint": _fingerprint(diagnostic.path, diagnostic.code, diagnostic.message),
            "severity": "info",
            "categories": ["Bug Risk"],
            "location": {"path": diagnostic.path, "lines": {"begin": diagnostic.line or 1}},
        })
    return entries


def _fingerprint(path: str, code: str, key: str) -> str:
    text = "\0".join((path, code, key)).encode("utf-8", "surrogateescape")
    return hashlib.md5(text, usedforsecurity=False).hexdigest()
