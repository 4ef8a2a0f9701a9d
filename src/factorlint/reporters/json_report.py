"""The versioned JSON output: a pydantic model dump (schema_version 1, see conventions)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel

from factorlint import __version__
from factorlint.model import Report

SCHEMA_VERSION = 1


class JsonEdit(BaseModel):
    line: int
    column: int
    end_line: int
    end_column: int
    content: str


class JsonFix(BaseModel):
    applicability: Literal["safe", "unsafe", "display-only"]
    message: str
    edits: list[JsonEdit]


class JsonFinding(BaseModel):
    code: str
    name: str
    factor: Optional[int]
    severity: Literal["error", "warning", "advice"]
    confidence: Literal["high", "medium", "low"]
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fix: Optional[JsonFix]
    fingerprint: str
    suppressed: Optional[str] = None


class JsonDiagnostic(BaseModel):
    code: str
    path: str
    message: str
    line: Optional[int]
    column: Optional[int]


class JsonTool(BaseModel):
    name: str
    version: str


class JsonSummary(BaseModel):
    files: int
    lines: int
    findings: int
    suppressed: int
    diagnostics: int


class JsonReport(BaseModel):
    schema_version: int
    tool: JsonTool
    root: str
    summary: JsonSummary
    findings: list[JsonFinding]
    diagnostics: list[JsonDiagnostic]
    scorecard: Optional[dict] = None


def _finding(f) -> JsonFinding:
    fix = None
    if f.fix is not None:
        fix = JsonFix(
            applicability=f.fix.applicability,
            message=f.fix.message,
            edits=[JsonEdit(**e.__dict__) for e in f.fix.edits],
        )
    return JsonFinding(
        code=f.code, name=f.name, factor=f.factor, severity=f.severity, confidence=f.confidence,
        path=f.path, line=f.line, column=f.column, end_line=f.end_line, end_column=f.end_column,
        message=f.message, fix=fix, fingerprint=f.fingerprint, suppressed=f.suppressed,
    )


def build(report: Report, scorecard: Optional[dict] = None) -> JsonReport:
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
        scorecard=scorecard,
    )


def render(report: Report, scorecard: Optional[dict] = None, **_) -> str:
    return build(report, scorecard).model_dump_json(indent=2) + "\n"
