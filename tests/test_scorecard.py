"""The scorecard: section 17 of the factor catalog, its worked example, and the audit gates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import invoke, write

from factorlint.api import lint_paths
from factorlint.audit.build import GateError, build_audit, parse_fail_under
from factorlint.audit.scoring import build_scorecard, grade_for, letter_for, score_sites
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
    """Section 17.5: F8 with 4 sites and findings 5 + 2 + 1 is 6.0; F9 with 3 sites and one error is
    6.7, held at 6.0; F2 with 5 sites and 2 + 1 + 1 + 1 is 8.0."""
    f8_sites = [site("loop", 10, 20), site("loop", 30, 40), site("handoff", 50), site("agent", 60, 62)]
    f8 = [finding("TFA0802", "error", 10), finding("TFA0801", "warning", 50), finding("TFA0804", "advice", 60)]
    count, flagged, penalty, score, capped = score_sites(f8_sites, f8)
    assert (count, flagged, penalty, score, capped) == (4, 3, 8.0, 6.0, False)

    f9_sites = [site("loop", 10, 20), site("loop", 30, 40), site("retry", 70)]
    count, _, penalty, score, capped = score_sites(f9_sites, [finding("TFA0901", "error", 70)])
    assert (count, penalty, score, capped) == (3, 5.0, 6.0, True)

    prompts = [site("prompt", line) for line in (80, 81, 82, 83)]
    f2 = [finding("TFA0201", "warning", 80), finding("TFA0203", "advice", 81), finding("TFA0203", "advice", 82),
          finding("TFA0204", "advice", 1000)]
    count, _, penalty, score, _ = score_sites(prompts, f2)
    # The project-level finding lands outside every site: one extra site of its own.
    assert (count, penalty, score) == (5, 5.0, 8.0)


def test_one_site_loses_at_most_one_errors_worth():
    sites = [site("loop", 1, 50)] + [site("loop", 100 + i) for i in range(9)]
    many = [finding("TFA0802", "error", 2), finding("TFA0302", "warning", 3), finding("TFA0903", "error", 4)]
    count, flagged, penalty, score, capped = score_sites(sites, many)
    assert (count, flagged, penalty) == (10, 1, 5.0)
    assert score == 6.0 and capped  # 9.0 before the error cap


def test_findings_land_on_the_innermost_site():
    function = site("function", 1, 40)
    loop = site("loop", 10, 20)
    _, flagged, penalty, _, _ = score_sites([function, loop], [finding("X", "warning", 12), finding("Y", "warning", 30)])
    assert flagged == 2 and penalty == 4.0


def test_sites_of_one_agent_count_once():
    executor = site("agent", 5, agent_group=1)
    run = site("handoff", 20, agent_group=1)
    count, flagged, penalty, score, _ = score_sites([executor, run], [finding("A", "warning", 5), finding("B", "warning", 20)])
    assert (count, flagged, penalty, score) == (1, 1, 4.0, 2.0)


def test_no_sites_and_no_findings_is_not_applicable():
    assert score_sites([], []) == (0, 0, 0.0, None, False)
    assert letter_for(None) is None and grade_for(None) == "n/a"


@pytest.mark.parametrize(
    "score, letter, grade",
    [(10.0, "A", "pass"), (9.0, "A", "pass"), (8.9, "B", "pass"), (7.5, "B", "pass"), (7.4, "C", "warn"),
     (6.0, "C", "warn"), (5.9, "D", "warn"), (4.0, "D", "warn"), (3.9, "F", "fail"), (0.0, "F", "fail")],
)
def test_letters_and_grades(score, letter, grade):
    assert letter_for(score) == letter and grade_for(score) == grade


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
    scored = [f for f in card.factors if f.score is not None]
    expected = round(sum(f.score * f.weight for f in scored) / sum(f.weight for f in scored), 1)
    assert card.overall.score == expected
    assert card.security.score is not None and card.security.findings
    assert all(not f.findings or f.key != "SEC" for f in card.factors)


# -- fixtures: an owned agent against a framework demo ----------------------------------------------


def test_exemplary_agent_scores_two_points_above_a_framework_demo():
    exemplary = audit_of(FIXTURES / "exemplary_agent").scorecard.overall
    demo = audit_of(FIXTURES / "framework_demo").scorecard
    assert exemplary.score is not None and demo.overall.score is not None
    assert exemplary.score - demo.overall.score >= 2.0, (exemplary, demo.overall)
    by_key = {f.key: f for f in demo.factors}
    # The demo's framework-owned, implicitly bounded loop is its worst factor.
    assert by_key["F08"].grade in ("warn", "fail") and by_key["F08"].findings
    assert demo.security.findings  # the shell tool


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
        {"label": "F08 score >= 8", "passed": False, "detail": "4.0"},
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
    assert data["scorecard"]["overall"] == {"score": None, "grade": "n/a", "letter": None, "factors_scored": 0}
    assert all(f["grade"] == "n/a" for f in data["scorecard"]["factors"])
    assert data["gates"][0]["detail"].startswith("n/a")


def test_json_scorecard_follows_the_contract():
    folder = Path(__file__).parent.parent / "examples" / "support_agent"
    result = invoke("audit", str(folder), "--isolated", "--output-format", "json")
    data = json.loads(result.stdout)
    card = data["scorecard"]
    assert [f["factor"] for f in card["factors"]] == list(range(1, 14))
    for factor in card["factors"]:
        assert set(factor) >= {"factor", "title", "score", "grade", "letter", "sites", "findings", "evidence"}
        assert factor["grade"] in ("pass", "warn", "fail", "n/a")
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
