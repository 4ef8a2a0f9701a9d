"""The scorecard: section 17 of the factor catalog, its worked example, and the audit gates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import invoke, write
from hypothesis import given, settings
from hypothesis import strategies as st

from factorlint.api import lint_paths
from factorlint.audit.build import GateError, build_audit, parse_fail_under
from factorlint.audit.scoring import build_scorecard, letter_for, score_sites, status_for
from factorlint.config import Overrides, resolve_settings
from factorlint.knowledge import default_knowledge
from factorlint.model import FileResult, Finding, Report, Site

FIXTURES = Path(__file__).parent / "fixtures"


def finding(code: str, severity: str, line: int, path: str = "agent.py", factor: int = 8, confidence="high") -> Finding:
    return Finding(code, code.lower(), factor, severity, confidence, path, line, 1, line, 2, "m")


def site(kind: str, line: int, end_line: int | None = None, path: str = "agent.py", **detail) -> Site:
    return Site(kind, path, line, end_line or line, kind, detail=detail)


def audit_of(folder: Path, **gates):
    settings = resolve_settings(folder, Overrides(isolated=True), folder)
    return build_audit(lint_paths([folder], settings), settings, **gates)


# -- the formula -----------------------------------------------------------------------------------


def test_worked_example_of_the_catalog():
    """Section 17.5: F8 with 4 sites and findings 5 + 2 + 1 is 6.0 before its status holds it; F9
    with 3 sites and one error is 6.7; F2 with 4 prompt sites (and the project's own) and
    2 + 1 + 1 + 1 is 8.0."""
    f8_sites = [site("loop", 10, 20), site("loop", 30, 40), site("handoff", 50), site("agent", 60, 62)]
    f8 = [finding("TFA0802", "error", 10), finding("TFA0801", "warning", 50), finding("TFA0804", "advice", 60)]
    assert score_sites(f8_sites, f8) == (4, 3, 8.0, 6.0)

    f9_sites = [site("loop", 10, 20), site("loop", 30, 40), site("retry", 70)]
    assert score_sites(f9_sites, [finding("TFA0901", "error", 70)]) == (3, 1, 5.0, 6.7)

    prompts = [site("prompt", line) for line in (80, 81, 82, 83)]
    f2 = [finding("TFA0201", "warning", 80), finding("TFA0203", "advice", 81), finding("TFA0203", "advice", 82),
          finding("TFA0204", "advice", 1000)]
    # The project-level finding lands outside every site, in the file's pool: never a site of its own.
    assert score_sites(prompts, f2, extra_sites=1) == (5, 4, 5.0, 8.0)


def test_one_site_loses_at_most_one_errors_worth():
    sites = [site("loop", 1, 50)] + [site("loop", 100 + i) for i in range(9)]
    many = [finding("TFA0802", "error", 2), finding("TFA0302", "warning", 3), finding("TFA0903", "error", 4)]
    assert score_sites(sites, many) == (10, 1, 5.0, 9.0)


def test_findings_land_on_the_innermost_site():
    function = site("function", 1, 40)
    loop = site("loop", 10, 20)
    _, flagged, penalty, _ = score_sites([function, loop], [finding("X", "warning", 12), finding("Y", "warning", 30)])
    assert flagged == 2 and penalty == 4.0


def test_sites_of_one_agent_count_once():
    executor = site("agent", 5, agent_group=1)
    run = site("handoff", 20, agent_group=1)
    assert score_sites([executor, run], [finding("A", "warning", 5), finding("B", "warning", 20)]) == (1, 1, 4.0, 2.0)


def test_no_sites_and_no_findings_is_not_applicable():
    assert score_sites([], []) == (0, 0, 0.0, None)
    assert letter_for(None) is None and status_for([], 0, unjudged=False) == "n/a"
    assert status_for([], 0, unjudged=True) == "no evidence"


@pytest.mark.parametrize(
    "score, letter",
    [(10.0, "A"), (9.0, "A"), (8.9, "B"), (7.5, "B"), (7.4, "C"), (6.0, "C"), (5.9, "D"), (4.0, "D"), (3.9, "F"),
     (0.0, "F")],
)
def test_letters(score, letter):
    assert letter_for(score) == letter


def test_the_status_comes_from_what_is_counted_and_holds_the_number():
    assert status_for([finding("A", "advice", 1)], 3, unjudged=False) == "warn"
    assert status_for([finding("A", "advice", 1), finding("B", "warning", 2)], 3, unjudged=False) == "fail"
    assert status_for([], 3, unjudged=True) == "pass"
    # One warning among forty loops would be 9.9: a failing factor shows a D at best.
    sites = [site("loop", 10 * i, 10 * i + 5) for i in range(40)]
    files = [FileResult("agent.py")]
    card = build_scorecard(Report("root", files, [finding("TFA0802", "warning", 10)], [], sites=sites),
                           default_knowledge())
    f08 = next(f for f in card.factors if f.key == "F08")
    assert (f08.status, f08.score, f08.letter, f08.capped) == ("fail", 5.9, "D", True)
    advice = build_scorecard(Report("root", files, [finding("TFA0804", "advice", 10)], [], sites=sites),
                             default_knowledge())
    f08 = next(f for f in advice.factors if f.key == "F08")
    assert (f08.status, f08.score) == ("warn", 8.9)


def test_tests_examples_and_low_confidence_are_not_scored():
    files = [FileResult("app.py", role="app"), FileResult("tests/test_app.py", role="test")]
    sites = [site("loop", 1, 10, path="app.py"), site("loop", 1, 10, path="tests/test_app.py")]
    findings = [
        finding("TFA0802", "error", 2, path="tests/test_app.py"),
        finding("TFA0104", "advice", 3, path="app.py", factor=1, confidence="low"),
    ]
    report = Report("root", files, findings, [], sites=sites)
    card = build_scorecard(report, default_knowledge())
    f08 = next(f for f in card.factors if f.key == "F08")
    f01 = next(f for f in card.factors if f.key == "F01")
    assert (f08.sites, f08.score, f08.findings) == (1, 10.0, [])
    assert f01.hints and not f01.findings
    assert (card.app_files, card.excluded_files) == (1, 1)


def test_overall_is_risk_weighted_and_security_stays_apart():
    files = [FileResult("app.py")]
    sites = [site("loop", 1, 10, path="app.py"), site("tool", 20, 30, path="app.py")]
    findings = [finding("TFA0802", "error", 2, path="app.py"), finding("TFS002", "error", 25, path="app.py", factor=None)]
    card = build_scorecard(Report("root", files, findings, [], sites=sites), default_knowledge())
    scored = [f for f in card.factors if f.score is not None and f.sites]
    expected = min(5.9, round(sum(f.score * f.weight for f in scored) / sum(f.weight for f in scored), 1))
    assert card.overall.score == expected and card.overall.status == "fail"
    assert card.security.score is not None and card.security.findings
    # The shell finding counts in security and against factor 4, which it breaks.
    f04 = next(f for f in card.factors if f.key == "F04")
    assert [f.code for f in f04.findings] == ["TFS002"] and f04.status == "fail"


# -- fixtures: an owned agent against a framework demo ----------------------------------------------


def test_a_langchain_demo_fails_and_an_owned_agent_passes():
    """The typical demo (hub prompt, buffer memory, AgentExecutor, an `eval` calculator, a REPL in
    `__main__`) fails factors 2, 3, 4, 8, 9 and 11 and the audit; the exemplary agent passes every
    factor it touches and outscores it by at least 3 points."""
    demo = audit_of(FIXTURES / "framework_demo").scorecard
    status = {f.number: f.status for f in demo.factors}
    assert {2, 3, 4, 8, 9, 11} <= {n for n, s in status.items() if s == "fail"}, status
    assert demo.overall.status == "fail" and demo.overall.headline.startswith("fail: ")
    assert all(f.score is None or f.score <= 5.9 for f in demo.factors if f.status == "fail")
    # The eval and shell tools count in security and against factor 4.
    f04 = next(f for f in demo.factors if f.number == 4)
    assert {"TFS001", "TFS002"} <= {f.code for f in f04.findings}
    assert {"TFS001", "TFS002"} <= {f.code for f in demo.security.findings}

    exemplary = audit_of(FIXTURES / "exemplary_agent").scorecard
    assert all(f.status in ("pass", "n/a") for f in exemplary.factors), [(f.key, f.status) for f in exemplary.factors]
    assert exemplary.overall.status == "pass"
    assert exemplary.overall.score is not None and demo.overall.score is not None
    assert exemplary.overall.score - demo.overall.score >= 3.0, (exemplary.overall, demo.overall)


def test_model_libraries_the_engine_cannot_follow_give_no_evidence_not_a_grade():
    card = audit_of(FIXTURES / "unresolved_sdk").scorecard
    assert card.overall.status == "no evidence" and card.overall.score is None
    assert all(f.status == "no evidence" and f.score is None for f in card.factors)
    assert "no evidence" in card.overall.headline


_SEVERITIES = ("error", "warning", "advice")


@st.composite
def _reports(draw):
    """Random sites and findings over two files, some findings outside every site."""
    files = [FileResult("a.py"), FileResult("b.py")]
    kinds = ("loop", "tool", "llm_call", "prompt", "retry", "handoff", "agent", "function")
    sites = []
    for _ in range(draw(st.integers(0, 8))):
        line = draw(st.integers(1, 200))
        sites.append(Site(draw(st.sampled_from(kinds)), draw(st.sampled_from(["a.py", "b.py"])), line,
                          line + draw(st.integers(0, 30)), "s", detail={"direct": True, "tools": 3}))
    findings = []
    for _ in range(draw(st.integers(0, 12))):
        code = draw(st.sampled_from(["TFA0802", "TFA0301", "TFA0405", "TFA0903", "TFA0201", "TFA1101", "TFS001", "TFS003"]))
        factor = None if code.startswith("TFS") else int(code[3:5])
        line = draw(st.integers(1, 240))
        findings.append(Finding(code, code.lower(), factor, draw(st.sampled_from(_SEVERITIES)), "high",
                                draw(st.sampled_from(["a.py", "b.py"])), line, 1, line, 2, "m"))
    return Report("root", files, findings, [], sites=sites)


@settings(max_examples=150, deadline=None)
@given(_reports(), st.data())
def test_fixing_a_finding_never_lowers_any_score(report, data):
    """Leaving out any subset of findings (what fixing them does) raises or keeps every factor's
    score, the security score and the overall score, and never worsens a status."""
    knowledge = default_knowledge()
    before = build_scorecard(report, knowledge)
    fixed = {id(f) for f in report.findings if data.draw(st.booleans())}
    after = build_scorecard(report, knowledge, drop=lambda f: id(f) in fixed)
    rank = {"fail": 0, "warn": 1, "no evidence": 2, "n/a": 2, "pass": 2}
    for old, new in zip([*before.factors, before.security], [*after.factors, after.security], strict=True):
        assert rank[new.status] >= rank[old.status], (old.key, old.status, new.status)
        if old.score is not None and new.score is not None:
            assert new.score >= old.score, (old.key, old.score, new.score)
        if new.score is None:
            assert old.sites == 0  # only a factor with no site leaves the scores when it is clean
    if before.overall.score is not None:
        assert after.overall.score is not None and after.overall.score >= before.overall.score
    assert rank[after.overall.status] >= rank[before.overall.status]


def test_the_plan_ranks_items_with_before_and_after():
    audit = audit_of(Path(__file__).parent.parent / "examples" / "support_agent")
    assert [i.rank for i in audit.plan] == list(range(1, len(audit.plan) + 1))
    first = audit.plan[0]
    assert first.before and first.after and first.advice and first.locations
    worth = [i.gain for i in audit.plan if i.effort == "small"]
    assert worth == sorted(worth, reverse=True) or len(worth) < 2


def test_inventory_lists_what_the_example_builds():
    inventory = audit_of(Path(__file__).parent.parent / "examples" / "support_agent").inventory
    assert {s.label for s in inventory.handoffs} == {"Crew.kickoff", "AgentExecutor.invoke"}
    assert {s.path for s in inventory.tools} == {"crew.py", "research.py"}
    assert [s.detail["bounded"] for s in sorted(inventory.loops, key=lambda s: s.line)] == [False, True]
    assert all(s.detail["direct"] for s in inventory.llm_calls)


# -- gates ------------------------------------------------------------------------------------------


def test_fail_under_parses_overall_factor_and_security():
    parsed = parse_fail_under(["7.5", "F08=8", "8=6", "sec=7"])
    assert [(t.key, t.minimum) for t in parsed] == [(None, 7.5), ("F08", 8.0), ("F08", 6.0), ("SEC", 7.0)]
    for bad in ("F14=3", "eleven", "F08=11", "F08"):
        with pytest.raises(GateError):
            parse_fail_under([bad])


def test_gates_decide_the_exit_code_and_the_report_says_so(tmp_path):
    project = tmp_path / "p"
    write(project, {"agent.py": (FIXTURES / "framework_demo" / "app.py").read_text()})
    plain = invoke("audit", str(project), "--isolated")
    assert plain.exit_code == 0
    failing = invoke("audit", str(project), "--isolated", "--fail-under", "F08=8", "--output-format", "json")
    assert failing.exit_code == 1
    gates = json.loads(failing.stdout)["gates"]
    assert gates == [
        {"label": "F08 score >= 8", "passed": False, "detail": "5.9"},
        {"label": "every file analysed", "passed": True, "detail": "1 analysed"},
    ]
    passing = invoke("audit", str(project), "--isolated", "--fail-under", "3", "--output-format", "markdown")
    assert passing.exit_code == 0 and "✅ pass" in passing.stdout
    on_error = invoke("audit", str(project), "--isolated", "--fail-on", "warning")
    assert on_error.exit_code == 1 and "FAIL" in on_error.stdout
    bad = invoke("audit", str(project), "--fail-under", "F99=1")
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1


def test_no_agent_code_is_not_applicable_and_passes_gates(tmp_path):
    project = tmp_path / "p"
    write(project, {"util.py": "def add(a, b):\n    return a + b\n"})
    result = invoke("audit", str(project), "--isolated", "--fail-under", "9", "--output-format", "json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0
    assert data["scorecard"]["overall"] == {
        "score": None, "status": "n/a", "headline": "n/a: no agent code found to score", "worst": [], "letter": None,
        "factors_scored": 0,
    }
    assert all(f["status"] == "n/a" for f in data["scorecard"]["factors"])
    assert data["gates"][0]["detail"].startswith("n/a")


def test_json_scorecard_follows_the_contract():
    folder = Path(__file__).parent.parent / "examples" / "support_agent"
    result = invoke("audit", str(folder), "--isolated", "--output-format", "json")
    data = json.loads(result.stdout)
    card = data["scorecard"]
    assert [f["factor"] for f in card["factors"]] == list(range(1, 14))
    for factor in card["factors"]:
        assert set(factor) >= {"factor", "title", "score", "status", "letter", "sites", "findings", "evidence"}
        assert factor["status"] in ("pass", "warn", "fail", "n/a", "no evidence")
    assert card["security"]["key"] == "SEC" and card["security"]["factor"] is None
    assert data["fix_plan"] and data["inventory"]["agents"]


def test_check_fail_on_sets_the_floor(tmp_path):
    project = tmp_path / "p"
    write(project, {"agent.py": (FIXTURES / "framework_demo" / "app.py").read_text()})
    assert invoke("check", str(project), "--isolated").exit_code == 1
    # The demo has errors (a shell tool), so even an error floor fails.
    assert invoke("check", str(project), "--isolated", "--fail-on", "error").exit_code == 1
    # A warning alone fails the default floor, not an error floor, and is still reported.
    write(project, {"agent.py": 'from langchain import hub\nprompt = hub.pull("team/triage")\n'})
    assert invoke("check", str(project), "--isolated").exit_code == 1
    below = invoke("check", str(project), "--isolated", "--fail-on", "error")
    assert below.exit_code == 0 and "TFA0202" in below.stdout
