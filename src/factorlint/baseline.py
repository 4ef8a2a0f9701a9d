"""Baselines: adopt factorlint on a legacy codebase today and fail only on what is new.

``check --write-baseline FILE`` records the current findings; ``check --baseline FILE`` reports
and fails only on findings the file does not hold, and lists the entries nothing matches any more
as fixed.

A finding matches an entry by its fingerprint (rule, path, the flagged code and its occurrence in
the file: lines added above it change nothing), else by the same key without the path (the file
was moved or renamed within the project). Each entry matches at most one finding, so a second
copy of a known violation is new.

The file is JSON, sorted by path and line so that it diffs well in review. It is read as data: at
most :data:`MAX_BYTES`, every field checked, and a file that does not hold a baseline is a usage
error naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factorlint.model import Finding

FORMAT = 1
MAX_BYTES = 64 * 1024 * 1024


class BaselineError(Exception):
    """The baseline file cannot be used: one line naming the file and what is wrong."""


class BaselineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    code: str = Field(min_length=1, max_length=32)
    path: str = Field(max_length=4096)
    fingerprint: str = Field(min_length=1, max_length=128)
    content: str = Field(min_length=1, max_length=128)  # the fingerprint's key without the path
    line: int = Field(ge=1)
    message: str = Field(max_length=100_000)


class BaselineFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    factorlint_baseline: int
    findings: list[BaselineEntry]


@dataclass
class BaselineOutcome:
    """What a baseline made of a run's findings."""

    new: list[Finding] = field(default_factory=list)
    known: list[Finding] = field(default_factory=list)
    fixed: list[BaselineEntry] = field(default_factory=list)


def content_keys(findings: list[Finding]) -> dict[int, str]:
    """id(finding) -> the rule, the flagged code and its occurrence among the file's findings of
    that rule and code: what the fingerprint hashes, less the path."""
    seen: dict[tuple[str, str, str], int] = defaultdict(int)
    keys: dict[int, str] = {}
    for finding in sorted(findings, key=lambda f: (f.path, f.line, f.column, f.code)):
        occurrence = seen[(finding.path, finding.code, finding.snippet)]
        seen[(finding.path, finding.code, finding.snippet)] += 1
        text = f"{finding.code}|{finding.snippet}|{occurrence}".encode("utf-8", "surrogateescape")
        keys[id(finding)] = hashlib.sha256(text).hexdigest()[:16]
    return keys


def baseline_text(findings: list[Finding]) -> str:
    keys = content_keys(findings)
    entries = [
        {
            "code": f.code, "path": f.path, "fingerprint": f.fingerprint, "content": keys[id(f)],
            "line": f.line, "message": f.message,
        }
        for f in sorted(findings, key=lambda f: (f.path, f.line, f.column, f.code))
    ]
    data = {"factorlint_baseline": FORMAT, "findings": entries}
    # surrogateescape: a path of undecodable bytes round-trips through the file as those bytes.
    return json.dumps(data, indent=2, ensure_ascii=True) + "\n"


def read_baseline(path: Path) -> list[BaselineEntry]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise BaselineError(f"{path}: the baseline is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"{path}: not a baseline written by --write-baseline ({exc})") from None
    try:
        baseline = BaselineFile.model_validate(parsed)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise BaselineError(f"{path}: {key}: {error['msg']}") from None
    if baseline.factorlint_baseline != FORMAT:
        raise BaselineError(f"{path}: factorlint_baseline: format {baseline.factorlint_baseline} is not {FORMAT}")
    return baseline.findings


def apply_baseline(findings: list[Finding], entries: list[BaselineEntry]) -> BaselineOutcome:
    """Split ``findings`` into new and known ones, and list the entries nothing matched."""
    outcome = BaselineOutcome()
    by_fingerprint: dict[tuple[str, str], list[BaselineEntry]] = defaultdict(list)
    for entry in entries:
        by_fingerprint[(entry.code, entry.fingerprint)].append(entry)
    used: set[int] = set()
    unmatched: list[Finding] = []
    for finding in findings:
        candidates = by_fingerprint.get((finding.code, finding.fingerprint))
        if candidates:
            used.add(id(candidates.pop()))
            outcome.known.append(finding)
        else:
            unmatched.append(finding)
    # A file moved or renamed: the same rule, code and occurrence, at another path.
    by_content: dict[tuple[str, str], list[BaselineEntry]] = defaultdict(list)
    for entry in entries:
        if id(entry) not in used:
            by_content[(entry.code, entry.content)].append(entry)
    keys = content_keys(findings)
    for finding in unmatched:
        candidates = by_content.get((finding.code, keys[id(finding)]))
        if candidates:
            used.add(id(candidates.pop()))
            outcome.known.append(finding)
        else:
            outcome.new.append(finding)
    outcome.fixed = [entry for entry in entries if id(entry) not in used]
    return outcome


def with_baseline(report, entries: list[BaselineEntry], name: str):
    """``report`` with only its new findings, and what the baseline held back and no longer
    finds (``Report.baseline``)."""
    import dataclasses

    from factorlint.model import BaselineResult, FixedEntry

    outcome = apply_baseline(report.findings, entries)
    fixed = [FixedEntry(e.code, e.path, e.line, e.message) for e in outcome.fixed]
    return dataclasses.replace(report, findings=outcome.new, baseline=BaselineResult(name, len(outcome.known), fixed))
