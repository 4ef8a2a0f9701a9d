"""``factorlint audit --output-format html``: the audit as one self-contained HTML page.

No network asset of any kind (inline CSS and SVG, system fonts, no script), and a Content Security
Policy that would block one if it crept in. Everything that comes from the scanned code (paths,
messages, snippets, labels) goes through :func:`html_parts.e` (:func:`escape.html_text`), and code
from it is cut to a window around each finding (:func:`escape.excerpt_context`,
:func:`escape.clip_lines`), so a 90 KB line is not repeated under every finding.
"""

from __future__ import annotations

import textwrap
from importlib import resources

from factorlint.reporters.concise import position
from factorlint.reporters.escape import (
    STORED_LIMIT,
    clip,
    clip_lines,
    excerpt_context,
    guard_ci_commands,
)
from factorlint.reporters.html_inventory import _diagnostics, _inventory
from factorlint.reporters.html_parts import (
    ROWS_SHOWN,
    STATUS_CLASS,
    _code,
    _inline,
    _line_of,
    _link,
    _plural,
    _score,
    _sev_badge,
    _severity_counts,
    _status_badge,
    e,
)

__all__ = ["CSP", "FINDINGS_SHOWN", "ROWS_SHOWN", "render"]  # ROWS_SHOWN: the inventory's cap

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
FINDINGS_SHOWN = 200  # per factor; the JSON output has them all
COLLAPSE_OVER = 20  # a findings group longer than this is a closed <details>
LOCATIONS_OPEN = 5  # a plan item with more locations lists them in a <details>


def _css() -> str:
    return resources.files("factorlint.reporters").joinpath("html_style.css").read_text(encoding="utf-8")


def render(audit, **_) -> str:
    """The page, in ASCII: anything else is a character reference, so it survives any terminal or
    encoding. CI log commands are neutralised in everything but the stylesheet (ours, and CSS
    does not read character references)."""
    report = audit.report
    parts = [
        _header(audit), _gates(audit), _scorecard(audit.scorecard), _plan(audit.plan),
        _findings(audit), _inventory(audit.inventory), _diagnostics(report), _footer(audit),
    ]
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="factorlint {e(audit.versions.get("factorlint", ""))}">\n'
        f"<title>factorlint audit of {e(report.title)}</title>\n"
    )
    body = '<main class="page">\n' + "\n".join(p for p in parts if p) + "\n</main>\n</body>\n</html>\n"
    return (
        guard_ci_commands(head, "html") + f"<style>\n{_css()}</style>\n</head>\n<body>\n"
        + guard_ci_commands(body, "html")
    ).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _header(audit) -> str:
    report, card, versions = audit.report, audit.scorecard, audit.versions
    named = {k.lower() for k in versions}
    frameworks = [f"{k} {v}" for k, v in versions.items() if k not in ("factorlint", "rules")]
    frameworks += [name for name in audit.inventory.frameworks if name.lower() not in named]
    meta = [
        ("factorlint", versions.get("factorlint", "unknown")),
        ("Rule set", versions.get("rules", "unknown")),
        ("Frameworks", ", ".join(frameworks) or "none detected"),
        ("Files scanned", (f"{card.app_files + card.excluded_files:,} ({card.app_files:,} application, "
                           f"{card.excluded_files:,} test or example)")),
        ("Lines", f"{report.lines_scanned:,}"),
    ]
    toc = [("gates", "Gates")] if audit.gates else []
    toc += [("scorecard", "Scorecard"), ("plan", "Fix plan"), ("findings", "Findings"),
            ("inventory", "Inventory"), ("diagnostics", "Diagnostics"), ("scoring", "How scores are computed")]
    return (
        '<header class="doc-header" id="top">\n<div class="eyebrow">Agent architecture review</div>\n'
        f'<h1>factorlint audit</h1>\n<div class="root">of {e(report.title)}</div>\n<dl class="meta">'
        + "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in meta)
        + '</dl>\n<p class="note">Test and example code is scanned but not scored: its findings are listed '
        "apart and no score counts them.</p>\n"
        '<nav class="toc" aria-label="Contents">' + "".join(f'<a href="#{i}">{t}</a>' for i, t in toc) + "</nav>\n</header>"
    )


