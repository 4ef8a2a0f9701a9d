"""From a Report to an Audit: the scorecard, the inventory, the fix plan and the gates.

Everything an audit reporter shows is computed here once; reporters only render.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from factorlint import __version__
from factorlint.audit.model import Audit, GateResult, Inventory, Scorecard
from factorlint.audit.plan import build_plan
from factorlint.audit.scoring import SECURITY_KEY, build_scorecard
from factorlint.engine.read.source import UNREADABLE
from factorlint.model import PARAMETER, SEVERITY_RANK, Report, Site

_FACTOR_GATE = re.compile(r"^(?:F?0?(\d{1,2})|(SEC))\s*=\s*(\d+(?:\.\d+)?)$", re.I)


class GateError(ValueError):
    """A gate that cannot be read (``--fail-under F99=3``): a usage error."""


@dataclass(frozen=True)
class Threshold:
    key: str | None  # None: the overall score; "F08"; "SEC"
    minimum: float


def parse_fail_under(values: Iterable[str]) -> list[Threshold]:
    """``7.5`` (overall), ``F08=8`` / ``8=8`` (one factor), ``SEC=7`` (security)."""
    thresholds = []
    for raw in values:
        value = raw.strip()
        key: str | None
        try:
            minimum = float(value)
        except ValueError:
            match = _FACTOR_GATE.match(value)
            if match is None:
                raise GateError(f"--fail-under {raw!r}: expected a score (7.5) or FACTOR=SCORE (F08=8, SEC=7)") from None
            number, security, score = match.groups()
            if number is not None and not 1 <= int(number) <= 13:
                raise GateError(f"--fail-under {raw!r}: factors are F01 to F13") from None
            key, minimum = (SECURITY_KEY if security else f"F{int(number):02d}"), float(score)
        else:
            key = None
        if not 0 <= minimum <= 10:
            raise GateError(f"--fail-under {raw!r}: scores run from 0 to 10")
        thresholds.append(Threshold(key, minimum))
    return thresholds


def scan_gate(report: Report, gated: bool) -> GateResult | None:
    """The gate no audit passes without: the scan it scores was done. Zero files analysed always
    fails (a wrong path or an exclude that matches everything must not pass as a clean bill);
    with any other gate given, so does a file or folder that could not be analysed, since the
    scores would be of code that was never read."""
    unread = [d for d in report.diagnostics if d.code == UNREADABLE]
    analysed = sum(1 for f in report.files if not any(d.code == UNREADABLE for d in f.diagnostics))
    if analysed == 0:
        return GateResult("files analysed", False, "none: nothing was scanned")
    if not gated:
        return None
    detail = f"{analysed} analysed" + (f", {len(unread)} not analysed (TFA0001)" if unread else "")
    return GateResult("every file analysed", not unread, detail)


def evaluate_gates(scorecard: Scorecard, thresholds: list[Threshold], fail_on: str | None) -> list[GateResult]:
    gates = []
    by_key = {f.key: f for f in [*scorecard.factors, scorecard.security]}
    for threshold in thresholds:
        if threshold.key is None:
            score, name = scorecard.overall.score, "overall"
        else:
            score, name = by_key[threshold.key].score, threshold.key
        label = f"{name} score >= {threshold.minimum:g}"
        if score is None:
            gates.append(GateResult(label, True, "n/a: nothing in the code to score"))
        else:
            gates.append(GateResult(label, score >= threshold.minimum, f"{score:.1f}"))
    if fail_on is not None:
        floor = SEVERITY_RANK[fail_on]
        # The scored findings (application code, not hints): the ones the report counts.
        counted = [f for factor in by_key.values() for f in factor.findings]
        hits = Counter(f.severity for f in counted if SEVERITY_RANK.get(f.severity, 0) >= floor)
        wording = "errors" if fail_on == "error" else "errors or warnings"
        detail = ", ".join(f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in sorted(hits.items())) or "none"
        gates.append(GateResult(f"no findings at {fail_on} or above ({wording})", not hits, detail))
    return gates


def unresolved_hint(site: Site) -> str:
    """What the engine could not follow at an unresolved call, and how to name it."""
    name = str(site.detail.get("unresolved", ""))
    if site.detail.get("receiver") == "chosen at run time":
        return (f"`{name}`: the receiver is chosen at run time (a registry, a plugin); if it calls a "
                "model, call it through a project function and name that in `llm-functions`")
    if PARAMETER in name:
        function, rest = name.split(PARAMETER, 1)
        parameter = rest.split(".", 1)[0]
        owner = function.replace("()", "").rsplit(".", 1)[-1]
        return (f"`{rest.replace('()', '')}`: `{parameter}` is a parameter of `{owner}` that no caller "
                "types; annotate it with its client class")
    return (f"`{name.replace('()', '')}`: nothing in the project or the knowledge tables answers it; "
            f"if it calls a model, add `\"{name}\"` to `llm-functions`")


_TEST_CODE_KINDS = frozenset({"agent", "llm_call", "loop", "tool", "handoff"})


def build_inventory(report: Report, paths: set[str]) -> Inventory:
    inventory = Inventory()
    lists = {
        "agent": inventory.agents, "llm_call": inventory.llm_calls, "prompt": inventory.prompts,
        "tool": inventory.tools, "loop": inventory.loops, "handoff": inventory.handoffs,
        "retry": inventory.retries, "checkpointer": inventory.state, "memory": inventory.state,
        "approval": inventory.state, "interrupt": inventory.state, "entry_point": inventory.entry_points,
    }
    models: Counter = Counter()
    frameworks: Counter = Counter()
    for site in report.sites:
        if site.path not in paths:
            if site.kind in _TEST_CODE_KINDS and not site.detail.get("unresolved") and (
                site.kind != "llm_call" or site.detail.get("direct")
            ):
                inventory.test_code.append(site)
            continue
        if site.kind == "llm_call" and site.detail.get("unresolved"):
            inventory.unresolved.append(site)
            continue
        if site.kind == "llm_call" and not site.detail.get("direct"):
            continue  # a call into the project's own wrapper: the wrapper's call is listed
        target = lists.get(site.kind)
        if target is None:
            continue
        target.append(site)
        if site.kind == "llm_call":
            models[site.detail.get("model") or "(not written at the call)"] += 1
        if site.kind in ("agent", "tool", "handoff") and site.detail.get("framework"):
            frameworks[site.detail["framework"]] += 1
    inventory.models = dict(models.most_common())
    inventory.frameworks = dict(frameworks.most_common())
    return inventory


def build_audit(
    report: Report,
    settings,
    knowledge=None,
    *,
    fail_under: Iterable[str] = (),
    fail_on: str | None = None,
    include_roles: Iterable[str] = ("app",),
) -> Audit:
    from factorlint.knowledge import default_knowledge

    # Library mode: the project is not a framework it uses, in the scores or the versions listed.
    knowledge = (knowledge or default_knowledge()).without(getattr(settings, "internal_frameworks", ()))
    thresholds = parse_fail_under(fail_under)
    roles = tuple(include_roles)
    scorecard = build_scorecard(report, knowledge, include_roles=roles)
    paths = {f.path for f in report.files if f.role in roles}
    plan = build_plan(report, knowledge, scorecard, include_roles=roles, prompt_modules=settings.prompt_modules)
    versions = {"factorlint": __version__, "rules": __version__}
    pinned = getattr(settings, "versions", None) or {}
    for framework in knowledge.frameworks:
        if framework.distribution and framework.distribution in pinned:
            versions[framework.distribution] = pinned[framework.distribution]
    return Audit(
        report=report,
        scorecard=scorecard,
        inventory=build_inventory(report, paths),
        plan=plan,
        gates=[
            *evaluate_gates(scorecard, thresholds, fail_on),
            *filter(None, [scan_gate(report, bool(thresholds) or fail_on is not None)]),
        ],
        versions=versions,
    )
