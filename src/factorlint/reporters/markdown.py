"""``factorlint audit --output-format markdown``: a review document to paste into a PR or a doc.

GitHub-flavoured Markdown. Text from the scanned project goes in through :mod:`escape` only:
paths, locations and model names as code spans (:func:`escape.md_code`), messages and advice
with their `code` spans kept (:func:`escape.md_message`), other words as escaped prose
(:func:`escape.md_text`) and code as fenced blocks (:func:`escape.md_block`). None of it can
render as a link, an image, a mention, HTML or break a table, a code span or the page.
"""

from __future__ import annotations

from factorlint.audit.build import unresolved_hint
from factorlint.audit.model import Audit, FactorScore
from factorlint.reporters.concise import position, summary_line
from factorlint.reporters.escape import (
    guard_ci_commands,
    md_block,
    md_code,
    md_message,
    md_text,
)

PLAN_SHOWN = 20
FINDINGS_SHOWN = 50
INVENTORY_SHOWN = 50
_STATUS_MARK = {"pass": "🟢 pass", "warn": "🟡 warn", "fail": "🔴 fail", "n/a": "⚪ n/a", "no evidence": "🟣 no evidence"}


def _score(factor: FactorScore) -> str:
    if factor.score is None:
        return "–"
    return f"**{factor.score:.1f}** {factor.letter}"


def _evidence(factor: FactorScore) -> str:
    return md_text("; ".join(factor.evidence_lines()))


def render(audit: Audit, **_) -> str:
    report, card = audit.report, audit.scorecard
    out: list[str] = [f"# factorlint audit: {md_code(report.title)}", ""]
    overall = card.overall
    line = f"**Overall: {md_text(overall.headline)}**"
    if overall.score is not None:
        line += (f" ({overall.score:.1f}/10, {overall.letter}, risk-weighted over {overall.factors_scored} "
                 f"factors). Agent security: {_STATUS_MARK[card.security.status]} {_score(card.security)}.")
    out.append(line)
    out += [
        "",
        (f"{card.app_files} application files scored; {card.excluded_files} test and example files scanned "
         f"but not scored. {summary_line(report)}"),
        "",
        "Versions: " + md_text(", ".join(f"{k} {v}" for k, v in audit.versions.items())),
        "",
    ]
    if audit.change is not None:
        change = audit.change
        out += [f"## Change since {md_code(change.revision)}", "", f"**{md_text(change.headline)}**", "",
                "| factor | before | after | |", "|---|---|---|---|"]
        for moved in change.factors:
            mark = "worse" if moved.worse else ("better" if moved.better else "")
            out.append(f"| {moved.key} | {_state(moved.before_status, moved.before_score)} "
                       f"| {_state(moved.after_status, moved.after_score)} | {mark} |")
        out += [""]
    if audit.gates:
        out += ["## Gates", "", "| gate | result | measured |", "|---|---|---|"]
        out += [f"| {md_text(g.label)} | {'✅ pass' if g.passed else '❌ fail'} | {md_text(g.detail)} |" for g in audit.gates]
        out += [""]
    out += ["## Scorecard", "", "| factor | title | status | score | sites | findings | evidence |", "|---|---|---|---|---:|---:|---|"]
    for factor in [*card.factors, card.security]:
        title = f"[{md_text(factor.title)}]({factor.url})" if factor.url else md_text(factor.title)
        out.append(
            f"| {factor.key} | {title} | {_STATUS_MARK[factor.status]} | {_score(factor)} | {factor.sites} "
            f"| {len(factor.findings)} | {_evidence(factor)} |"
        )
    out += ["", _HOW_SCORED, ""]
    out += _plan(audit)
    out += _findings(audit)
    out += _inventory(audit)
    if report.diagnostics:
        out += ["## Files not analysed", ""]
        out += [f"- {md_code(d.path)}: {md_message(d.message)} ({d.code})" for d in report.diagnostics]
        out.append("")
    return guard_ci_commands("\n".join(out).rstrip() + "\n")


_HOW_SCORED = (
    "<sub>Status first: fail = a counted finding at warning or error (security findings count against the "
    "factor they break too), warn = advice only, pass = touched and nothing counted, n/a = nothing touches "
    "the factor, no evidence = model libraries used but nothing the analysis could follow. The number is "
    "over the places the factor applies to: error 5, warning 2, advice 1, each place loses at most 5; a "
    "failing factor shows 5.9 (D) at most, a warned one 8.9 (B). Overall: fail while factor 4, 7, 8 or 9 "
    "fails, warn while another fails or warns; its number is the risk-weighted mean of the factors with "
    "places, held the same way. Security is scored apart.</sub>"
)


