"""The per-factor status and score (factor catalog, section 17; docs/violations.md, "Grades").

Each factor gets a **status** first, from what the rules counted and what the engine saw:

- ``fail``: a counted finding of the factor at warning or error severity (security findings
  count against the factor they break as well, per their rule's ``also_factor``);
- ``warn``: advice only, a weakness worth a look;
- ``pass``: the code touches the factor (it has sites) and nothing was counted;
- ``n/a``: nothing in the code touches the factor;
- ``no evidence``: the application imports model or agent libraries, but the engine saw no model
  call, agent, loop, hand-off or tool it could judge. Never a free pass.

The **number** is for trends. For each factor the *sites* it applies to are the denominator:
agent loops, model calls, prompts, tools and so on, found in application code. Each counted
finding weighs by severity (error 5, warning 2, advice 1) and lands on the innermost site of its
factor that contains it (or a per-file pool when none does); a site or pool loses at most 5
points, so one messy function cannot zero a large codebase:

    score = 10 * (1 - min(1, sum(penalties) / (5 * sites)))

then held under the status: a failing factor shows at most 5.9 (D), a warned one at most 8.9
(B). The denominator never depends on the findings, so fixing a finding never lowers a score.
A factor with findings but no site has a status and no number.

The overall number is the risk-weighted mean (OpenSSF Scorecard's High 7.5 / Medium 5 / Low 2.5)
of the factors that have sites, held the same way under the overall status: ``fail`` while
factor 4, 7, 8 or 9 fails, ``warn`` while any other factor fails or warns, else ``pass``. The
headline names the worst factors, not the mean alone. Security (TFS) is scored the same way and
shown apart. Test and example code is left out, and low-confidence findings are hints that
never count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from factorlint.audit.evidence import evidence_for
from factorlint.audit.model import FactorScore, Overall, Scorecard, Status
from factorlint.model import Finding, Report, Site

WEIGHTS = {"error": 5, "warning": 2, "advice": 1}
SITE_CAP = 5.0
LETTERS = ((9.0, "A"), (7.5, "B"), (6.0, "C"), (4.0, "D"))
# The highest number each status may show: a failing factor is never better than a D, a warned
# one never an A.
STATUS_CAP: dict[str, float] = {"fail": 5.9, "warn": 8.9}
# A failure of any of these fails the whole audit (the guide's core: tools, humans, control flow,
# errors); a failure elsewhere leaves it at "warn".
CRITICAL_FACTORS = frozenset({4, 7, 8, 9})
SECURITY_KEY = "SEC"
# Sites that show the engine saw the agent: without any, a project that imports model libraries
# has "no evidence", not a clean bill.
_JUDGED_KINDS = frozenset({"llm_call", "agent", "loop", "handoff", "tool"})

# Which sites each factor applies to (section 17.2), as predicates over a Site.
SiteTest = Callable[[Site], bool]


def _kind(*kinds: str) -> SiteTest:
    return lambda s: s.kind in kinds


def _direct_call(site: Site) -> bool:
    return site.kind == "llm_call" and bool(site.detail.get("direct"))


def _runs_agent(site: Site) -> bool:
    return site.kind == "function" and bool(site.detail.get("runs_agent"))


def _agent_owning_loop(site: Site) -> bool:
    return site.kind == "agent" and bool(site.detail.get("owns_loop"))


def _any(*tests: SiteTest) -> SiteTest:
    return lambda s: any(t(s) for t in tests)


FACTOR_SITES: dict[int, SiteTest] = {
    1: _direct_call,
    2: _kind("prompt", "agent"),
    3: _any(_kind("loop"), lambda s: s.kind == "agent" and bool(s.detail.get("memory")),
            lambda s: s.kind == "prompt" and s.detail.get("source") == "dynamic", _kind("memory")),
    4: _any(_kind("tool"), lambda s: _direct_call(s) and bool(s.detail.get("structured"))),
    5: _kind("loop", "handoff"),
    6: _any(_runs_agent, _kind("checkpointer", "interrupt")),
    7: _kind("tool", "loop", "approval", "interrupt"),
    8: _any(_kind("loop", "handoff"), _agent_owning_loop),
    9: _kind("loop", "retry"),
    10: _any(_kind("loop"), _agent_owning_loop, lambda s: _direct_call(s) and bool(s.detail.get("tools"))),
    11: _any(_runs_agent, _kind("entry_point")),
    12: _any(_runs_agent, lambda s: s.kind == "function" and bool(s.detail.get("calls_llm"))),
    13: _any(lambda s: s.kind == "agent" and s.detail.get("tools") != 0,
             lambda s: _direct_call(s) and bool(s.detail.get("tools"))),
}


def _security_site(site: Site) -> bool:
    return site.kind == "tool" or _direct_call(site)


def letter_for(score: float | None) -> str | None:
    if score is None:
        return None
    return next((letter for floor, letter in LETTERS if score >= floor), "F")


def status_for(findings: list[Finding], sites: int, unjudged: bool) -> Status:
    """fail / warn / pass from the counted findings; n/a or no evidence when nothing was seen."""
    if any(f.severity in ("error", "warning") for f in findings):
        return "fail"
    if findings:
        return "warn"
    if sites == 0:
        return "no evidence" if unjudged else "n/a"
    return "pass"


def held(score: float | None, status: Status) -> tuple[float | None, bool]:
    """The score held under its status's ceiling, and whether the ceiling applied."""
    cap = STATUS_CAP.get(status)
    if score is None or cap is None or score <= cap:
        return score, False
    return cap, True