def _gates(audit) -> str:
    if not audit.gates:
        return ""
    failed = sum(not g.passed for g in audit.gates)
    verdict = ("All gates passed" if not failed else f"{failed} of {_plural(len(audit.gates), 'gate')} failed")
    rows = "".join(
        f'<tr class="gate-{"pass" if g.passed else "fail"}"><td>{e(g.label)}</td>'
        f'<td>{_status_badge("pass" if g.passed else "fail")}</td><td>{e(g.detail)}</td></tr>'
        for g in audit.gates
    )
    return (
        f'<section id="gates">\n<h2>Gates {_status_badge("pass" if not failed else "fail")}</h2>\n'
        f'<p>{e(verdict)}.</p>\n<div class="table-wrap"><table><thead><tr><th>Gate</th><th>Result</th>'
        f"<th>Measured</th></tr></thead><tbody>{rows}</tbody></table></div>\n</section>"
    )


def _scorecard(card) -> str:
    o = card.overall
    counted = [f for fs in [*card.factors, card.security] for f in fs.findings]
    hints = sum(len(fs.hints) for fs in [*card.factors, card.security])
    cls = STATUS_CLASS.get(o.status, "na")
    letter = f'<span class="letter g-{cls}">{e(o.letter)}</span>' if o.letter else ""
    hero = (
        f'<div class="hero"><div class="overall {cls}"><div><span class="big g-{cls}">{_score(o.score)}</span>'
        f'<span class="outof">/ 10</span></div><div class="grade-line">{letter}{_status_badge(o.status)}</div>'
        f'<p class="headline">{e(o.headline)}</p></div>'
        '<dl class="hero-facts">'
        f"<dt>Factors scored</dt><dd>{o.factors_scored} of {len(card.factors)}</dd>"
        f"<dt>Counted findings</dt><dd>{e(_severity_counts(counted))}</dd>"
        f"<dt>Hints (not scored)</dt><dd>{hints:,}</dd>"
        f"<dt>Agent security</dt><dd>{_score(card.security.score)} {_status_badge(card.security.status)}</dd>"
        "</dl></div>"
    )
    return (
        f'<section id="scorecard">\n<h2>Scorecard</h2>\n{hero}\n{_chart(card.factors)}\n'
        f'<div class="table-wrap">{_factor_table(card.factors)}</div>\n{_guide_list(card.factors)}\n'
        f'<div class="keep"><h3 id="security">{e(card.security.title)}</h3>\n<p class="muted small">Shown apart: '
        f'security findings do not count towards the overall score. {e(card.security.summary)}</p>\n'
        f'<div class="table-wrap">{_factor_table([card.security])}</div></div>\n</section>'
    )


