"""``factorlint audit`` in the terminal: findings grouped by factor, with counts per severity.

The scorecard proper (scores, grades, inventory, fix plan) builds on this grouping.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict

from rich.console import Console
from rich.table import Table
from rich.text import Text

from factorlint.model import Report
from factorlint.reporters.concise import summary_line
from factorlint.reporters.full import SEVERITY_STYLE


def group_by_factor(report: Report) -> dict:
    groups: dict = defaultdict(list)
    for finding in report.findings:
        if finding.code.startswith("TFS"):
            key = "security"
        elif finding.factor is None:
            key = "analysis"
        else:
            key = finding.factor
        groups[key].append(finding)
    return groups


def render(report: Report, knowledge=None, color: bool = False, width: int = 110, **_) -> str:
    from factorlint.knowledge import default_knowledge

    knowledge = knowledge or default_knowledge()
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)
    groups = group_by_factor(report)
    console.print(Text(f"factorlint audit of {report.root}", style="bold"))
    roles = Counter(f.role for f in report.files)
    console.print(
        f"{report.files_scanned} files ({roles.get('app', 0)} application, {roles.get('test', 0)} test, "
        f"{roles.get('example', 0)} example), {report.lines_scanned:,} lines\n"
    )
    table = Table(title="Findings by factor", title_justify="left", show_lines=False)
    table.add_column("Factor")
    table.add_column("Title")
    for severity in ("error", "warning", "advice"):
        table.add_column({"error": "Errors", "warning": "Warnings", "advice": "Advice"}[severity], justify="right", style=SEVERITY_STYLE[severity])
    for factor in knowledge.factors.factors:
        counts = Counter(f.severity for f in groups.get(factor.number, []))
        table.add_row(factor.code, factor.title, *(str(counts.get(s, 0) or "-") for s in ("error", "warning", "advice")))
    for key, title in (("security", knowledge.factors.security.title), ("analysis", "Analysis (suppressions, parsing)")):
        counts = Counter(f.severity for f in groups.get(key, []))
        if counts:
            table.add_row("TFS" if key == "security" else "TFA00", title, *(str(counts.get(s, 0) or "-") for s in ("error", "warning", "advice")))
    console.print(table)
    order = [f.number for f in knowledge.factors.factors] + ["security", "analysis"]
    for key in order:
        findings = groups.get(key)
        if not findings:
            continue
        if isinstance(key, int):
            factor = knowledge.factor_by_number[key]
            console.print(Text(f"\n{factor.code} {factor.title}", style="bold underline"))
            console.print(Text(factor.summary, style="dim"))
        else:
            console.print(Text(f"\n{key.capitalize()}", style="bold underline"))
        for f in findings:
            line = Text("  ")
            line.append(f.code, style=SEVERITY_STYLE.get(f.severity, ""))
            line.append(f" {f.path}:{f.line}:{f.column} ", style="bold")
            line.append(f.message)
            console.print(line)
            if f.fix is not None:
                console.print(Text("      fix: ", style="green") + Text(f.fix.message, style="dim"))
    if report.diagnostics:
        console.print(Text("\nFiles not analysed", style="bold underline"))
        for d in report.diagnostics:
            console.print(f"  {d.code} {d.path}: {d.message}")
    console.print()
    console.print(Text(summary_line(report), style="bold"))
    console.print(Text("Test and example files are scanned and tagged; the scorecard will count application code only.", style="dim"))
    return buffer.getvalue()
