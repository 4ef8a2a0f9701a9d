"""The versioned JSON output: a pydantic model dump (schema_version 2, see conventions).

Strings carry the true data: a path or message from the scanned tree is not escaped for display
here but written by :func:`escape.json_text`, which keeps the text readable UTF-8 and writes only
what cannot be printed or encoded safely (DEL, C1 and bidirectional controls, line separators,
lone surrogates from undecodable file names) as ``\\uXXXX`` escapes that parse back to the
same string.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from factorlint import __version__
from factorlint.model import Report
from factorlint.reporters.escape import json_text

SCHEMA_VERSION = 2


class JsonEdit(BaseModel):
    line: int
    column: int
    end_line: int
    end_column: int
    content: str


class JsonMove(BaseModel):
    """A constant the fix moves to the project's prompts module (settled when applied)."""

    name: str
    value: str


class JsonFix(BaseModel):
    applicability: Literal["safe", "unsafe", "display-only"]
    message: str
    edits: list[JsonEdit]
    moves: list[JsonMove] = []


class JsonFinding(BaseModel):
    code: str
    name: str
    factor: int | None
    severity: Literal["error", "warning", "advice"]
    confidence: Literal["high", "medium", "low"]
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fix: JsonFix | None
    fingerprint: str
    suppressed: str | None = None
    cell: int | None = None  # in a notebook: the cell (1-based) whose lines line/end_line count


class JsonDiagnostic(BaseModel):
    code: str
    path: str
    message: str
    line: int | None
    column: int | None


class JsonTool(BaseModel):
    name: str
    version: str


class JsonSummary(BaseModel):
    files: int
    lines: int
    findings: int
    suppressed: int
    diagnostics: int


class JsonEvidence(BaseModel):
    label: str
    hits: int
    total: int


class JsonFactorScore(BaseModel):
    factor: int | None  # 1-13; null for agent security
    key: str  # F01..F13, SEC
    title: str
    score: float | None  # 0-10; null when nothing in the code touches the factor
    status: Literal["fail", "warn", "pass", "n/a", "no evidence"]
    letter: str | None
    sites: int
    findings: int  # counted findings
    hints: int  # low-confidence findings, not scored
    penalty: float
    capped: bool
    weight: float
    evidence: list[JsonEvidence]


class JsonOverall(BaseModel):
    score: float | None
    status: Literal["fail", "warn", "pass", "n/a", "no evidence"]
    headline: str  # the verdict in words, naming the worst factors
    worst: list[str]  # the failing (else warned) factors, worst first
    letter: str | None
    factors_scored: int


class JsonScorecard(BaseModel):
    factors: list[JsonFactorScore]
    security: JsonFactorScore
    overall: JsonOverall
    app_files: int
    excluded_files: int


class JsonSite(BaseModel):
    kind: str
    path: str
    line: int
    end_line: int
    label: str
    function: str
    detail: dict


class JsonPlanItem(BaseModel):
    rank: int
    code: str
    name: str
    factor: str
    severity: str
    count: int
    files: int
    gain: float
    factor_gain: float
    effort: str
    autofix: bool
    advice: str
    before: str
    before_location: str
    after: str
    locations: list[str]
    diff: str = ""  # the change --fix makes at the first finding, when the rule can fix it


class JsonGate(BaseModel):
    label: str
    passed: bool
    detail: str


class JsonFixedEntry(BaseModel):
    code: str
    path: str
    line: int
    message: str


class JsonBaseline(BaseModel):
    file: str
    known: int  # findings the baseline holds, left out of ``findings``
    fixed: list[JsonFixedEntry]  # its entries that nothing matches any more


class JsonDiffScope(BaseModel):
    revision: str  # as given to --diff-base
    commit: str  # the merge base of it and HEAD
    outside: int  # findings on lines the change did not touch, left out of ``findings``


class JsonFactorChange(BaseModel):
    key: str  # F01..F13, SEC, overall
    title: str
    before_status: str
    before_score: float | None
    after_status: str
    after_score: float | None
    worse: bool


class JsonChange(BaseModel):
    revision: str
    commit: str  # the merge base audited as "before"
    headline: str
    factors: list[JsonFactorChange]


class JsonReport(BaseModel):
    schema_version: int
    tool: JsonTool
    root: str
    summary: JsonSummary
    findings: list[JsonFinding]
    diagnostics: list[JsonDiagnostic]
    scorecard: JsonScorecard | None = None
    inventory: dict[str, list[JsonSite]] | None = None
    models: dict[str, int] | None = None
    fix_plan: list[JsonPlanItem] | None = None
    gates: list[JsonGate] | None = None
    versions: dict[str, str] | None = None
    baseline: JsonBaseline | None = None
    diff_base: JsonDiffScope | None = None
    change: JsonChange | None = None


