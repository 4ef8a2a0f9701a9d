"""``--statistics``: a count per rule, most frequent first (ruff's layout).

Only rule codes and names are shown, none of the scanned text; they still go through
:func:`escape.plain` so a rule defined elsewhere cannot break the layout either.
"""

from __future__ import annotations

from collections import Counter

from factorlint.model import Report
from factorlint.reporters.escape import guard_ci_commands, plain

# The names of the codes diagnostics carry (the rules' names, without importing the rules).
_DIAGNOSTICS = {"TFA0001": "unreadable-file", "TFA0004": "fix-not-applied", "TFA0005": "analysis-budget-exceeded"}


def render(report: Report, **_) -> str:
    counts = Counter((f.code, f.name) for f in report.findings)
    counts.update((d.code, _DIAGNOSTICS.get(d.code, "internal-error")) for d in report.diagnostics)
    if not counts:
        return "No findings.\n"
    width = max(len(str(n)) for n in counts.values())
    rows = [f"{n:>{width}}  {plain(code):<8} {plain(name)}"
            for (code, name), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return guard_ci_commands("\n".join(rows) + "\n")
