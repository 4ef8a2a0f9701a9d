"""The credential formats of the tables (``security.secret_patterns``), searched fast.

A format starts with a lookbehind (``(?<![A-Za-z0-9_-])sk-...``), which keeps the ``sk-`` of
``task-`` from reading as an OpenAI key. A lookbehind in front hides the format's first
characters from the regular-expression engine, so it tries every format at every position of a
text: 7.4 s over the 34 MB of the test corpus, most of the time the byte prefilter and TFS003's
screen of waiting tests spent. So the formats are searched in two steps:

1. The formats without their leading lookbehind, which begin with their own literal text
   (``sk-``, ``AIza``) and are searched about fifteen times faster. Every match of a format is a
   match of it without its lookbehind, at the same place: a text where none of these is found
   holds no key.
2. Only then the formats themselves, from where the first candidate starts (the lookbehind still
   reads the characters before it). No format can match before the leftmost candidate.

A table's pattern whose lookbehind cannot be taken off (it has none, or the rest does not
compile on its own) is searched as written: the answer is the same, only slower.
"""

from __future__ import annotations

import functools
import re


def without_leading_lookbehind(pattern: str) -> str:
    """``pattern`` without the lookbehind it starts with (``(?<!...)`` or ``(?<=...)``), or
    ``pattern`` itself when it starts with none, or when the lookbehind holds a capturing group
    (taking it off would renumber the groups a backreference names)."""
    if not pattern.startswith(("(?<!", "(?<=")):
        return pattern
    depth = 0
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if pattern.startswith("]", index + 1) or pattern.startswith("^]", index + 1):
                index += 2 if pattern[index + 1] == "]" else 3  # a leading "]" is literal
                continue
        elif char == "(":
            if depth and not pattern.startswith("?", index + 1):
                return pattern  # a capturing group inside the lookbehind
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pattern[index + 1:]
        index += 1
    return pattern  # unbalanced: left as written


class KeyFormats:
    """The compiled formats of one set of tables."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.each = tuple(re.compile(p) for p in patterns)
        self.combined = _joined(patterns)
        self.candidates = _joined(tuple(_searchable_alone(p) for p in patterns))

    def found_in(self, text: str) -> bool:
        """Whether some format matches somewhere in ``text``."""
        if self.candidates is None or self.combined is None:
            return any(pattern.search(text) for pattern in self.each)
        first = self.candidates.search(text)
        return first is not None and self.combined.search(text, first.start()) is not None


def _searchable_alone(pattern: str) -> str:
    rest = without_leading_lookbehind(pattern)
    try:
        re.compile(rest)
    except re.error:
        return pattern
    return rest


def _joined(patterns: tuple[str, ...]) -> re.Pattern | None:
    """One alternation of ``patterns`` (one pass over a text instead of one per format); None
    when there is none, or when they cannot be joined (a pattern with inline flags)."""
    if not patterns:
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns))
    except re.error:
        return None


@functools.lru_cache(maxsize=4)
def key_formats(knowledge) -> KeyFormats:
    return KeyFormats(tuple(spec.pattern for spec in knowledge.secret_patterns))


def has_key_format(text: str, knowledge) -> bool:
    """Whether a credential format of the tables matches somewhere in ``text``."""
    return key_formats(knowledge).found_in(text)
