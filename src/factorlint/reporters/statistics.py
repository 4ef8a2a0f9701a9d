"""``--statistics``: a count per rule, most frequent first (ruff's layout)."""

from __future__ import annotations

from collections import Counter

from factorlint.model import Report


def render(report: Report, **_) -> str:
    counts = Counter((f.code, f.name) for f in report.findings)
    counts.update((d.code, "unreadable-file" if d.code == "TFA0001" else "internal-error") for d in report.diagnostics)
    if not counts:
        return "No findings.\n"
    width = max(len(str(n)) for n in counts.values())
    rows = [f"{n:>{width}}  {code:<8} {name}" for (code, name), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(rows) + "\n"