def scored_paths(report: Report) -> set[str]:
    return {f.path for f in report.files if f.role == "app"}


def _factor_keys(finding: Finding, also: dict[str, int]) -> list[str]:
    """The scores a finding counts in: its factor, or security and the factor it also breaks."""
    if finding.code.startswith("TFS"):
        extra = also.get(finding.code)
        return [SECURITY_KEY] + ([f"F{extra:02d}"] if extra else [])
    if finding.factor is None:
        return []  # the analysis itself (TFA00): never scored
    return [f"F{finding.factor:02d}"]


def _also_factors() -> dict[str, int]:
    """Rule code -> the factor its findings break besides security (TFS001 eval: factor 4)."""
    from factorlint.checks.registry import rules_by_code

    return {code: rule.meta.also_factor for code, rule in rules_by_code().items() if rule.meta.also_factor}


def site_key(site: Site) -> tuple:
    """Sites of one agent (its factory, the executor around it, its run call) count once."""
    group = site.detail.get("agent_group")
    if group is not None:
        return ("agent", site.path, group)
    return ("site", site.path, site.line, site.end_line, site.kind, site.label)


def score_sites(sites: list[Site], findings: list[Finding], extra_sites: int = 0) -> tuple[int, int, float, float | None]:
    """(site count, sites with a finding, penalty, score before any status ceiling) for one factor.

    The denominator is the sites alone: a finding outside every site adds to a per-file pool
    (capped like a site), never a site, so removing a finding can only raise the score."""
    by_path: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        by_path[site.path].append(site)
    penalties: dict[tuple, float] = defaultdict(float)
    for finding in findings:
        containing = [s for s in by_path.get(finding.path, ()) if s.line <= finding.line <= s.end_line]
        if containing:
            key = site_key(min(containing, key=lambda s: (s.end_line - s.line, -s.line)))
        else:
            key = ("outside", finding.path)
        penalties[key] += WEIGHTS.get(finding.severity, 0)
    count = len({site_key(s) for s in sites}) + extra_sites
    penalty = sum(min(SITE_CAP, p) for p in penalties.values())
    if count == 0:
        return 0, len(penalties), penalty, None  # findings with no site: a status, not a number
    score = round(10 * (1 - min(1.0, penalty / (SITE_CAP * count))), 1)
    return count, len(penalties), penalty, score


def unjudged(report: Report, paths: set[str], sites: list[Site]) -> bool:
    """Does the application import model or agent libraries while the engine saw nothing of the
    agent (no model call it could follow, no agent, loop, hand-off or tool)?"""
    relevant = any(f.facts is not None and f.facts.relevant for f in report.files if f.path in paths)
    seen = any(s.kind in _JUDGED_KINDS and not s.detail.get("unresolved") for s in sites)
    return relevant and not seen


