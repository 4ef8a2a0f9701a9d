"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` line per finding,
which the runner turns into an annotation on the pull request's diff.

Everything from the scanned tree is escaped as the runner's command parser expects: in the message
``%``, CR and LF; in a property value (the file name, the title) also ``:`` and ``,``. So a file
named ``a,line=1::x.py`` or holding a newline annotates itself and nothing else, and no line of
this output can start another command. What else cannot be shown safely is escaped as in every
report (:func:`escape.plain`).
"""

from __future__ import annotations

from factorlint.model import Report
from factorlint.reporters.escape import plain

LEVELS = {"error": "error", "warning": "warning", "advice": "notice"}


def render(report: Report, **_) -> str:
    lines = []
    for diagnostic in report.diagnostics:
        lines.append(_command(
            "error", diagnostic.path, diagnostic.line or 1, diagnostic.column or 1, None, None,
            f"{diagnostic.code} not analysed", diagnostic.message,
        ))
    for finding in report.findings:
        lines.append(_command(
            LEVELS[finding.severity], finding.path, finding.line, finding.column,
            finding.end_line, finding.end_column,
            f"{finding.code} {finding.name}" + (f" (cell {finding.cell})" if finding.cell else ""), finding.message,
        ))
    return "".join(line + "\n" for line in lines)


def _command(level: str, path: str, line: int, column: int, end_line, end_column, title: str, message: str) -> str:
    properties = [f"file={escape_property(path)}", f"line={line}", f"col={column}"]
    if end_line is not None:
        properties.append(f"endLine={end_line}")
        if end_line == line and end_column is not None:
            properties.append(f"endColumn={end_column}")
    properties.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(properties)}::{escape_data(message)}"


def escape_data(text: str) -> str:
    # The runner's own escapes first; what else cannot be shown safely, as every report does.
    return plain(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