def _finding(f) -> JsonFinding:
    fix = None
    if f.fix is not None:
        fix = JsonFix(
            applicability=f.fix.applicability,
            message=f.fix.message,
            edits=[JsonEdit(**e.__dict__) for e in f.fix.edits],
            moves=[JsonMove(name=m.name, value=m.value) for m in f.fix.moves],
        )
    return JsonFinding(
        code=f.code, name=f.name, factor=f.factor, severity=f.severity, confidence=f.confidence,
        path=f.path, line=f.line, column=f.column, end_line=f.end_line, end_column=f.end_column,
        message=f.message, fix=fix, fingerprint=f.fingerprint, suppressed=f.suppressed, cell=f.cell,
    )


def _factor_score(f) -> JsonFactorScore:
    return JsonFactorScore(
        factor=f.number, key=f.key, title=f.title, score=f.score, status=f.status, letter=f.letter,
        sites=f.sites, findings=len(f.findings), hints=len(f.hints), penalty=f.penalty, capped=f.capped,
        weight=f.weight, evidence=[JsonEvidence(label=e.label, hits=e.hits, total=e.total) for e in f.evidence],
    )


def _site(s) -> JsonSite:
    return JsonSite(kind=s.kind, path=s.path, line=s.line, end_line=s.end_line, label=s.label, function=s.function, detail=s.detail)


def build_audit_json(audit) -> JsonReport:
    card = audit.scorecard
    result = build(audit.report)
    result.scorecard = JsonScorecard(
        factors=[_factor_score(f) for f in card.factors], security=_factor_score(card.security),
        overall=JsonOverall(score=card.overall.score, status=card.overall.status, headline=card.overall.headline,
                            worst=list(card.overall.worst), letter=card.overall.letter,
                            factors_scored=card.overall.factors_scored),
        app_files=card.app_files, excluded_files=card.excluded_files,
    )
    inv = audit.inventory
    result.inventory = {
        name: [_site(s) for s in getattr(inv, name)]
        for name in (
            "agents", "llm_calls", "prompts", "tools", "loops", "handoffs", "retries", "state", "entry_points",
            "unresolved", "test_code",
        )
    }
    result.models = inv.models
    result.fix_plan = [
        JsonPlanItem(
            rank=i.rank, code=i.code, name=i.name, factor=i.factor_key, severity=i.severity, count=i.count,
            files=i.files, gain=i.gain, factor_gain=i.factor_gain, effort=i.effort, autofix=i.autofix,
            advice=i.advice, before=i.before, before_location=i.before_location, after=i.after, locations=i.locations,
            diff=i.diff,
        )
        for i in audit.plan
    ]
    result.gates = [JsonGate(label=g.label, passed=g.passed, detail=g.detail) for g in audit.gates]
    result.versions = audit.versions
    if audit.change is not None:
        change = audit.change
        result.change = JsonChange(
            revision=change.revision, commit=change.commit, headline=change.headline,
            factors=[
                JsonFactorChange(key=f.key, title=f.title, before_status=f.before_status, before_score=f.before_score,
                                 after_status=f.after_status, after_score=f.after_score, worse=f.worse)
                for f in change.factors
            ],
        )
    return result


def render_audit(audit, **_) -> str:
    return json_text(build_audit_json(audit).model_dump()) + "\n"


def build(report: Report) -> JsonReport:
    return JsonReport(
        schema_version=SCHEMA_VERSION,
        tool=JsonTool(name="factorlint", version=__version__),
        root=report.root,
        summary=JsonSummary(
            files=report.files_scanned, lines=report.lines_scanned, findings=len(report.findings),
            suppressed=len(report.suppressed), diagnostics=len(report.diagnostics),
        ),
        findings=[_finding(f) for f in report.findings],
        diagnostics=[JsonDiagnostic(code=d.code, path=d.path, message=d.message, line=d.line, column=d.column) for d in report.diagnostics],
        baseline=None if report.baseline is None else JsonBaseline(
            file=report.baseline.file, known=report.baseline.known,
            fixed=[JsonFixedEntry(code=e.code, path=e.path, line=e.line, message=e.message) for e in report.baseline.fixed],
        ),
        diff_base=None if report.diff_scope is None else JsonDiffScope(
            revision=report.diff_scope.revision, commit=report.diff_scope.commit, outside=report.diff_scope.outside,
        ),
    )


def render(report: Report, **_) -> str:
    return json_text(build(report).model_dump()) + "\n"