def _plan(audit: Audit) -> list[str]:
    if not audit.plan:
        return []
    out = ["## Fix plan", "", "Ranked by the score gained per unit of effort.", ""]
    for item in audit.plan[:PLAN_SHOWN]:
        gain = f"+{item.gain:.1f} overall" if item.gain > 0 else f"+{item.factor_gain:.1f} on {item.factor_key}"
        out.append(
            f"### {item.rank}. {md_text(item.code)} {md_text(item.name)} ({item.factor_key}, {item.severity}, "
            f"{item.count} finding{'s' if item.count != 1 else ''}, effort {item.effort}, {gain}"
            f"{', autofix' if item.autofix else ''})"
        )
        out += ["", md_message(item.advice), "", f"Before ({md_code(item.before_location)}):", "", md_block(item.before), ""]
        if item.diff:
            fix = "factorlint check --fix" + (" --unsafe-fixes" if not item.autofix else "")
            out += [f"The change `{fix}` makes here:", "", md_block(item.diff, "diff"), ""]
        elif item.after:
            out += ["After (the rule's example):", "", md_block(item.after), ""]
        if item.count > 1:
            shown = ", ".join(md_code(loc) for loc in item.locations[:20])
            more = f" and {item.count - 20} more" if item.count > 20 else ""
            out += [f"All: {shown}{more}", ""]
    if len(audit.plan) > PLAN_SHOWN:
        out += [f"{len(audit.plan) - PLAN_SHOWN} more items in the JSON and HTML reports.", ""]
    return out


def _findings(audit: Audit) -> list[str]:
    card = audit.scorecard
    groups = [f for f in [*card.factors, card.security] if f.findings or f.hints]
    if not groups:
        return []
    out = ["## Findings by factor", ""]
    for factor in groups:
        out += [f"### {factor.key} {md_text(factor.title)}", ""]
        for label, findings in (("", factor.findings), ("hint, not scored: ", factor.hints)):
            for f in findings[:FINDINGS_SHOWN]:
                out.append(f"- {label}**{f.code}** {md_code(f'{f.path}:{position(f)}')}: {md_message(f.message)}")
            if len(findings) > FINDINGS_SHOWN:
                out.append(f"- ... {len(findings) - FINDINGS_SHOWN} more")
        out.append("")
    return out


def _inventory(audit: Audit) -> list[str]:
    inv = audit.inventory
    out = ["## Inventory", ""]
    sections = [
        ("Agents", inv.agents, lambda s: f"{s.detail.get('framework', '')}"),
        ("Model calls", inv.llm_calls, lambda s: f"model {s.detail.get('model') or '?'}"),
        ("Prompts", inv.prompts, lambda s: f"text: {s.detail.get('source', '?')}"),
        ("Tools", inv.tools, lambda s: f"{s.detail.get('framework') or ''}{', approval' if s.detail.get('approval') else ''}"),
        ("Agent loops", inv.loops, lambda s: "bounded" if s.detail.get("bounded") else "unbounded"),
        ("Hand-offs", inv.handoffs, lambda s: "bounded" if s.detail.get("bounded") else "framework default bound"),
        ("Retry wrappers", inv.retries, lambda s: "bounded" if s.detail.get("bounded") else "unbounded"),
        ("State (checkpointers, memory, approvals)", inv.state, lambda s: s.kind),
        ("Entry points", inv.entry_points, lambda s: s.detail.get("trigger", "")),
        ("Calls not followed (named like a model call)", inv.unresolved, unresolved_hint),
        ("Test and example code (listed, not judged)", inv.test_code, lambda s: s.kind),
    ]
    for title, sites, describe in sections:
        if not sites:
            continue
        out += [f"**{title}** ({len(sites)})", "", "| where | what | |", "|---|---|---|"]
        for site in sites[:INVENTORY_SHOWN]:
            where = md_code(f"{site.path}:{site.line}", table=True)
            out.append(f"| {where} | {md_text(site.label)} | {md_text(describe(site))} |")
        if len(sites) > INVENTORY_SHOWN:
            out.append(f"| ... | {len(sites) - INVENTORY_SHOWN} more | |")
        out.append("")
    if inv.models:
        out += ["**Models**: " + ", ".join(f"{md_code(m)} ×{n}" for m, n in inv.models.items()), ""]
    return out


def _state(status: str, score: float | None) -> str:
    return status if score is None else f"{status} {score:.1f}"
