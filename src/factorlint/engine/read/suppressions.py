"""Suppression comments, read with ``tokenize`` (never from the syntax tree: far cheaper).

- ``# factorlint: ignore[TFA0801]`` on the flagged line, or alone on the line above it;
- ``# factorlint: ignore-file[TFA02]`` anywhere: the whole file, for that code or family;
- ``# noqa: TFA0801`` for familiarity. A code is required: a blanket ``# noqa`` (or one naming
  only other tools' codes) never silences factorlint.

An optional reason follows ``--``: ``# factorlint: ignore[TFA0802] -- bounded by the caller``.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

_DIRECTIVE = re.compile(
    r"factorlint:\s*(?P<kind>ignore-file|ignore)\[(?P<codes>[^\]]*)\](?:\s*--\s*(?P<reason>.*))?",
    re.IGNORECASE,
)
_NOQA = re.compile(r"noqa:\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)", re.IGNORECASE)
_OUR_CODE = re.compile(r"^TF[AS]\d*$")


@dataclass
class Suppression:
    line: int  # where the comment is
    column: int  # 1-based start of the comment
    end_column: int
    target_line: int  # the line it silences
    codes: tuple[str, ...]  # factorlint selectors only
    file_level: bool
    reason: str
    comment: str
    used: set[str] = field(default_factory=set)
    own_line: bool = False  # nothing but whitespace before the comment on its line
    space_before: int = 0  # 1-based column where the whitespace before the comment starts
    line_has_newline: bool = True

    def matches(self, code: str, line: int) -> bool:
        if not (self.file_level or line == self.target_line):
            return False
        return any(code.startswith(selector) for selector in self.codes)


def find_suppressions(text: str) -> list[Suppression]:
    if not _may_hold_suppression(text):
        return []
    found: list[Suppression] = []
    code_lines: list[int] = []
    comments: list[tuple[int, int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                comments.append((token.start[0], token.start[1], token.string))
            elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                    tokenize.DEDENT, tokenize.ENDMARKER):
                if not code_lines or code_lines[-1] != token.start[0]:
                    code_lines.append(token.start[0])
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return found
    code_line_set = set(code_lines)
    source_lines = io.StringIO(text).readlines()  # split as tokenize splits
    for line, column, comment in comments:
        suppression = _parse(comment, line, column)
        if suppression is None:
            continue
        source = source_lines[line - 1] if line <= len(source_lines) else ""
        before = source[:column]
        suppression.own_line = not before.strip()
        suppression.space_before = len(before.rstrip()) + 1
        suppression.line_has_newline = source.endswith(("\n", "\r"))
        if line not in code_line_set and not suppression.file_level:
            following = [n for n in code_lines if n > line]
            suppression.target_line = following[0] if following else line
        found.append(suppression)
    return found


def _may_hold_suppression(text: str) -> bool:
    """Whether the text holds a directive, or a ``noqa`` naming one of our codes, anywhere: the
    comments are part of the text, so a file without either is not tokenized. Most ``noqa``
    comments name other tools' codes (``# noqa: E501``)."""
    if "factorlint" not in text and "noqa" not in text.lower():
        return False
    if _DIRECTIVE.search(text):
        return True
    return any(
        _OUR_CODE.match(code.upper()) for found in _NOQA.finditer(text) for code in re.split(r"[\s,]+", found.group("codes"))
    )


def _parse(comment: str, line: int, column: int) -> Suppression | None:
    directive = _DIRECTIVE.search(comment)
    end = column + len(comment) + 1
    if directive is not None:
        codes = tuple(
            c.strip().upper() for c in directive.group("codes").split(",") if c.strip()
        )
        codes = tuple(c for c in codes if _OUR_CODE.match(c))
        if not codes:
            return None
        return Suppression(
            line, column + 1, end, line, codes, directive.group("kind").lower() == "ignore-file",
            (directive.group("reason") or "").strip(), comment,
        )
    noqa = _NOQA.search(comment)
    if noqa is not None:
        codes = tuple(
            c.upper() for c in re.split(r"[\s,]+", noqa.group("codes")) if _OUR_CODE.match(c.upper())
        )
        if codes:
            reason = comment.split("--", 1)[1].strip() if "--" in comment else ""
            return Suppression(line, column + 1, end, line, codes, False, reason, comment)
    return None


def without_codes(comment: str, codes: list[str]) -> str:
    """The comment with ``codes`` taken out (for the unused-suppression fix).

    Other tools' codes stay (``# noqa: E501, TFA0802`` becomes ``# noqa: E501``), and so does any
    other comment text (``# type: ignore  # factorlint: ignore[X]`` becomes ``# type: ignore``).
    Returns ``""`` when nothing of the comment is left.
    """
    drop = {code.upper() for code in codes}
    match = _DIRECTIVE.search(comment) or _NOQA.search(comment)
    if match is None:
        return comment
    listed = [c for c in re.split(r"[\s,]+", match.group("codes").strip()) if c]
    kept = [c for c in listed if c.upper() not in drop]
    if kept:
        start, end = match.span("codes")
        return comment[:start] + ", ".join(kept) + comment[end:]
    # Nothing left to suppress: drop the directive, its reason and the '#' that introduced it.
    before = comment[: match.start()].rstrip()
    before = before[:-1].rstrip() if before.endswith("#") else before
    after = comment[match.end():]
    if match.re is _NOQA:
        after = re.sub(r"^\s*--[^#]*", "", after)  # a noqa's reason
    after = after.strip()
    if after and not after.startswith("#"):
        after = "# " + after
    return "  ".join(part for part in (before, after) if part)
