"""``factorlint rule``: rule documentation as text or JSON."""

from __future__ import annotations

import json


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
        return json.dumps(records if len(records) != 1 else records[0], indent=2) + "\n"
    if not detailed:
        rows = []
        width = max(len(r.meta.name) for r in rules)
        for r in rules:
            meta = r.meta
            factor = f"F{meta.factor:02d}" if meta.factor else ("SEC" if meta.code.startswith("TFS") else "-")
            opt = "" if meta.default_enabled else "  (opt-in)"
            rows.append(f"{meta.code:<8} {meta.name:<{width}}  {factor:<4} {meta.severity:<8} {meta.confidence:<7}{opt}")
        header = f"{'CODE':<8} {'NAME':<{width}}  {'FAC':<4} {'SEVERITY':<8} CONFIDENCE"
        return "\n".join([header, *rows]) + "\n"
    out = []
    for r in rules:
        meta = r.meta
        factor = f"factor {meta.factor}" if meta.factor else ("agent security" if meta.code.startswith("TFS") else "analysis")
        out.append(f"# {meta.name} ({meta.code})\n")
        out.append(f"{factor} · severity {meta.severity} · confidence {meta.confidence}"
                   f" · {'on by default' if meta.default_enabled else 'opt-in'} · fix: {meta.fix}\n")
        out.append(r.documentation() + "\n")
    return "\n".join(out)
