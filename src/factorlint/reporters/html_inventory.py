"""The inventory and diagnostics sections of the HTML report."""

from __future__ import annotations

from factorlint.audit.build import unresolved_hint
from factorlint.reporters.html_parts import ROWS_SHOWN, _inline, _table, e


def _yn(value) -> str:
    return "yes" if value is True else "no" if value is False else "–"


def _d(key, fmt=None):
    return lambda s: (fmt or (lambda v: "–" if v in (None, "") else v))(s.detail.get(key))


INVENTORY = [
    ("agents", "Agents", [("Framework", _d("framework")), ("Tools", _d("tools")), ("Step bound", _d("bounded", _yn)),
                          ("Owns the loop", _d("owns_loop", _yn))]),
    ("llm_calls", "LLM call sites", [("Model", _d("model")), ("Structured output", _d("structured", _yn)),
                                     ("Function", lambda s: s.function or "–")]),
    ("prompts", "Prompts", [("Where the text lives", _d("source")),
                            ("Characters", _d("chars", lambda v: f"{v:,}" if isinstance(v, int) and v else "–"))]),
    ("tools", "Tools", [("Framework", _d("framework")), ("Approval", _d("approval", _yn))]),
    ("loops", "Agent loops", [("Bounded", _d("bounded", _yn)), ("Bound", _d("bound"))]),
    ("handoffs", "Hand-offs", [("Framework", _d("framework")), ("Bounded", _d("bounded", _yn))]),
    ("retries", "Retry wrappers", [("Bounded", _d("bounded", _yn))]),
    ("state", "State (checkpointers, memory, approval, interrupts)", [("Kind", lambda s: s.kind),
                                                                       ("Persistent", _d("persistent", _yn))]),
    ("entry_points", "Entry points", [("Trigger", _d("trigger")), ("Function", lambda s: s.function or "–")]),
    ("unresolved", "Calls not followed (named like a model call)", [("What to do", unresolved_hint)]),
    ("test_code", "Test and example code (listed, not judged)", [("Kind", lambda s: s.kind)]),
]


def _inventory(inv) -> str:
    parts = ['<ul class="stats">' + "".join(
        f'<li><a href="#inv-{attr}"><b>{len(getattr(inv, attr)):,}</b>{e(title.split(" (")[0])}</a></li>'
        for attr, title, _ in INVENTORY) + "</ul>"]
    if inv.models:
        rows = [[f"<code>{e(name)}</code>", f"{count:,}"] for name, count in list(inv.models.items())[:ROWS_SHOWN]]
        parts.append('<h3 id="inv-models">Models</h3>'
                     + _table(["Model", "Call sites"], rows, len(inv.models), "rows narrow"))
    if inv.frameworks:
        rows = [[e(name), f"{count:,}"] for name, count in list(inv.frameworks.items())[:ROWS_SHOWN]]
        parts.append('<h3 id="inv-frameworks">Frameworks</h3>'
                     + _table(["Framework", "Agents, tools and hand-offs"], rows, len(inv.frameworks), "rows narrow"))
    for attr, title, columns in INVENTORY:
        sites = getattr(inv, attr)
        heading = f'<h3 id="inv-{attr}">{e(title)} <span class="count">{len(sites):,}</span></h3>'
        if not sites:
            parts.append(f'{heading}<p class="empty">None found.</p>')
            continue
        rows = [[f'<span class="mono">{e(s.path)}:{s.line}</span>', _inline(s.label), *(e(fn(s)) for _, fn in columns)]
                for s in sites[:ROWS_SHOWN]]
        parts.append(heading + _table(["Location", "Label", *(h for h, _ in columns)], rows, len(sites)))
    return ('<section id="inventory" class="break">\n<h2>Inventory</h2>\n<p class="muted">Every agent-related '
            "place found in application code.</p>\n" + "\n".join(parts) + "\n</section>")


def _diagnostics(report) -> str:
    if not report.diagnostics:
        return ('<section id="diagnostics">\n<h2>Files not analysed</h2>\n<p class="empty">None: every file '
                "was read and parsed.</p>\n</section>")
    rows = [[f"<code>{e(d.code)}</code>", f'<span class="mono">{e(d.path)}{f":{d.line}" if d.line else ""}</span>',
             e(d.message)] for d in report.diagnostics[:ROWS_SHOWN]]
    return ('<section id="diagnostics">\n<h2>Files not analysed</h2>\n'
            + _table(["Code", "File", "Why"], rows, len(report.diagnostics)) + "\n</section>")
