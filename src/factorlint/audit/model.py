"""What an audit is: the report plus a scorecard, an inventory and a ranked fix plan.

Computed once from the Report by :func:`factorlint.audit.build.build_audit`; every audit reporter
(terminal, markdown, HTML, JSON) only renders these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from factorlint.model import Finding, Report, Site

if TYPE_CHECKING:
    from factorlint.audit.compare import AuditChange

# fail: a counted violation (warning or error); warn: advice only; pass: touched and clean;
# n/a: nothing touches it; no evidence: model libraries used, but nothing the engine could judge.
Status = Literal["fail", "warn", "pass", "n/a", "no evidence"]
Effort = Literal["small", "medium", "large"]


@dataclass(frozen=True)
class Evidence:
    """A positive signal shown next to a score ("bounded loops 3/4"); it adds no points."""

    label: str
    hits: int
    total: int


@dataclass
class FactorScore:
    key: str  # "F01".."F13", or "SEC" for agent security
    number: int | None  # 1-13; None for security
    title: str
    summary: str
    url: str
    weight: float  # share of the overall score (0 for security, which is shown apart)
    sites: int  # the denominator: places this factor applies to (application code only)
    findings: list[Finding] = field(default_factory=list)  # counted (scored) findings
    hints: list[Finding] = field(default_factory=list)  # low-confidence findings: shown, not scored
    penalty: float = 0.0  # the sum of per-site penalties, each capped at 5
    score: float | None = None  # 0-10, None when nothing in the code touches the factor
    letter: str | None = None  # A-F
    status: Status = "n/a"
    capped: bool = False  # the status held the number down (fail: 5.9 at most, warn: 8.9)
    evidence: list[Evidence] = field(default_factory=list)

    def evidence_lines(self) -> list[str]:
        """What explains the score, in words: the cap when an error holds it, then the evidence."""
        lines = [f"{e.label} {e.hits}/{e.total}" for e in self.evidence]
        return ([f"held at {self.score:.1f}: the factor {'fails' if self.status == 'fail' else 'warns'}"]
                if self.capped and self.score is not None else []) + lines


@dataclass
class Overall:
    score: float | None
    letter: str | None
    status: Status
    factors_scored: int
    worst: list[str] = field(default_factory=list)  # the failing (else warned) factors, worst first
    worst_fail: bool = False  # the worst factors fail (else they only warn)

    @property
    def headline(self) -> str:
        """The verdict in words, naming the worst factors rather than the mean alone."""
        if self.status == "no evidence":
            return ("no evidence: the code uses model or agent libraries, but the analysis could not "
                    "follow any model call, agent or loop to judge")
        if self.status == "n/a":
            return "n/a: no agent code found to score"
        if not self.worst:
            return self.status
        verb = "fails" if len(self.worst) == 1 else "fail"
        if self.status == "warn" and not self.worst_fail:
            verb = "warns" if len(self.worst) == 1 else "warn"
        return f"{self.status}: {', '.join(self.worst)} {verb}"


@dataclass
class Scorecard:
    factors: list[FactorScore]
    security: FactorScore
    overall: Overall
    app_files: int  # files scored (application code)
    excluded_files: int  # test and example files: scanned, listed, not scored


@dataclass
class Inventory:
    """Every agent-related place found in application code, by kind (see ``Site.kind``)."""

    agents: list[Site] = field(default_factory=list)
    llm_calls: list[Site] = field(default_factory=list)  # direct model calls
    prompts: list[Site] = field(default_factory=list)
    tools: list[Site] = field(default_factory=list)
    loops: list[Site] = field(default_factory=list)
    handoffs: list[Site] = field(default_factory=list)
    retries: list[Site] = field(default_factory=list)
    state: list[Site] = field(default_factory=list)  # checkpointers, memory, approval, interrupts
    entry_points: list[Site] = field(default_factory=list)
    # Calls named like a model call (``generate``, ``ainvoke``) whose receiver the engine could not
    # follow to a project function or a known client: a registry, a plugin, an untyped parameter.
    unresolved: list[Site] = field(default_factory=list)
    # Agents, model calls, loops and tools found in test and example code: listed, not judged.
    test_code: list[Site] = field(default_factory=list)
    models: dict[str, int] = field(default_factory=dict)  # model name -> call sites
    frameworks: dict[str, int] = field(default_factory=dict)  # framework -> agents and tools


@dataclass
class PlanItem:
    rank: int
    code: str
    name: str
    factor_key: str  # "F08" or "SEC"
    factor_title: str
    severity: str
    count: int  # findings this item fixes
    files: int
    gain: float  # overall score points gained when every finding of this rule is fixed
    factor_gain: float  # the same for the rule's own factor score
    effort: Effort
    autofix: bool  # `factorlint check --fix` applies it
    advice: str  # the concrete change, in words
    before: str  # the code as it is, from the first finding
    before_location: str  # path:line of that code
    after: str  # what it looks like fixed (the rule's "Use instead" example), when no diff is
    locations: list[str] = field(default_factory=list)  # path:line of every finding
    # The change `factorlint check --fix` (with --unsafe-fixes for an unsafe fix) makes at the
    # first finding that has one, as a unified diff of the user's own file; "" without a fix.
    diff: str = ""


@dataclass
class GateResult:
    """One gate (`--fail-under`, `--fail-on`) and whether the code passed it."""

    label: str  # "overall >= 7.5", "F08 >= 8", "no error findings"
    passed: bool
    detail: str  # what was measured: "6.2", "n/a: no sites", "3 errors"


@dataclass
class Audit:
    report: Report
    scorecard: Scorecard
    inventory: Inventory
    plan: list[PlanItem]
    gates: list[GateResult] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # factorlint, rule set, frameworks found
    change: AuditChange | None = None  # with --diff-base: each factor before and after the change

    @property
    def gates_passed(self) -> bool:
        return all(g.passed for g in self.gates)
