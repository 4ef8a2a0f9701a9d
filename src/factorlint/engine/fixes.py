"""Applying fixes: edits to text, checked to parse, written atomically.

A file is written only under ``--fix``, only when the edited text still parses, and through a
temporary file in the same folder renamed over the original (``os.replace``), so an interrupted
run leaves either the old file or the new one, never half of each. A read-only file is reported,
never forced.
"""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import libcst as cst

from factorlint.engine.source import decode_source
from factorlint.model import Edit, Finding


@dataclass
class FixOutcome:
    path: str
    applied: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)  # overlapping edits: next run
    error: Optional[str] = None
    original: str = ""
    fixed: str = ""


def fixable(findings: Iterable[Finding], unsafe: bool) -> list[Finding]:
    allowed = {"safe", "unsafe"} if unsafe else {"safe"}
    return [f for f in findings if f.fix is not None and f.fix.edits and f.fix.applicability in allowed]


def _offsets(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _offset(starts: list[int], text: str, line: int, column: int) -> int:
    if line - 1 >= len(starts):
        return len(text)
    return min(starts[line - 1] + column - 1, len(text))


def apply_edits(text: str, findings: list[Finding]) -> tuple[str, list[Finding], list[Finding]]:
    """Apply each finding's edits, last first; a finding whose edits overlap an applied one waits."""
    starts = _offsets(text)
    spans: list[tuple[int, int, Edit, Finding]] = []
    for finding in findings:
        for edit in finding.fix.edits:
            start = _offset(starts, text, edit.line, edit.column)
            end = _offset(starts, text, edit.end_line, edit.end_column)
            spans.append((start, end, edit, finding))
    applied: list[Finding] = []
    skipped: list[Finding] = []
    taken: list[tuple[int, int]] = []
    by_finding: dict[int, list[tuple[int, int, Edit]]] = {}
    for start, end, edit, finding in spans:
        by_finding.setdefault(id(finding), []).append((start, end, edit))
    chosen: list[tuple[int, int, Edit]] = []
    for finding in sorted(findings, key=lambda f: (f.line, f.column)):
        edits = by_finding.get(id(finding), [])
        if any(s < e2 and s2 < e or (s == e == s2 == e2) for s, e, _ in edits for s2, e2 in taken):
            skipped.append(finding)
            continue
        taken.extend((s, e) for s, e, _ in edits)
        chosen.extend(edits)
        applied.append(finding)
    for start, end, edit in sorted(chosen, key=lambda item: (item[0], item[1]), reverse=True):
        text = text[:start] + edit.content + text[end:]
    return text, applied, skipped


def unified_diff(path: str, before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile=f"a/{path}", tofile=f"b/{path}",
        )
    )


def fix_file(disk_path: Path, relative: str, findings: list[Finding], *, write: bool) -> FixOutcome:
    outcome = FixOutcome(relative)
    try:
        data = disk_path.read_bytes()
    except OSError as exc:
        outcome.error = f"cannot be read: {exc.strerror or exc}"
        return outcome
    decoded = decode_source(data)
    if decoded.text is None:
        outcome.error = decoded.error
        return outcome
    original = decoded.text
    fixed, applied, skipped = apply_edits(original, findings)
    outcome.original, outcome.fixed, outcome.applied, outcome.skipped = original, fixed, applied, skipped
    if fixed == original:
        return outcome
    try:
        cst.parse_module(fixed)
    except (cst.ParserSyntaxError, RecursionError):
        outcome.error = "the fixed file would not parse; left unchanged"
        outcome.applied, outcome.fixed = [], original
        return outcome
    if write:
        error = write_atomically(disk_path, fixed, data)
        if error:
            outcome.error = error
            outcome.applied, outcome.fixed = [], original
    return outcome


def _encoding_of(data: bytes) -> str:
    import io
    import tokenize

    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:
        return "utf-8"


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def write_atomically(path: Path, text: str, original_bytes: bytes) -> Optional[str]:
    """Write ``text`` over ``path`` via a temporary file and a rename; None on success."""
    if not _writable(path):
        return "is read-only; not fixed"
    encoding = _encoding_of(original_bytes)
    bom = original_bytes.startswith(b"\xef\xbb\xbf") and encoding == "utf-8-sig"
    try:
        payload = text.encode("utf-8" if bom else encoding)
        if bom:
            payload = b"\xef\xbb\xbf" + payload
    except UnicodeEncodeError as exc:
        return f"the fix cannot be encoded as {encoding}: {exc.reason}"
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".factorlint", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
    except OSError as exc:
        return f"cannot be written: {exc.strerror or exc}"
    return None