def _chart(factors) -> str:
    bar_x, scale, row, bar_h, top = 340, 42, 28, 16, 6
    height = top + row * len(factors) + 26
    width = bar_x + scale * 10 + 90
    colour = {"pass": "var(--pass-bar)", "warn": "var(--warn-bar)", "fail": "var(--fail-bar)"}
    out, desc = [], []
    for tick in range(0, 11, 2):
        x = bar_x + tick * scale
        out.append(f'<line x1="{x}" y1="{top - 4}" x2="{x}" y2="{height - 22}" stroke="#e6eaef"/>'
                   f'<text x="{x}" y="{height - 8}" font-size="11" fill="#59636e" text-anchor="middle">{tick}</text>')
    for i, fs in enumerate(factors):
        y = top + i * row
        mid = y + row / 2
        title = fs.title if len(fs.title) <= 44 else fs.title[:43] + "\u2026"
        if fs.score is None:
            text = f"{fs.status}: no sites"
            shape = (f'<rect x="{bar_x}" y="{mid - bar_h / 2}" width="{scale * 10}" height="{bar_h}" rx="3" '
                     'fill="url(#hatch)" stroke="#d1d9e0"/>'
                     f'<text x="{bar_x + 8}" y="{mid + 4}" font-size="11" fill="#59636e">{e(fs.status)}</text>')
            value = f'<text x="{bar_x + scale * 10 + 8}" y="{mid + 4}" font-size="12" fill="#59636e">–</text>'
        else:
            text = f"{fs.status}, {fs.score:.1f} of 10, {fs.letter}" + (
                f", held at {fs.score:.1f} by its status" if fs.capped else "")
            w = max(fs.score * scale, 2)
            track = f'x="{bar_x}" y="{mid - bar_h / 2}" height="{bar_h}" rx="3"'
            shape = (f'<rect {track} width="{scale * 10}" fill="#f6f8fa"/>'
                     f'<rect {track} width="{w:.1f}" fill="{colour.get(fs.status, "#818b98")}"/>')
            cap = '<tspan fill="#d1242f" font-size="10.5" font-weight="600"> held</tspan>' if fs.capped else ""
            value = (f'<text x="{bar_x + scale * 10 + 8}" y="{mid + 4}" font-size="12" fill="#1f2328">'
                     f'<tspan font-weight="600">{fs.score:.1f}</tspan> {e(fs.letter)}{cap}</text>')
        desc.append(f"{fs.key} {fs.title}: {text}")
        out.append(
            f'<g><title>{e(fs.key)} {e(fs.title)}: {e(text)}</title>'
            f'<text x="0" y="{mid + 4}" font-size="12.5" font-weight="600" fill="#1f2328">{e(fs.key)}</text>'
            f'<text x="38" y="{mid + 4}" font-size="12.5" fill="#1f2328">{e(title)}</text>{shape}{value}</g>'
        )
    legend = ('<div class="legend" aria-hidden="true"><span style="--sw: var(--pass-bar)">pass (nothing counted)</span>'
              '<span style="--sw: var(--warn-bar)">warn (advice only; B at best)</span>'
              '<span style="--sw: var(--fail-bar)">fail (a violation; D at best)</span>'
              '<span style="--sw: #d1d9e0">n/a or no evidence (nothing to score)</span></div>')
    return (
        '<figure class="chart" id="chart"><figcaption>Score per factor (0 to 10)</figcaption>'
        f'<svg viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="chart-title chart-desc"><title id="chart-title">Score per factor, 0 to 10</title>'
        f'<desc id="chart-desc">{e("; ".join(desc))}</desc>'
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#f6f8fa"/><line x1="0" y1="0" x2="0" y2="6" stroke="#d1d9e0" stroke-width="2"/>'
        f'</pattern></defs>{"".join(out)}</svg>{legend}</figure>'
    )


