"""The per-factor score (factor catalog, section 17).

For each factor the *sites* it applies to are the denominator: agent loops, model calls, prompts,
tools and so on, found in application code. Each counted finding weighs by severity (error 5,
warning 2, advice 1) and lands on the innermost site of its factor that contains it; a site loses
at most 5 points (one error's worth), so one messy function cannot zero a large codebase.
Findings outside every site of their factor make one extra site per file, under the same cap.

    score = 10 * (1 - sum(site penalties) / (5 * sites)), held at 6.0 when any error is counted

A factor with no site is "n/a", never a free 10 or a 0. The overall score is the mean of the
scored factors weighted by risk (OpenSSF Scorecard's High 7.5 / Medium 5 / Low 2.5). Security
rules (TFS) are scored the same way and shown apart. Test and example code is left out, and
low-confidence findings are hints that never count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from factorlint.audit.evidence import evidence_for
from factorlint.audit.model import FactorScore, Grade, Overall, Scorecard
from factorlint.model import Finding, Report, Site

WEIGHTS = {"error": 5, "warning": 2, "advice": 1}
SITE_CAP = 5.0
ERROR_CAP = 6.0
LETTERS = ((9.0, "A"), (7.5, "B"), (6.0, "C"), (4.0, "D"))
PASS_AT = 7.5  # A and B pass
WARN_AT = 4.0  # C and D warn; F fails
SECURITY_KEY = "SEC"

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


def grade_for(score: float | None) -> Grade:
    if score is None:
        return "n/a"
    return "pass" if score >= PASS_AT else "warn" if score >= WARN_AT else "fail"


def scored_paths(report: Report) -> set[str]:
    return {f.path for f in report.files if f.role == "app"}


def _factor_key(finding: Finding) -> str | None:
    if finding.code.startswith("TFS"):
        return SECURITY_KEY
    if finding.factor is None:
        return None  # the analysis itself (TFA00): never scored
    return f"F{finding.factor:02d}"


def site_key(site: Site) -> tuple:
    """Sites of one agent (its factory, the executor around it, its run call) count once."""
    group = site.detail.get("agent_group")
    if group is not None:
        return ("agent", site.path, group)
    return ("site", site.path, site.line, site.end_line, site.kind, site.label)


def score_sites(sites: list[Site], findings: list[Finding], extra_sites: int = 0) -> tuple[int, int, float, float | None, bool]:
    """(site count, sites with a finding, penalty, score, capped) for one factor."""
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
    outside = sum(1 for k in penalties if k[0] == "outside")
    count = len({site_key(s) for s in sites}) + extra_sites + outside
    if count == 0:
        return 0, 0, 0.0, None, False
    penalty = sum(min(SITE_CAP, p) for p in penalties.values())
    score = round(10 * (1 - penalty / (SITE_CAP * count)), 1)
    capped = False
    if any(f.severity == "error" for f in findings) and score > ERROR_CAP:
        score, capped = ERROR_CAP, True
    return count, len(penalties), penalty, max(0.0, score), capped


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
    counted: dict[str, list[Finding]] = defaultdict(list)
    hints: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        key = _factor_key(finding)
        if key is None or finding.path not in paths or (drop is not None and drop(finding)):
            continue
        (hints if finding.confidence == "low" else counted)[key].append(finding)

    factors = []
    for factor in knowledge.factors.factors:
        key = factor.code
        factor_sites = [s for s in sites if FACTOR_SITES[factor.number](s)]
        extra = 1 if factor.number == 2 and any(s.kind == "prompt" for s in factor_sites) else 0
        count, flagged, penalty, score, capped = score_sites(factor_sites, counted[key], extra)
        weight = (weights or {}).get(factor.number, factor.weight)
        factors.append(
            FactorScore(
                key=key, number=factor.number, title=factor.title, summary=factor.summary, url=factor.url,
                weight=weight, sites=count, findings=counted[key], hints=hints[key], penalty=penalty,
                score=score, letter=letter_for(score), grade=grade_for(score), capped=capped,
                evidence=evidence_for(factor.number, factor_sites, count, flagged),
            )
        )
    security_sites = [s for s in sites if _security_site(s)]
    # Each module holding agent code is a site too (hardcoded keys live anywhere in a module).
    modules = sorted({s.path for s in sites} | {f.path for f in counted[SECURITY_KEY]})
    module_sites = [Site("module", path, 1, 10**9, path) for path in modules]
    count, flagged, penalty, score, capped = score_sites(security_sites + module_sites, counted[SECURITY_KEY])
    sec = knowledge.factors.security
    security = FactorScore(
        key=SECURITY_KEY, number=None, title=sec.title, summary=sec.summary, url="", weight=0.0,
        sites=count, findings=counted[SECURITY_KEY], hints=hints[SECURITY_KEY], penalty=penalty,
        score=score, letter=letter_for(score), grade=grade_for(score), capped=capped,
        evidence=evidence_for(None, security_sites, count, flagged),
    )
    return Scorecard(
        factors=factors, security=security, overall=overall_of(factors),
        app_files=len(paths), excluded_files=len(report.files) - len(paths),
    )


def overall_of(factors: list[FactorScore]) -> Overall:
    scored = [(f.score, f.weight) for f in factors if f.score is not None and f.weight > 0]
    if not scored:
        return Overall(None, None, "n/a", 0)
    total = sum(weight for _, weight in scored)
    score = round(sum(value * weight for value, weight in scored) / total, 1)
    return Overall(score, letter_for(score), grade_for(score), len(scored))
