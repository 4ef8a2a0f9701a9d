"""``check --add-noqa``: a suppression comment for every current finding, so a legacy codebase can
adopt the gate today and pay the debt down file by file.

Each flagged line gets ``# factorlint: ignore[CODE, ...] -- TODO: why this is acceptable`` at its
end, before the line break, with everything else on the line as it was. Where a comment cannot
go at the end of the line (the line ends inside a multi-line string, or is continued with a
backslash), it goes alone on the line above, with the line's indentation: the engine reads both
places. A finding whose line starts inside a string is left alone: no comment can silence it
without changing the string.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections import defaultdict
from dataclasses import dataclass

from factorlint.model import Finding

REASON = "TODO: why this is acceptable"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A physical line as the tokenizer and the engine count them (not str.splitlines, which also
# breaks at form feeds and Unicode separators).
_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass
class NoqaResult:
    text: str
    added: int  # comments written
    skipped: list[Finding]  # findings no comment can silence


def add_noqa(text: str, findings: list[Finding]) -> NoqaResult:
    codes: dict[int, set[str]] = defaultdict(set)
    for finding in findings:
        codes[finding.line].add(finding.code)
    lines = _PHYSICAL_LINE.findall(text)
    starts_in_string, ends_in_string = _string_lines(text)
    skipped: list[Finding] = []
    above: dict[int, str] = {}
    added = 0
    for number in sorted(codes):
        if number < 1 or number > len(lines):
            skipped.extend(f for f in findings if f.line == number)
            continue
        comment = f"# factorlint: ignore[{', '.join(sorted(codes[number]))}] -- {REASON}"
        line = lines[number - 1]
        body = _LINE_BREAK.sub("", line)
        ending = line[len(body):]
        if number in starts_in_string or not body.strip():
            skipped.extend(f for f in findings if f.line == number)
            continue
        if number in ends_in_string or body.rstrip().endswith("\\"):
            indent = body[: len(body) - len(body.lstrip())]
            above[number] = f"{indent}{comment}{ending or _first_break(text)}"
        else:
            separator = "" if body.endswith((" ", "\t")) else "  "
            lines[number - 1] = f"{body}{separator}{comment}{ending}"
        added += 1
    out = []
    for number, line in enumerate(lines, 1):
        if number in above:
            out.append(above[number])
        out.append(line)
    return NoqaResult("".join(out), added, skipped)


def _first_break(text: str) -> str:
    match = _LINE_BREAK.search(text)
    return match.group() if match else "\n"


def _string_lines(text: str) -> tuple[set[int], set[int]]:
    """Lines that start inside a string token, and lines that end inside one (or inside an
    f-string's parts, which tokenize reports as several tokens from Python 3.12 on)."""
    starts: set[int] = set()
    ends: set[int] = set()
    open_fstrings: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind = token.type
            if kind == getattr(tokenize, "FSTRING_START", -1):
                open_fstrings.append(token.start[0])
                continue
            if kind == getattr(tokenize, "FSTRING_END", -1) and open_fstrings:
                first = open_fstrings.pop()
                _span(first, token.end[0], starts, ends)
                continue
            if kind == tokenize.STRING:
                _span(token.start[0], token.end[0], starts, ends)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return starts, ends


def _span(first: int, last: int, starts: set[int], ends: set[int]) -> None:
    for number in range(first, last):
        ends.add(number)
        starts.add(number + 1)


def write_noqa(report, max_bytes: int) -> tuple[int, int, list[str]]:
    """Write the comments for every finding of ``report``: each file atomically, only over the
    bytes that were analysed, and only when the result still parses. (comments added, files
    changed, one line for each thing that could not be done)."""
    import hashlib
    from pathlib import Path

    import libcst as cst

    from factorlint.engine.read.source import decode_source
    from factorlint.engine.run.fixes import write_atomically
    from factorlint.safe_read import ReadRefused, read_regular_file

    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_path[finding.path].append(finding)
    analysed = {f.path: f for f in report.files}
    added, files, problems = 0, 0, []
    for path, findings in sorted(by_path.items()):
        source = analysed.get(path)
        if source is None or not source.disk_path or not source.digest:
            problems.append(f"{path}: not read from a file")
            continue
        try:
            data = read_regular_file(source.disk_path, max_bytes)
        except ReadRefused as exc:
            problems.append(f"{path}: cannot be read: {exc}")
            continue
        decoded = decode_source(data)
        if hashlib.sha256(data).hexdigest() != source.digest or decoded.text is None:
            problems.append(f"{path}: changed since it was analysed")
            continue
        result = add_noqa(decoded.text, findings)
        try:
            cst.parse_module(result.text)
        except (cst.ParserSyntaxError, RecursionError):
            problems.append(f"{path}: the comments would not parse here; left unchanged")
            continue
        error = write_atomically(Path(source.disk_path), result.text, data) if result.added else None
        if error:
            problems.append(f"{path}: {error}")
            continue
        added += result.added
        files += bool(result.added)
        problems += [f"{path}:{f.line}: {f.code} starts inside a string; no comment can silence it" for f in result.skipped]
    return added, files, problems
