"""``path:line:col: CODE message``, one finding a line (what editors and grep expect).

Paths and messages come from the scanned tree: each goes through :func:`escape.plain`, so it
stays on its line and prints no control sequence.
"""

from __future__ import annotations

from factorlint.model import Report
from factorlint.reporters.escape import guard_ci_commands, plain


def position(finding) -> str:
    """``line:col``, or ``cell N:line:col`` in a notebook (escaped path not included)."""
    cell = f"cell {finding.cell}:" if getattr(finding, "cell", None) else ""
    return f"{cell}{finding.line}:{finding.column}"


def finding_lines(report: Report) -> list[str]:
    """One escaped line per diagnostic and finding, each already guarded against CI commands
    (``check --quiet`` prints these alone)."""
    lines = [
        f"{plain(d.path)}:{d.line or 1}:{d.column or 1}: {d.code} {plain(d.message)}" for d in report.diagnostics
    ]
    lines += [f"{plain(f.path)}:{position(f)}: {f.code} {plain(f.message)}" for f in report.findings]
    return [guard_ci_commands(line) for line in lines]


def summary_line(report: Report) -> str:
    count = len(report.findings)
    parts = [f"Found {count} finding{'s' if count != 1 else ''}"]
    if report.diagnostics:
        n = len(report.diagnostics)
        parts.append(f"{n} file{'s' if n != 1 else ''} not analysed")
    if report.suppressed:
        parts.append(f"{len(report.suppressed)} suppressed")
    known = []
    if report.baseline is not None:
        known.append(f"{report.baseline.known} known from the baseline")
        if report.baseline.fixed:
            known.append(f"{len(report.baseline.fixed)} fixed since")
    if report.diff_scope is not None:
        scope = report.diff_scope
        known.append(f"on lines changed since {plain(scope.revision)} ({scope.outside} elsewhere)")
    text = ", ".join(parts + known)
    if not report.findings and not report.diagnostics:
        text = ", ".join(["All checks passed", *known])
    files, lines = report.files_scanned, report.lines_scanned
    return f"{text} ({files} file{'s' if files != 1 else ''}, {lines:,} line{'s' if lines != 1 else ''})."


def fixed_lines(report: Report) -> list[str]:
    """The baseline's entries that no finding matches any more, one escaped line each."""
    if report.baseline is None or not report.baseline.fixed:
        return []
    return [
        f"fixed since the baseline: {plain(e.path)}:{e.line}: {e.code} {plain(e.message)}"
        for e in report.baseline.fixed
    ]


def render(report: Report, **_) -> str:
    lines = finding_lines(report)
    lines += fixed_lines(report)
    lines.append(summary_line(report))
    return guard_ci_commands("\n".join(lines) + "\n")
