"""``factorlint audit`` in the terminal: the scorecard with bars, the fix plan, the inventory.

A pure function of the Audit. Colour only when writing to a terminal. Text from the scanned tree
(paths, messages, labels, model names, code) goes through :func:`escape.plain` and into rich as
``Text``, never as a markup string, so ``[link=...]`` or ``:emoji:`` in a file name stays text.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from factorlint.audit.build import unresolved_hint
from factorlint.audit.model import Audit, FactorScore
from factorlint.reporters.concise import position, summary_line
from factorlint.reporters.escape import clip, guard_ci_commands, plain
from factorlint.reporters.full import SEVERITY_STYLE

STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "n/a": "dim", "no evidence": "magenta"}
PLAN_SHOWN = 10
INVENTORY_SHOWN = 8
FINDINGS_SHOWN = 15


def score_text(factor: FactorScore) -> Text:
    if factor.score is None:
        return Text("–", style="dim")
    return Text(f"{factor.score:.1f} {factor.letter}", style=STATUS_STYLE[factor.status])


def status_text(factor: FactorScore) -> Text:
    return Text(factor.status, style=STATUS_STYLE[factor.status])


def evidence_text(factor: FactorScore) -> Text:
    parts = factor.evidence_lines()
    if factor.hints:
        parts.append(f"{len(factor.hints)} hints not scored")
    return Text(plain("; ".join(parts)))


# Below this width the evidence column is left out (the markdown, HTML and JSON reports keep it)
# and titles wrap, so that the numbers stay readable on an 80-column terminal.
NARROW = 110


def scorecard_table(audit: Audit, width: int = 120) -> Table:
    card = audit.scorecard
    narrow = width < NARROW
    table = Table(title="Scorecard (application code)", title_justify="left", show_lines=False, expand=True)
    table.add_column("Factor", no_wrap=True)
    table.add_column("Title", no_wrap=not narrow, ratio=2 if narrow else None)
    table.add_column("Status", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    table.add_column("Sites", justify="right", no_wrap=True)
    table.add_column("Findings", justify="right", no_wrap=True)
    if not narrow:
        table.add_column("Evidence", ratio=3, min_width=24, style="dim")
    for factor in [*card.factors, card.security]:
        cells: list[Text | str] = [
            Text(plain(factor.key)), Text(plain(factor.title)), status_text(factor), score_text(factor),
            str(factor.sites), str(len(factor.findings)),
        ]
        if not narrow:
            cells.append(evidence_text(factor))
        table.add_row(*cells, end_section=factor is card.factors[-1])
    return table


def _overall_line(audit: Audit) -> Text:
    overall = audit.scorecard.overall
    line = Text("Overall: ", style="bold")
    line.append(plain(overall.headline), style=f"bold {STATUS_STYLE[overall.status]}")
    if overall.score is not None:
        line.append(f"   {overall.score:.1f}/10 {overall.letter}", style=STATUS_STYLE[overall.status])
        line.append(f", risk-weighted over {overall.factors_scored} factors", style="dim")
    security = audit.scorecard.security
    if security.score is not None:
        line.append("   Security: ")
        line.append(f"{security.status} {security.score:.1f} {security.letter}", style=f"bold {STATUS_STYLE[security.status]}")
    return line


def render(audit: Audit, color: bool = False, width: int = 120, **_) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)
    report, card = audit.report, audit.scorecard
    console.print(Text(f"factorlint audit of {plain(report.title)}", style="bold"))
    console.print(Text(
        f"{report.files_scanned} files, {report.lines_scanned:,} lines: {card.app_files} application files scored; "
        f"{card.excluded_files} test and example files scanned but not scored."
    ))
    versions = ", ".join(f"{k} {v}" for k, v in audit.versions.items())
    console.print(Text(plain(versions), style="dim"))
    console.print()
    console.print(scorecard_table(audit, width))
    console.print(_overall_line(audit))
    _change(console, audit)

    if audit.plan:
        console.print(Text("\nFix plan (highest gain per effort first)", style="bold underline"))
        for item in audit.plan[:PLAN_SHOWN]:
            head = Text(f"{item.rank:>2}. ")
            head.append(plain(item.code), style="bold")
            head.append(f" {plain(item.name)} ({item.factor_key}, {item.count} finding{'s' if item.count != 1 else ''}"
                        f" in {item.files} file{'s' if item.files != 1 else ''}, effort {item.effort}")
            head.append(f", +{item.gain:.1f} overall" if item.gain > 0 else f", +{item.factor_gain:.1f} {item.factor_key}")
            head.append(", autofix" if item.autofix else "")
            head.append(")")
            console.print(head)
            console.print(Text(f"    {plain(item.advice)}", style="dim"))
            first = item.before.splitlines()[0].strip() if item.before else ""
            console.print(Text(f"    first at {plain(item.before_location)}: ", style="dim") + Text(plain(clip(first))))
            for line in item.diff.splitlines()[2:14]:  # the fix, without the file header lines
                style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
                console.print(Text(f"      {plain(clip(line))}", style=style))
        if len(audit.plan) > PLAN_SHOWN:
            console.print(Text(f"    ... {len(audit.plan) - PLAN_SHOWN} more items (markdown, HTML and JSON reports have them all)", style="dim"))

    _findings(console, audit)
    _inventory(console, audit)
    _gates(console, audit)
    if report.diagnostics:
        console.print(Text(f"\n{len(report.diagnostics)} files not analysed", style="bold yellow"))
        for d in report.diagnostics[:10]:
            console.print(Text(f"  {d.code} {plain(d.path)}: {plain(d.message)}"))
    console.print()
    console.print(Text(summary_line(report), style="bold"))
    console.print(Text("Details per finding: `factorlint check`; a shareable report: --output-format html -o audit.html", style="dim"))
    return guard_ci_commands(buffer.getvalue())


def _change(console: Console, audit: Audit) -> None:
    """With --diff-base: one line naming what the change made worse, then each changed factor."""
    change = audit.change
    if change is None:
        return
    style = "bold red" if change.worse else "bold green"
    console.print(Text(plain(change.headline), style=style))
    for factor in change.factors:
        if factor.changed:
            console.print(Text(
                f"  {factor.key:<7} {_state(factor.before_status, factor.before_score)} -> "
                f"{_state(factor.after_status, factor.after_score)}"
            ))


def _state(status: str, score: float | None) -> str:
    return status if score is None else f"{status} {score:.1f}"


def _findings(console: Console, audit: Audit) -> None:
    card = audit.scorecard
    groups = [f for f in [*card.factors, card.security] if f.findings or f.hints]
    if not groups:
        return
    console.print(Text("\nFindings by factor (application code)", style="bold underline"))
    for factor in groups:
        console.print(Text(f"{plain(factor.key)} {plain(factor.title)}", style="bold"))
        shown = [(f, "") for f in factor.findings] + [(f, " (hint, not scored)") for f in factor.hints]
        for finding, note in shown[:FINDINGS_SHOWN]:
            line = Text("  ")
            line.append(finding.code, style=SEVERITY_STYLE.get(finding.severity, ""))
            line.append(f" {plain(finding.path)}:{position(finding)} ", style="bold")
            line.append(plain(finding.message) + note)
            console.print(line)
        if len(shown) > FINDINGS_SHOWN:
            console.print(Text(f"  ... {len(shown) - FINDINGS_SHOWN} more (`factorlint check` lists them all)", style="dim"))


def _inventory(console: Console, audit: Audit) -> None:
    inv = audit.inventory
    rows = [
        ("Agents", inv.agents), ("Model calls", inv.llm_calls), ("Prompts", inv.prompts), ("Tools", inv.tools),
        ("Agent loops", inv.loops), ("Hand-offs", inv.handoffs), ("Retry wrappers", inv.retries),
        ("State", inv.state), ("Entry points", inv.entry_points), ("Not followed", inv.unresolved),
        ("Test code", inv.test_code),
    ]
    table = Table(title="\nInventory", title_justify="left", show_header=True, expand=True)
    table.add_column("Kind", no_wrap=True)
    table.add_column("Count", justify="right")
    table.add_column("Where (first few)", ratio=1)
    for title, sites in rows:
        shown = ", ".join(f"{plain(s.label)} {plain(s.path)}:{s.line}" for s in sites[:INVENTORY_SHOWN])
        more = f" (+{len(sites) - INVENTORY_SHOWN} more)" if len(sites) > INVENTORY_SHOWN else ""
        table.add_row(title, str(len(sites)), Text(shown + more))
    if inv.models:
        models = ", ".join(f"{plain(m)} ×{n}" for m, n in list(inv.models.items())[:INVENTORY_SHOWN])
        table.add_row("Models", str(sum(inv.models.values())), Text(models))
    if inv.frameworks:
        frameworks = ", ".join(f"{plain(f)} ×{n}" for f, n in inv.frameworks.items())
        table.add_row("Frameworks", str(len(inv.frameworks)), Text(frameworks))
    console.print(table)
    for site in inv.unresolved[:INVENTORY_SHOWN]:
        console.print(Text(f"  not followed: {plain(site.path)}:{site.line} {plain(unresolved_hint(site))}", style="dim"))


def _gates(console: Console, audit: Audit) -> None:
    if not audit.gates:
        return
    console.print(Text("\nGates", style="bold underline"))
    for gate in audit.gates:
        mark = Text("PASS ", style="bold green") if gate.passed else Text("FAIL ", style="bold red")
        console.print(Text("  ") + mark + Text(f"{plain(gate.label)}: {plain(gate.detail)}"))
    verdict = "all gates passed" if audit.gates_passed else "a gate failed: exit code 1"
    console.print(Text(f"  {verdict}", style="bold green" if audit.gates_passed else "bold red"))
