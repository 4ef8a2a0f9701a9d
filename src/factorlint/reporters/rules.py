"""``factorlint rule``: rule documentation as text or JSON.

The text is the rules' own, not the scanned tree's; it still goes out through :mod:`escape`
(:func:`escape.plain_block`, :func:`escape.json_text`) like every other report, so a rule
defined elsewhere cannot put a control sequence or a CI command in it.
"""

from __future__ import annotations

from factorlint.reporters.escape import guard_ci_commands, json_text, plain_block


def rule_record(rule) -> dict:
    meta = rule.meta
    return {
        "code": meta.code,
        "name": meta.name,
        "factor": meta.factor,
        "severity": meta.severity,
        "confidence": meta.confidence,
        "default_enabled": meta.default_enabled,
        "status": meta.status,
        "since": meta.since,
        "fix": meta.fix,
        "summary": meta.summary,
        "fix_advice": meta.fix_advice,
        "documentation": rule.documentation(),
    }


def render_rules(rules, output_format: str = "text", detailed: bool = True) -> str:
    if output_format == "json":
        records = [rule_record(r) for r in rules]
        return json_text(records if len(records) != 1 else records[0]) + "\n"
    if not detailed:
        rows = []
        width = max(len(r.meta.name) for r in rules)
        for r in rules:
            meta = r.meta
            factor = f"F{meta.factor:02d}" if meta.factor else ("SEC" if meta.code.startswith("TFS") else "-")
            opt = "" if meta.default_enabled else "  (opt-in)"
            rows.append(f"{meta.code:<8} {meta.name:<{width}}  {factor:<4} {meta.severity:<8} {meta.confidence:<7}{opt}")
        header = f"{'CODE':<8} {'NAME':<{width}}  {'FAC':<4} {'SEVERITY':<8} CONFIDENCE"
        return guard_ci_commands(plain_block("\n".join([header, *rows]) + "\n"))
    out = []
    for r in rules:
        meta = r.meta
        factor = f"factor {meta.factor}" if meta.factor else ("agent security" if meta.code.startswith("TFS") else "analysis")
        out.append(f"# {meta.name} ({meta.code})\n")
        out.append(f"{factor} · severity {meta.severity} · confidence {meta.confidence}"
                   f" · {'on by default' if meta.default_enabled else 'opt-in'} · fix: {meta.fix}\n")
        out.append(r.documentation() + "\n")
    return guard_ci_commands(plain_block("\n".join(out)))
