"""The HTML audit report: one self-contained, escaped, printable page (reporters/html.py)."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from factorlint.audit.model import (
    Audit,
    Evidence,
    FactorScore,
    GateResult,
    Inventory,
    Overall,
    PlanItem,
    Scorecard,
)
from factorlint.model import Diagnostic, FileResult, Finding, Fix, Report, Site
from factorlint.reporters import html as html_report

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support_agent"
HOSTILE = '<script>alert(1)</script> "quotes" & ampersands'
HOSTILE_PATH = 'evil"><img src=x onerror=alert(1)>.py'
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
SECTIONS = ["gates", "scorecard", "plan", "findings", "inventory", "diagnostics", "scoring"]


# --- a realistic audit, built by hand ------------------------------------------------------------

def finding(code="TFA0802", factor=8, severity="error", path="agent.py", line=10, message=None, **kw) -> Finding:
    extra = {}
    if "context" in {f.name for f in dataclasses.fields(Finding)}:
        extra["context"] = kw.pop("context", "")
    return Finding(
        code=code, name=kw.pop("name", "unbounded-agent-loop"), factor=factor, severity=severity,
        confidence=kw.pop("confidence", "high"), path=path, line=line, column=5, end_line=line + 3,
        end_column=9, message=message or "Agent loop has no step bound: only the model decides when it stops",
        fix=Fix("display-only", kw.pop("fix", "Bound the loop: `for _ in range(MAX_STEPS):`")),
        snippet=kw.pop("snippet", "while True: step = next_step(thread)"),
        source_line=kw.pop("source_line", "    while True:"), **extra, **kw,
    )


def site(kind, path="agent.py", line=1, label="x", **detail) -> Site:
    return Site(kind=kind, path=path, line=line, end_line=line, label=label, function="agent.run", detail=detail)


def factor(number, score, letter, status, findings=(), **kw) -> FactorScore:
    return FactorScore(
        key=f"F{number:02d}", number=number, title=kw.pop("title", f"Factor number {number}"),
        summary="What the factor asks for.", url=f"https://github.com/humanlayer/12-factor-agents/f{number}.md",
        weight=5.0, sites=kw.pop("sites", 4 if score is not None else 0), findings=list(findings),
        score=score, letter=letter, status=status, **kw,
    )


def make_audit(*, many_findings=0, many_tools=0, gates=True) -> Audit:
    hostile = finding(
        code="TFA0203", factor=2, severity="warning", path=HOSTILE_PATH, line=7, name="inline-prompt-at-call-site",
        message=f"Prompt written inline: {HOSTILE}", snippet=f'prompt = "{HOSTILE}" + user_text  # long node text',
        source_line=f'    prompt = "{HOSTILE}"', fix=f"Move {HOSTILE} to a file",
    )
    loop = finding(line=61, context="    while True:\n        step = next_step(thread)\n        run(step)")
    hint = finding(code="TFA0305", factor=3, severity="advice", confidence="low", name="maybe-large-tool-output",
                   message="Tool output may be large", line=30)
    f08 = [loop, finding(code="TFA0801", severity="warning", name="framework-owned-loop", line=80,
                         message="The framework owns the loop")]
    f08 += [finding(line=100 + i, message=f"bulk finding {i}") for i in range(many_findings)]
    factors = [
        factor(1, 10.0, "A", "pass", evidence=[Evidence("model calls asking for structured output", 1, 2)]),
        factor(2, 8.2, "B", "pass", [hostile], title="Own your prompts"),
        factor(3, 9.5, "A", "pass", hints=[hint]),
        factor(4, None, None, "n/a", title="Tools are just structured outputs"),
        factor(5, None, None, "n/a"),
        factor(6, 7.0, "C", "warn"),
        factor(7, 4.5, "D", "warn"),
        factor(8, 5.9, "D", "fail", f08, capped=True, title="Own your control flow",
               evidence=[Evidence("bounded agent loops", 1, 2), Evidence(f"label {HOSTILE}", 0, 1)]),
        factor(9, 2.0, "F", "fail", [finding(code="TFA0901", factor=9, name="unbounded-retry", line=58)]),
        *(factor(n, 10.0, "A", "pass") for n in range(10, 14)),
    ]
    security = FactorScore(
        key="SEC", number=None, title="Agent security", summary="Model output never reaches eval.",
        url="", weight=0.0, sites=3, findings=[finding(code="TFS0101", factor=None, name="llm-output-to-eval",
                                                       message="Model output reaches eval()", line=12)],
        score=5.9, letter="D", status="fail", capped=True,
    )
    test_finding = finding(path="tests/test_agent.py", line=3, message="A loop in a test")
    counted = [f for fs in [*factors, security] for f in [*fs.findings, *fs.hints]]
    report = Report(
        root=f"/srv/{HOSTILE}", files=[FileResult("agent.py", lines=120), FileResult(HOSTILE_PATH, lines=30),
                                       FileResult("tests/test_agent.py", lines=20, role="test")],
        findings=[*counted, test_finding],
        diagnostics=[Diagnostic("TFA0001", "broken.py", f"File could not be parsed: {HOSTILE}", 3, 1)],
    )
    tools = [site("tool", line=i, label=f"tool_{i}", framework="langchain", approval=False) for i in range(many_tools)]
    inventory = Inventory(
        agents=[site("agent", label="crewai.Agent", framework="crewai", tools=1, bounded=False, owns_loop=True)],
        llm_calls=[site("llm_call", line=61, label="completions.create", model="gpt-4o", structured=True, direct=True)],
        prompts=[site("prompt", path=HOSTILE_PATH, line=7, label=f"messages[{HOSTILE}]", source="inline", chars=349)],
        tools=tools or [site("tool", line=15, label="search", framework="langchain", approval=True)],
        loops=[site("loop", line=61, label="while", bounded=False, bound="")],
        handoffs=[site("handoff", line=46, label="Crew.kickoff", framework="crewai", bounded=False)],
        retries=[site("retry", line=58, label="tenacity.retry", bounded=False)],
        state=[site("checkpointer", line=5, label="MemorySaver", persistent=False)],
        entry_points=[site("entry_point", line=90, label="python agent.py", trigger="script")],
        models={"gpt-4o": 1, HOSTILE: 2}, frameworks={"crewai": 2, "langchain": 1},
    )
    plan = [
        PlanItem(rank=1, code="TFA0802", name="unbounded-agent-loop", factor_key="F08",
                 factor_title="Own your control flow", severity="error", count=2 + many_findings, files=1, gain=0.34,
                 factor_gain=2.6, effort="small", autofix=False, advice="Bound the loop with `range(MAX_STEPS)`.",
                 before=f"    while True:  # {HOSTILE}\n        step = next_step(thread)", before_location="agent.py:61",
                 after="for _ in range(MAX_STEPS):\n    step = next_step(thread)",
                 locations=[f"agent.py:{n}" for n in range(61, 69)]),
        PlanItem(rank=2, code="TFA0203", name="inline-prompt-at-call-site", factor_key="F02",
                 factor_title="Own your prompts", severity="warning", count=1, files=1, gain=0.1, factor_gain=0.9,
                 effort="medium", autofix=True, advice="Move the text to a file.", before='prompt = "..."',
                 before_location=f"{HOSTILE_PATH}:7", after='PROMPT = Path("p.md").read_text()',
                 locations=[f"{HOSTILE_PATH}:7"]),
    ]
    return Audit(
        report=report,
        scorecard=Scorecard(factors=factors, security=security, overall=Overall(5.9, "D", "fail", 11, ["F09", "F08"], worst_fail=True),
                            app_files=2, excluded_files=1),
        inventory=inventory, plan=plan,
        gates=[GateResult("overall score >= 7.5", False, "7.1"), GateResult("F08 score >= 5", True, "6.0")] if gates else [],
        versions={"factorlint": "0.1.0", "rules": "0.1.0", "crewai": "0.80.0"},
    )


class Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    return parser


def section(page: str, ident: str) -> str:
    start = page.index(f'id="{ident}"')
    following = [page.find(f'<section id="{s}"', start + 1) for s in SECTIONS] + [page.find("<footer", start + 1)]
    ends = [i for i in following if i > start]
    return page[start:min(ends)] if ends else page[start:]


@pytest.fixture(scope="module")
def page() -> str:
    return html_report.render(make_audit())


# --- escaping and self-containment ---------------------------------------------------------------

def test_everything_from_the_scanned_code_is_escaped(page):
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quotes&quot; &amp; ampersands" in page
    tags = parse(page).tags
    assert not [t for t, _ in tags if t in ("script", "img", "iframe", "object", "embed")]
    assert not [(t, a) for t, attrs in tags for a in attrs if a.startswith("on")], "event-handler attribute"
    # Each place scanned text lands: message, snippet, fix, path, label, model, evidence, root, plan, diagnostics.
    text = "".join(parse(page).text)
    assert text.count(HOSTILE) >= 10
    assert HOSTILE_PATH in text


def test_the_page_is_ascii_with_character_references():
    audit = make_audit()
    audit.scorecard.factors[1].findings[0].message = "caf\u00e9 \u2713 \U0001f680"
    page = html_report.render(audit)
    assert page.isascii()
    assert "caf&#233; &#10003; &#128640;" in page
    assert "caf\u00e9 \u2713 \U0001f680" in "".join(parse(page).text)


def test_the_page_is_self_contained(page):
    tags = parse(page).tags
    assert not [t for t, _ in tags if t in ("link", "script", "img", "iframe", "source", "video", "audio")]
    for tag, attrs in tags:
        for name in ("src", "srcset", "data", "poster", "action", "formaction", "xlink:href"):
            assert name not in attrs, (tag, attrs)
        if tag != "a":  # plain <a href> links to the factor guide are fine; nothing else may fetch
            assert not re.match(r"\s*(https?:)?//", attrs.get("href", "")), (tag, attrs)
    style = page[page.index("<style>"):page.index("</style>")]
    assert "@import" not in style and "url(" not in style and "@font-face" not in style
    assert set(re.findall(r"url\(([^)]*)\)", page)) <= {"#hatch"}
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert '<meta charset="utf-8">' in page


def test_links_are_only_web_links_and_only_to_the_guide(page):
    hrefs = [a["href"] for t, a in parse(page).tags if t == "a"]
    external = [h for h in hrefs if not h.startswith("#")]
    assert external and all(h.startswith("https://github.com/humanlayer/") for h in external)


def test_sections_come_in_order_with_ids(page):
    positions = [page.index(f'id="{ident}"') for ident in SECTIONS]
    assert positions == sorted(positions)
    assert "factorlint audit" in page and "Test and example code is scanned but not scored" in page


def test_header_lists_versions_and_files(page):
    header = page[:page.index("</header>")]
    for text in ("0.1.0", "crewai 0.80.0", "langchain", "3 (2 application, 1 test or example)", "170"):
        assert text in header


def test_gates_with_the_verdict_and_none_when_there_are_none(page):
    gates = section(page, "gates")
    assert "overall score &gt;= 7.5" in gates and "F08 score &gt;= 5" in gates
    assert "1 of 2 gates failed" in gates
    assert 'id="gates"' not in html_report.render(make_audit(gates=False))


# --- the scorecard -------------------------------------------------------------------------------

def test_scorecard_has_the_overall_score_a_chart_and_a_table(page):
    card = section(page, "scorecard")
    assert '<span class="big g-fail">5.9</span>' in card
    assert '<p class="headline">fail: F09, F08 fail</p>' in card
    svg = card[card.index("<svg"):card.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count("<g>") == 13  # one bar per factor, F01..F13, security apart
    assert all(f">F{n:02d}<" in svg for n in range(1, 14)) and ">SEC<" not in svg
    assert "F09 Factor number 9: fail, 2.0 of 10, F" in svg  # each bar has its own accessible title
    table = card[card.index('<table class="factors">'):]
    assert 'href="https://github.com/humanlayer/12-factor-agents/f8.md"' in table
    assert "bounded agent loops <b>1/2</b>" in table


def test_not_applicable_factors_are_hatched_placeholders(page):
    svg = section(page, "scorecard").split("</svg>")[0]
    na = [g for g in svg.split("<g>")[1:] if g.startswith("<title>F04 ")]
    assert na and 'fill="url(#hatch)"' in na[0] and ">n/a<" in na[0]
    row = section(page, "scorecard").split('id="factor-F04"')[1].split("</tr>")[0]
    assert ">n/a<" in row and 'class="badge na"' in row


def test_capped_factors_say_so(page):
    card = section(page, "scorecard")
    row = card.split('id="factor-F08"')[1].split("</tr>")[0]
    assert "held by its status" in row and "shows 5.9 at most" in row
    assert "held at 5.9 by its status" in card.split("</svg>")[0]
    assert "held by its status" not in card.split('id="factor-F01"')[1].split("</tr>")[0]


def test_security_is_shown_apart(page):
    card = section(page, "scorecard")
    after = card[card.index('id="security"'):]
    assert 'id="factor-SEC"' in after and "not count towards the overall score" in after
    assert 'id="factor-SEC"' not in card[:card.index('id="security"')]


# --- the fix plan --------------------------------------------------------------------------------

def test_plan_items_show_rank_gain_effort_before_and_after(page):
    plan = section(page, "plan")
    first = plan[plan.index('id="plan-1"'):plan.index('id="plan-2"')]
    for text in ("#1", "TFA0802", "unbounded-agent-loop", "F08 Own your control flow", "+0.3 overall",
                 "small", "manual fix", "agent.py:61", "range(MAX_STEPS)", "<code>range(MAX_STEPS)</code>"):
        assert text in first, text
    assert 'data-n="61"' in first  # the before code carries its line numbers
    assert "<details><summary>8 locations</summary>" in first
    second = plan[plan.index('id="plan-2"'):]
    assert "autofix" in second and "<details>" not in second and "medium" in second


# --- findings ------------------------------------------------------------------------------------

def test_findings_are_grouped_by_factor_with_code_and_fix(page):
    findings = section(page, "findings")
    order = [findings.index(f'id="findings-{key}"') for key in ("F02", "F08", "F09", "SEC", "hints", "other")]
    assert order == sorted(order)
    f08 = findings[findings.index('id="findings-F08"'):findings.index('id="findings-F09"')]
    assert "agent.py:61:5" in f08 and "Agent loop has no step bound" in f08
    assert "Fix</b>Bound the loop: <code>for _ in range(MAX_STEPS):</code>" in f08
    assert "1 error, 1 warning" in f08
    if "context" in {f.name for f in dataclasses.fields(Finding)}:
        assert 'data-n="63"' in f08  # the three lines of context, numbered from the finding's line
    hostile = findings[findings.index('id="findings-F02"'):findings.index('id="findings-F08"')]
    assert "whole flagged code" in hostile  # the snippet is longer than the line shown


def test_hints_and_test_code_are_listed_apart(page):
    findings = section(page, "findings")
    hints = findings[findings.index('id="findings-hints"'):findings.index('id="findings-other"')]
    assert "Hints (low confidence, not scored)" in hints and "Tool output may be large" in hints
    other = findings[findings.index('id="findings-other"'):]
    assert "tests/test_agent.py:3:5" in other and "test code" in other
    assert other.count('class="finding"') == 1  # counted findings are not repeated there


def test_long_factor_lists_are_collapsed_and_capped():
    page = html_report.render(make_audit(many_findings=250))
    findings = section(page, "findings")
    f08 = findings[findings.index('id="findings-F08"'):findings.index('id="findings-F09"')]
    assert f08.startswith('id="findings-F08"><summary>')  # a <details> of its own
    assert findings[:findings.index('id="findings-F08"')].endswith('<details class="group" ')
    assert f08.count('class="finding"') == html_report.FINDINGS_SHOWN
    assert "52 more not shown" in f08
    assert findings[:findings.index('id="findings-F09"')].endswith('<div class="group" ')  # short: left open


# --- inventory, diagnostics, footer --------------------------------------------------------------

def test_inventory_tables(page):
    inventory = section(page, "inventory")
    for ident in ("agents", "llm_calls", "prompts", "tools", "loops", "handoffs", "retries", "state",
                  "entry_points", "models", "frameworks"):
        assert f'id="inv-{ident}"' in inventory, ident
    for text in ("agent.py:61", "gpt-4o", "inline", "349", "MemorySaver", "checkpointer", "python agent.py",
                 "script", "Crew.kickoff", "tenacity.retry", "crewai.Agent"):
        assert text in inventory, text


def test_long_inventory_tables_are_capped():
    page = html_report.render(make_audit(many_tools=230))
    tools = section(page, "inventory").split('id="inv-tools"')[1].split('id="inv-loops"')[0]
    assert tools.count("<tr>") == html_report.ROWS_SHOWN + 1  # + the header row
    assert "30 more not shown" in tools


def test_diagnostics_and_the_scoring_note(page):
    diagnostics = section(page, "diagnostics")
    assert "broken.py:3" in diagnostics and "TFA0001" in diagnostics
    footer = page[page.index('<footer id="scoring">'):]
    for text in ("5 for an error", "2 for a", "1 for advice", "at most 5", "shows 5.9 (D) at most", "fails while factor 4, 7, 8 or 9 fails",
                 "A at 9", "B at 7.5", "C at 6", "D at 4", "risk-weighted mean"):
        assert text in footer, text


# --- print ---------------------------------------------------------------------------------------

def test_print_stylesheet(page):
    style = page[page.index("<style>"):page.index("</style>")]
    printed = style[style.index("@media print"):]
    for rule in ("break-before: page", "break-inside: avoid", 'a[href^="http"]::after', "attr(href)",
                 "display: table-header-group", "@page", "details::details-content"):
        assert rule in printed, rule
    # Major sections start a new page when printed.
    assert all(f'<section id="{s}" class="break">' in page for s in ("plan", "findings", "inventory"))


def test_rendering_is_pure_and_deterministic():
    assert html_report.render(make_audit()) == html_report.render(make_audit())


def test_empty_audit_renders():
    audit = make_audit(gates=False)
    audit.plan = []
    audit.report.findings, audit.report.diagnostics = [], []
    for fs in [*audit.scorecard.factors, audit.scorecard.security]:
        fs.findings, fs.hints = [], []
    page = html_report.render(audit)
    assert "Nothing to fix" in page and "No findings." in page and "every file was read and parsed" in page


# --- the bundled example project, end to end -----------------------------------------------------

def example_audit():
    build = pytest.importorskip("factorlint.audit.build")
    if not hasattr(build, "build_audit"):
        pytest.skip("factorlint.audit.build.build_audit is not written yet")
    from factorlint.api import lint_paths
    from factorlint.config import Overrides, resolve_settings

    settings = resolve_settings(EXAMPLE, Overrides(isolated=True), EXAMPLE)
    report = lint_paths([EXAMPLE], settings)
    return build.build_audit(report, settings, fail_under=["7.5"], fail_on="error")


def test_the_example_project_renders():
    audit = example_audit()
    page = html_report.render(audit)
    assert all(f'id="{ident}"' in page for ident in SECTIONS)
    assert "<script" not in page.lower()
    for item in audit.plan:
        assert f'id="plan-{item.rank}"' in page and item.code in page
    findings = section(page, "findings")
    counted = [f for fs in [*audit.scorecard.factors, audit.scorecard.security] for f in fs.findings]
    assert counted and findings.count('class="finding"') == len(audit.report.findings)
    assert all(f"{f.path}:{f.line}:{f.column}" in findings for f in counted)