def _factor_score(
    key: str, number: int | None, title: str, summary: str, url: str, weight: float,
    sites: list[Site], counted: list[Finding], hints: list[Finding], extra: int, blind: bool,
) -> FactorScore:
    count, flagged, penalty, raw = score_sites(sites, counted, extra)
    status = status_for(counted, count, blind)
    score, capped = held(raw, status)
    return FactorScore(
        key=key, number=number, title=title, summary=summary, url=url, weight=weight, sites=count,
        findings=counted, hints=hints, penalty=penalty, score=score, letter=letter_for(score),
        status=status, capped=capped, evidence=evidence_for(number, sites, count, flagged),
    )


def build_scorecard(
    report: Report,
    knowledge,
    *,
    include_roles: Iterable[str] = ("app",),
    drop: Callable[[Finding], bool] | None = None,
    weights: dict[int, float] | None = None,
) -> Scorecard:
    """The scorecard of ``report``; ``drop`` leaves findings out (what a fix would gain)."""
    roles = set(include_roles)
    paths = {f.path for f in report.files if f.role in roles}
    sites = [s for s in report.sites if s.path in paths]
    blind = unjudged(report, paths, sites)
    also = _also_factors()
    counted: dict[str, list[Finding]] = defaultdict(list)
    hints: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        if finding.path not in paths or (drop is not None and drop(finding)):
            continue
        for key in _factor_keys(finding, also):
            (hints if finding.confidence == "low" else counted)[key].append(finding)

    factors = []
    for factor in knowledge.factors.factors:
        key = factor.code
        factor_sites = [s for s in sites if FACTOR_SITES[factor.number](s)]
        extra = 1 if factor.number == 2 and any(s.kind == "prompt" for s in factor_sites) else 0
        weight = (weights or {}).get(factor.number, factor.weight)
        factors.append(_factor_score(
            key, factor.number, factor.title, factor.summary, factor.url, weight,
            factor_sites, counted[key], hints[key], extra, blind,
        ))
    security_sites = [s for s in sites if _security_site(s)]
    # Each module holding agent code is a site too (hardcoded keys live anywhere in a module).
    modules = sorted({s.path for s in sites if not s.detail.get("unresolved")})
    module_sites = [Site("module", path, 1, 10**9, path) for path in modules]
    sec = knowledge.factors.security
    security = _factor_score(
        SECURITY_KEY, None, sec.title, sec.summary, "", 0.0, security_sites + module_sites,
        counted[SECURITY_KEY], hints[SECURITY_KEY], 0, blind,
    )
    return Scorecard(
        factors=factors, security=security, overall=overall_of(factors, blind),
        app_files=len(paths), excluded_files=len(report.files) - len(paths),
    )


def overall_of(factors: list[FactorScore], blind: bool = False) -> Overall:
    """The risk-weighted mean of the factors with sites, held under the overall status."""
    # The factors that fail the audit come first, then the lowest numbers.
    failing = sorted((f for f in factors if f.status == "fail"),
                     key=lambda f: (f.number not in CRITICAL_FACTORS, f.score or 0.0, f.key))
    warned = sorted((f for f in factors if f.status == "warn"), key=lambda f: (f.score or 0.0, f.key))
    status: Status
    if any(f.number in CRITICAL_FACTORS for f in failing):
        status = "fail"
    elif failing or warned:
        status = "warn"
    elif any(f.status == "pass" for f in factors):
        status = "pass"
    else:
        status = "no evidence" if blind else "n/a"
    worst = [f.key for f in (failing or warned)][:3]
    # Only factors with sites make the mean: a factor whose last finding is fixed must not leave
    # it and move the mean either way.
    scored = [(f.score, f.weight) for f in factors if f.score is not None and f.weight > 0 and f.sites > 0]
    if not scored:
        return Overall(None, None, status, 0, worst, worst_fail=bool(failing))
    total = sum(weight for _, weight in scored)
    raw = round(sum(value * weight for value, weight in scored) / total, 1)
    score, _ = held(raw, status)
    return Overall(score, letter_for(score), status, len(scored), worst, worst_fail=bool(failing))
