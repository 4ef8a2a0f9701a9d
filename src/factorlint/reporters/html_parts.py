"""Small pieces of the HTML report: escaping, badges, code blocks and tables.

Everything from the scanned code goes through :func:`e`: :func:`escape.html_text`, which is
``html.escape`` with ``quote=True`` over text whose control, bidirectional and lone-surrogate
characters are already visible escapes (a browser would otherwise reorder the text around an
override, and no encoder takes a surrogate).
"""

from __future__ import annotations

import re
from collections import Counter

from factorlint.reporters.escape import html_text

ROWS_SHOWN = 200  # per table; the JSON output has them all
STATUS_CLASS = {"pass": "pass", "warn": "warn", "fail": "fail", "n/a": "na", "no evidence": "blind"}
SEVERITIES = ("error", "warning", "advice")
_TICKS = re.compile(r"`([^`\n]+)`")


def e(value) -> str:
    """Any value as text for an HTML element or a double-quoted attribute."""
    return html_text(value)


def _inline(text) -> str:
    """Escaped text with `backtick` spans shown as code (escaping first keeps it safe)."""
    return _TICKS.sub(r"<code>\1</code>", e(text))


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _score(value) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _status_badge(status: str) -> str:
    return f'<span class="badge {STATUS_CLASS.get(status, "na")}">{e(status)}</span>'


def _sev_badge(severity: str) -> str:
    return f'<span class="badge sev sev-{e(severity)}">{e(severity)}</span>'


def _severity_counts(findings) -> str:
    counts = Counter(f.severity for f in findings)
    parts = [_plural(counts[s], s, "advice" if s == "advice" else "") for s in SEVERITIES if counts[s]]
    return ", ".join(parts) or "none"


def _link(url: str, text: str) -> str:
    if url.startswith(("https://", "http://")):
        return f'<a href="{e(url)}" rel="noopener noreferrer">{e(text)}</a>'
    return e(text)


def _code(text: str, start=None, cls: str = "") -> str:
    """A code block; with ``start``, each line carries its line number (not copied with the text).

    Callers bound the text (:func:`escape.clip_lines`, :func:`escape.excerpt_context`); tabs are
    expanded here, as the terminal output does, since :func:`e` would show them as ``\t``.
    """
    lines = (text or "").rstrip("\n").expandtabs(4).split("\n")
    if isinstance(start, int) and start > 0:
        body = "".join(f'<span class="l"><span class="ln" data-n="{start + i}"></span>{e(line)}</span>'
                       for i, line in enumerate(lines))
    else:
        body = "\n".join(e(line) for line in lines)
    return f'<pre class="{cls}"><code>{body}</code></pre>' if cls else f"<pre><code>{body}</code></pre>"


def _line_of(location: str):
    _, _, line = (location or "").rpartition(":")
    return int(line) if line.isdigit() else None


def _table(headers, rows, total: int, cls: str = "rows") -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    more = f'<p class="more">{total - len(rows):,} more not shown.</p>' if total > len(rows) else ""
    table = f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="table-wrap">{table}</div>{more}'
