"""The default output: each finding with its source line, a caret under it and the fix.

Paths, messages and source lines come from the scanned tree: they go through
:func:`escape.plain`, and the source line is cut to a window around the flagged columns
(:func:`escape.source_excerpt`), so a one-line file of 90 KB prints a few hundred characters
per finding, not the whole line each time.
"""

from __future__ import annotations

import io

from factorlint.model import Report
from factorlint.reporters.concise import fixed_lines, position, summary_line
from factorlint.reporters.escape import guard_ci_commands, plain, source_excerpt

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "advice": "cyan"}


def render(report: Report, color: bool = False, width: int = 100, **_) -> str:
    if not color and not report.diagnostics and not report.findings and not fixed_lines(report):
        # The summary alone, as rich prints it without colour (a run with nothing to report,
        # pre-commit's usual one, does not import rich).
        return guard_ci_commands(summary_line(report) + "\n")
    return rendered_by_rich(report, color, width)


def rendered_by_rich(report: Report, color: bool, width: int) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False, soft_wrap=True)
    for d in report.diagnostics:
        line = Text()
        line.append(f"{plain(d.path)}:{d.line or 1}:{d.column or 1}: ", style="bold")
        line.append(d.code, style="bold red")
        line.append(f" {plain(d.message)}")
        console.print(line)
    for f in report.findings:
        head = Text()
        head.append(f"{plain(f.path)}:{position(f)}: ", style="bold")
        head.append(f.code, style=SEVERITY_STYLE.get(f.severity, ""))
        head.append(f" [{f.severity}] {plain(f.message)}")
        console.print(head)
        if f.source_line:
            gutter = str(f.line)
            pad = " " * len(gutter)
            shown = source_excerpt(f.source_line, f.column, f.end_column if f.end_line == f.line else None)
            console.print(Text(f"{pad} |", style="blue"))
            console.print(Text(f"{gutter} | ", style="blue") + Text(shown.text))
            console.print(Text(f"{pad} | ", style="blue") + Text(" " * shown.caret + "^" * shown.width, style=SEVERITY_STYLE.get(f.severity, "")))
        if f.fix is not None:
            console.print(Text(f"{' ' * len(str(f.line))} = fix: ", style="green") + Text(plain(f.fix.message)))
        console.print()
    for fixed in fixed_lines(report):
        console.print(Text(fixed, style="green"))
    console.print(Text(summary_line(report), style="bold"))
    return guard_ci_commands(buffer.getvalue())
