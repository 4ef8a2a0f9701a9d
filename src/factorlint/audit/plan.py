"""The fix plan: one item per rule with counted findings, ranked by what fixing it is worth.

Worth is measured, not guessed: the scorecard is computed again without the rule's findings, and
the difference in the overall score is the item's gain (for security rules, the security score's
gain, weighed as a high-risk factor). Items are ranked by gain per unit of effort, so a cheap fix
with a real gain comes before a redesign with a slightly larger one.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from collections.abc import Callable

from factorlint.audit.model import Effort, PlanItem, Scorecard
from factorlint.audit.scoring import SECURITY_KEY, build_scorecard
from factorlint.model import Finding

# Fixes that change the shape of the program (own the loop, move state, add a resume path):
# large whatever the count. Everything else scales with how many files it touches.
REDESIGN = frozenset({"TFA0801", "TFA0501", "TFA0502", "TFA0301", "TFA1202", "TFA1101", "TFA1102", "TFA0604"})
EFFORT_COST: dict[Effort, float] = {"small": 1.0, "medium": 2.0, "large": 4.0}
SECURITY_WEIGHT = 7.5  # security gains are weighed like a high-risk factor
_USE_INSTEAD = re.compile(r"## Use instead\s*```python\n(.*?)```", re.S)


def effort_for(code: str, files: int, autofix: bool) -> Effort:
    if autofix:
        return "small"
    if code in REDESIGN:
        return "large"
    return "small" if files <= 2 else "medium" if files <= 10 else "large"


def _has_code(code: str) -> Callable[[Finding], bool]:
    return lambda finding: finding.code == code


def use_instead(rule) -> str:
    """The "Use instead" example of the rule's documentation: what the code looks like fixed."""
    found = _USE_INSTEAD.search(rule.documentation() if rule is not None else "")
    return textwrap.dedent(found.group(1)).strip("\n") if found else ""


def build_plan(
    report, knowledge, scorecard: Scorecard, include_roles=("app",), prompt_modules: tuple[str, ...] | None = None
) -> list[PlanItem]:
    from factorlint.checks.registry import rules_by_code

    rules = rules_by_code()
    by_code = defaultdict(list)
    factor_of = {}
    for factor in [*scorecard.factors, scorecard.security]:
        for finding in factor.findings:
            by_code[finding.code].append(finding)
            factor_of[finding.code] = factor
    base_overall = scorecard.overall.score or 0.0
    total_weight = sum(f.weight for f in scorecard.factors if f.score is not None) or 1.0
    items = []
    for code, findings in by_code.items():
        factor = factor_of[code]
        without = build_scorecard(report, knowledge, include_roles=include_roles, drop=_has_code(code))
        if factor.key == SECURITY_KEY:
            factor_after = without.security.score
            gain = 0.0
        else:
            factor_after = next(f.score for f in without.factors if f.key == factor.key)
            gain = round((without.overall.score or 0.0) - base_overall, 2)
        factor_gain = round((factor_after or 0.0) - (factor.score or 0.0), 2)
        worth = gain if factor.key != SECURITY_KEY else factor_gain * SECURITY_WEIGHT / (total_weight + SECURITY_WEIGHT)
        files = len({f.path for f in findings})
        autofix = all(f.fix is not None and f.fix.edits and f.fix.applicability == "safe" for f in findings)
        effort = effort_for(code, files, autofix)
        first = min(findings, key=lambda f: (f.path, f.line))
        rule = rules.get(code)
        diff = first_fix_diff(report, findings, prompt_modules=prompt_modules)
        items.append(
            (
                worth / EFFORT_COST[effort],
                PlanItem(
                    rank=0, code=code, name=first.name, factor_key=factor.key, factor_title=factor.title,
                    severity=first.severity, count=len(findings), files=files, gain=gain,
                    factor_gain=factor_gain, effort=effort, autofix=autofix,
                    advice=(first.fix.message if first.fix else "") or (rule.meta.fix_advice if rule else ""),
                    before=textwrap.dedent(first.context or first.source_line).strip("\n"), before_location=f"{first.path}:{_line(first)}",
                    after="" if diff else use_instead(rule),
                    locations=[f"{f.path}:{_line(f)}" for f in sorted(findings, key=lambda f: (f.path, f.cell or 0, f.line))],
                    diff=diff,
                ),
            )
        )
    items.sort(key=lambda pair: (-pair[0], -pair[1].count, pair[1].code))
    ranked = []
    for rank, (_, item) in enumerate(items, 1):
        item.rank = rank
        ranked.append(item)
    return ranked


def _line(finding) -> str:
    """The finding's line, with its cell in a notebook."""
    return f"cell {finding.cell}:{finding.line}" if finding.cell else str(finding.line)


def first_fix_diff(report, findings: list[Finding], context: int = 2, prompt_modules: tuple[str, ...] | None = None) -> str:
    """The unified diff the fix of the first finding (by path and line) that has one makes to
    the user's files, as ``check --fix`` would write them (a moved prompt changes two); "" when
    none has a fix, or a file is no longer the bytes that were analysed."""
    import difflib
    from pathlib import Path

    from factorlint.config import DEFAULT_PROMPT_MODULES
    from factorlint.engine.run.fix_groups import apply_all

    fixable = sorted((f for f in findings if f.fix is not None and f.fix.edits and not f.cell),
                     key=lambda f: (f.path, f.line))
    if not fixable:
        return ""
    patterns = DEFAULT_PROMPT_MODULES if prompt_modules is None else prompt_modules
    outcomes, _ = apply_all(fixable[:1], report.files, Path(report.root or "."), patterns, write=False)
    if not any(o.applied for o in outcomes):
        return ""
    parts: list[str] = []
    for outcome in outcomes:
        if outcome.error or outcome.fixed == outcome.original:
            continue
        parts.extend(difflib.unified_diff(
            outcome.original.splitlines(keepends=True), outcome.fixed.splitlines(keepends=True),
            fromfile="/dev/null" if outcome.created else f"a/{outcome.path}", tofile=f"b/{outcome.path}", n=context,
        ))
    return "".join(parts)