def _factor_table(factors) -> str:
    rows = []
    for fs in factors:
        cls = STATUS_CLASS.get(fs.status, "na")
        cap = (f'<span class="capped" title="A factor that {"fails" if fs.status == "fail" else "warns"} '
               f'shows {fs.score:.1f} at most">held by its status</span>' if fs.capped else "")
        hints = f'<span class="sub">+{_plural(len(fs.hints), "hint")}</span>' if fs.hints else ""
        evidence = "".join(f"<li>{e(ev.label)} <b>{ev.hits}/{ev.total}</b></li>" for ev in fs.evidence)
        evidence = f'<ul class="evidence">{evidence}</ul>' if evidence else ""
        rows.append(
            f'<tr id="factor-{e(fs.key)}"><td class="key">{e(fs.key)}</td><td>{_link(fs.url, fs.title)}</td>'
            f'<td class="num"><b class="g-{cls}">{_score(fs.score)}</b>{cap}</td>'
            f'<td class="num letter g-{cls}">{e(fs.letter or "–")}</td><td>{_status_badge(fs.status)}</td>'
            f'<td class="num">{fs.sites:,}</td><td class="num">{len(fs.findings):,}{hints}</td>'
            f"<td>{evidence}</td></tr>"
        )
    return (
        '<table class="factors"><colgroup><col class="c-key"><col class="c-title"><col class="c-score">'
        '<col class="c-letter"><col class="c-grade"><col class="c-sites"><col class="c-findings"><col></colgroup>'
        '<thead><tr><th>Factor</th><th>Title</th><th class="num">Score</th>'
        '<th class="num">Letter</th><th>Status</th><th class="num">Sites</th><th class="num">Findings</th>'
        f'<th>Evidence</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _guide_list(factors) -> str:
    """The factor guides' addresses, printed once under the table instead of after every link."""
    items = "".join(f"<li>{e(fs.key)} {e(fs.url)}</li>" for fs in factors if fs.url)
    return f'<div class="print-only"><b class="small">Factor guides</b><ol class="refs">{items}</ol></div>' if items else ""


def _plan(plan) -> str:
    if not plan:
        return ('<section id="plan" class="break">\n<h2>Fix plan</h2>\n<p class="empty">Nothing to fix: '
                "no counted findings.</p>\n</section>")
    items = []
    for item in plan:
        locations = "".join(f"<li>{e(loc)}</li>" for loc in item.locations)
        if len(item.locations) > LOCATIONS_OPEN:
            count = _plural(len(item.locations), "location")
            locations = f"<details><summary>{count}</summary><ul>{locations}</ul></details>"
        else:
            locations = f"<span class=\"muted\">Locations</span><ul>{locations}</ul>"
        autofix = ('<span class="badge">autofix: factorlint check --fix</span>' if item.autofix
                   else '<span class="badge">manual fix</span>')
        facts = [
            ("Factor", f"{e(item.factor_key)} {e(item.factor_title)}"),
            ("Fixes", f"{_plural(item.count, 'finding')} in {_plural(item.files, 'file')}"),
            ("Gain", f"+{item.gain:.1f} overall (+{item.factor_gain:.1f} on {e(item.factor_key)})"),
            ("Effort", e(item.effort)),
        ]
        items.append(
            f'<article class="plan-item" id="plan-{item.rank}"><header class="plan-head">'
            f'<span class="rank">#{item.rank}</span><h3><code>{e(item.code)}</code> {e(item.name)}</h3>'
            f'<span class="badges">{_sev_badge(item.severity)}{autofix}</span></header>'
            '<dl class="facts">' + "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts) + "</dl>"
            f'<div class="plan-body"><p class="advice">{_inline(item.advice)}</p><div class="compare">'
            f'<figure class="before"><figcaption>Before <span class="mono">{e(item.before_location)}</span></figcaption>'
            f"{_code(clip_lines(textwrap.dedent(item.before)), _line_of(item.before_location))}</figure>"
            f"{_after(item)}"
            f'</div><div class="locations">{locations}</div></div></article>'
        )
    return (
        '<section id="plan" class="break">\n<h2>Fix plan</h2>\n<p class="muted">Ranked by the overall score '
        "each rule would give back if every one of its findings were fixed, then by effort.</p>\n"
        + "\n".join(items) + "\n</section>"
    )


def _finding_key(f) -> tuple:
    return (f.code, f.path, f.line, f.column, f.message)


def _finding(f, role: str = "") -> str:
    shown = textwrap.dedent(excerpt_context(f.context or f.source_line, f.column))
    code = _code(shown, f.line) if shown.strip() else ""
    node = ""
    if f.snippet and len(f.snippet) > len(" ".join(shown.split())):
        snippet = clip(f.snippet, STORED_LIMIT)
        node = f'<details class="node"><summary>whole flagged code</summary>{_code(snippet, cls="node")}</details>'
    fix = f'<p class="f-fix"><b>Fix</b>{_inline(f.fix.message)}</p>' if f.fix is not None and f.fix.message else ""
    role_badge = f'<span class="badge">{e(role)} code</span>' if role and role != "app" else ""
    return (
        f'<li class="finding"><div class="f-head">{_sev_badge(f.severity)}<span class="f-code">{e(f.code)}</span>'
        f'<span class="f-name">{e(f.name)}</span>{role_badge}<span class="f-loc">{e(f.path)}:{e(position(f))}</span></div>'
        f'<p class="f-msg">{_inline(f.message)}</p>{code}{node}{fix}</li>'
    )


def _group(gid: str, heading: str, findings, note: str = "", roles=None) -> str:
    roles = roles or {}
    items = "".join(_finding(f, roles.get(f.path, "")) for f in findings[:FINDINGS_SHOWN])
    more = ""
    if len(findings) > FINDINGS_SHOWN:
        more = (f'<p class="more">{len(findings) - FINDINGS_SHOWN:,} more not shown '
                "(the JSON output, --output-format json, lists them all).</p>")
    head = f'<h3>{e(heading)}<span class="count">{e(_severity_counts(findings))}</span></h3>'
    inner = (f'<p class="group-note">{e(note)}</p>' if note else "") + f'<ol class="findings">{items}</ol>{more}'
    if len(findings) > COLLAPSE_OVER:
        toggle = f'<span class="toggle">{len(findings):,} findings: click to show</span>'
        return f'<details class="group" id="{e(gid)}"><summary>{head}{toggle}</summary>{inner}</details>'
    return f'<div class="group" id="{e(gid)}">{head}{inner}</div>'


def _findings(audit) -> str:
    card, report = audit.scorecard, audit.report
    everyone = [*card.factors, card.security]
    groups = [_group(f"findings-{fs.key}", f"{fs.key} {fs.title}", fs.findings) for fs in card.factors if fs.findings]
    clean = [fs.key for fs in card.factors if not fs.findings]
    if card.security.findings:
        groups.append(_group("findings-SEC", card.security.title, card.security.findings))
    hints = [h for fs in everyone for h in fs.hints]
    if hints:
        groups.append(_group("findings-hints", "Hints (low confidence, not scored)", hints,
                             "Shown for review; they take nothing off any score."))
    listed = {_finding_key(f) for fs in everyone for f in [*fs.findings, *fs.hints]}
    others = [f for f in report.findings if _finding_key(f) not in listed]
    if others:
        roles = {fr.path: fr.role for fr in report.files}
        groups.append(_group("findings-other", "Test and example code, and analysis notes", others,
                             "Not scored: findings in test and example code, and notes about the analysis "
                             "itself (suppressions, parsing).", roles))
    body = "\n".join(groups) or '<p class="empty">No findings.</p>'
    if clean:
        body += f'\n<p class="clean">No counted findings for {e(", ".join(clean))}.</p>'
    return f'<section id="findings" class="break">\n<h2>Findings by factor</h2>\n{body}\n</section>'


def _footer(audit) -> str:
    return (
        '<footer id="scoring">\n<h2>How scores are computed</h2>\n<p>Each factor gets a status first: '
        "fail when a finding at warning or error severity is counted against it (a security finding also counts "
        "against the factor it breaks), warn for advice only, pass when the code touches the factor and nothing "
        "is counted, n/a when nothing touches it, and no evidence when the code uses model libraries but the "
        "analysis could not follow any model call, agent or loop. The number, for trends, is computed over the "
        "factor's sites (the places it applies to): a finding weighs 5 for an error, 2 for a warning and 1 for "
        "advice, each site loses at most 5, and the number never contradicts the status: a failing factor "
        "shows 5.9 (D) at most, a warned one 8.9 (B). Letters: A at 9 or more, B at 7.5, C at 6, D at 4, F "
        "below. The overall status fails while factor 4, 7, 8 or 9 fails, "
        "and warns while any other factor fails or warns; the overall number is the risk-weighted mean of the "
        "factors with sites, held the same way. Agent security is scored the same way and shown apart.</p>\n"
        f'<p>Generated by factorlint {e(audit.versions.get("factorlint", ""))}. Factor titles link to the '
        '12-Factor Agents guide. <a href="#top">Back to top</a></p>\n</footer>'
    )


def _after(item) -> str:
    """The fix's own diff of the user's code when the rule can fix it, else the rule's example."""
    if item.diff:
        command = "factorlint check --fix" + ("" if item.autofix else " --unsafe-fixes")
        return (f'<figure class="after"><figcaption>The change <code>{e(command)}</code> makes here</figcaption>'
                f"{_code(clip_lines(item.diff))}</figure>")
    return f'<figure class="after"><figcaption>After (the rule\'s example)</figcaption>{_code(clip_lines(item.after))}</figure>'
