"""The default output: each finding with its source line, a caret under it and the fix."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from factorlint.model import Report
from factorlint.reporters.concise import summary_line

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "advice": "cyan"}


def render(report: Report, color: bool = False, width: int = 100, **_) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False, soft_wrap=True)
    for d in report.diagnostics:
        line = Text()
        line.append(f"{d.path}:{d.line or 1}:{d.column or 1}: ", style="bold")
        line.append(d.code, style="bold red")
        line.append(f" {d.message}")
        console.print(line)
    for f in report.findings:
        head = Text()
        head.append(f"{f.path}:{f.line}:{f.column}: ", style="bold")
        head.append(f.code, style=SEVERITY_STYLE.get(f.severity, ""))
        head.append(f" [{f.severity}] {f.message}")
        console.print(head)
        if f.source_line:
            gutter = str(f.line)
            pad = " " * len(gutter)
            source = f.source_line.rstrip().expandtabs(4)
            width_marker = max(1, min(len(source), (f.end_column - f.column) if f.end_line == f.line else len(source)) - (f.column - 1))
            console.print(Text(f"{pad} |", style="blue"))
            console.print(Text(f"{gutter} | ", style="blue") + Text(source))
            console.print(Text(f"{pad} | ", style="blue") + Text(" " * (f.column - 1) + "^" * max(1, width_marker), style=SEVERITY_STYLE.get(f.severity, "")))
        if f.fix is not None:
            console.print(Text(f"{' ' * len(str(f.line))} = fix: ", style="green") + Text(f.fix.message))
        console.print()
    console.print(Text(summary_line(report), style="bold"))
    return buffer.getvalue()
