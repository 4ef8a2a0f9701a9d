"""What text LibCST's native parser must not be given, read from CPython's tree (or its tokens).

**The screen.** LibCST's native (Rust) parser recurses once per level of the tree it builds, on
the C stack, and a stack overflow is a segmentation fault that no ``except`` catches: one file
would take the whole run down. CPython's ``ast`` (built first, by the runner) guards its own
stack, but it is not the tree LibCST builds. ``a and b and ... and z`` is one flat ``BoolOp``
to CPython and a chain of nested ``BooleanOperation`` nodes to LibCST; the same holds for the
``for`` clauses of a comprehension and the dots of ``import a.b.c``. So :func:`refusal` derives,
from CPython's tree, the depth LibCST would build and refuses a file deeper than
:data:`MAX_DEPTH`. Measured with LibCST 1.9 on an 8 MiB stack: an ``and`` chain crashes at about
7,000 terms, ``from a.b...z import x`` at about 5,900 dots (about 1.4 KiB of stack a level);
and deep trees are slow as well as dangerous (a chain of 2,900 nested subscripts takes 17 s,
1,000 takes 0.8 s). 1,000 leaves real code alone: the deepest file of the 14 projects of the
test corpus is 52 levels, the deepest in the standard library and a large ``site-packages``
(generated SymPy tables) 568.

Match patterns are the other hazard: LibCST's grammar backtracks over nested patterns, so the
time doubles with each bracket of nesting and quadruples with each mapping pattern
(``case [[[...]]]`` 25 deep takes over a minute). CPython drops a pattern's grouping
parentheses, so the cost is read from the pattern's source text (:func:`_pattern_cost`), and a
file whose patterns together would cost more than :data:`MAX_PATTERN_COST` (under a second of
parsing) is refused.

When CPython cannot build a tree at all (a syntax error, or syntax newer than the running
interpreter, which LibCST may still read) the same bounds are taken, coarser, from the tokens
(:func:`_token_refusal`).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from itertools import accumulate
from typing import NamedTuple

# The deepest tree, in levels of CPython's tree with LibCST's extra nesting added, that is
# handed to LibCST (see the module docstring for the measurements behind it).
MAX_DEPTH = 1_000
# The most backtracking the match patterns of one file may cost, in units of about 1.6 µs of
# parser time (``case [[...[x]...]]`` 18 brackets deep is 2**18 units).
MAX_PATTERN_COST = 1 << 18


class Refusal(NamedTuple):
    """Why a file is not given to LibCST's parser, and the line it is about."""

    reason: str
    line: int


def refusal(text: str, tree: ast.Module | None) -> Refusal | None:
    """Why ``text`` must not be given to LibCST's native parser, or None when it is safe.

    ``tree`` is CPython's tree of ``text``, or None when CPython could not build one.
    """
    if tree is None:
        return _token_refusal(text)
    return _TreeScreen(text).run(tree)


def _too_deep(line: int) -> Refusal:
    return Refusal(f"nesting too deep to analyse safely (more than {MAX_DEPTH:,} levels)", line)


def _too_complex(line: int) -> Refusal:
    return Refusal("match patterns nested too deeply to analyse safely", line)


_NEWLINE = re.compile(r"\r\n?|\n")  # what ends a line for CPython's line numbers
_MATCH = re.compile(r"^[ \t]*match\b", re.MULTILINE)
# Statements whose body may hold a ``match``; everything else is an expression or a simple
# statement, whose depth its length bounds.
_COMPOUND = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While,
    ast.With, ast.AsyncWith, ast.Try, ast.Match, getattr(ast, "TryStar", ast.Try),
)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


class _TreeScreen:
    """One pass over CPython's tree: LibCST's depth, and the cost of every match pattern.

    A subtree cannot be deeper than a few levels per character of its source, so a node whose
    source is short enough for its position is not entered: most statements of a file are
    skipped whole, and the pass costs a small fraction of the parse it guards.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        # The length of the first n lines without their line ends, for the span of a node (line
        # ends of any kind count as one character: they never add depth).
        lines = (text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text).split("\n")
        self.lengths = [0, *accumulate(map(len, lines))]
        self._starts: list[int] | None = None  # where each line starts, for pattern text
        # A ``match`` statement (whose patterns must be read) may be anywhere in a body.
        self.patterns = "match" in text and _MATCH.search(text) is not None
        self.cost = 0

    def run(self, tree: ast.Module) -> Refusal | None:
        lengths, patterns = self.lengths, self.patterns
        # (node, LibCST depth, the line of the node or of its nearest ancestor with one)
        stack: list[tuple[ast.AST, int, int]] = [(tree, 0, 1)]
        pop, push = stack.pop, stack.append
        while stack:
            node, depth, line = pop()
            end = getattr(node, "end_lineno", None)
            if end is not None:
                line = node.lineno  # type: ignore[attr-defined]
                if not (patterns and isinstance(node, _COMPOUND)):
                    # Each level of the tree takes at least one character of source (three
                    # levels are allowed, for the wrappers without text: ``Expr``,
                    # ``arguments``, ...); column offsets are in bytes, which only makes the
                    # bound larger.
                    span = lengths[end - 1] - lengths[line - 1] + end - line + node.end_col_offset  # type: ignore[attr-defined]
                    if depth + 3 * span + 8 <= MAX_DEPTH:
                        continue
            if depth > MAX_DEPTH:
                return _too_deep(line)
            kind = type(node)
            step = 1
            if kind is ast.BoolOp:
                step = len(node.values)  # type: ignore[attr-defined]  # nested in LibCST
            elif kind is ast.Import or kind is ast.ImportFrom:
                names = [alias.name for alias in node.names]  # type: ignore[attr-defined]
                dots = max(name.count(".") for name in [*names, getattr(node, "module", None) or ""])
                if depth + dots + 2 > MAX_DEPTH:  # ``import a.b.c`` is a chain of attributes
                    return _too_deep(line)
                continue
            elif kind in _COMPREHENSIONS:
                # LibCST nests each ``for`` clause inside the one before it.
                for number, clause in enumerate(node.generators):  # type: ignore[attr-defined]
                    push((clause, depth + 1 + number, line))
            elif kind is ast.match_case:
                refused = self._pattern(node.pattern)  # type: ignore[attr-defined]
                if refused is not None:
                    return refused
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, ast.AST):
                    push((value, depth + step, line))
                elif type(value) is list and name != "generators":
                    for item in value:
                        if isinstance(item, ast.AST):
                            push((item, depth + step, line))
        return None

    def _pattern(self, pattern: ast.AST) -> Refusal | None:
        line, end = pattern.lineno, pattern.end_lineno  # type: ignore[attr-defined]
        text = self.text
        if self._starts is None:
            self._starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
        starts = self._starts
        first = text[starts[line - 1] : starts[line] if line < len(starts) else len(text)]
        column = len(first.encode("utf-8")[: pattern.col_offset].decode("utf-8", "replace"))  # type: ignore[attr-defined]
        last_start = starts[end - 1]
        last = text[last_start : starts[end] if end < len(starts) else len(text)]
        stop = len(last.encode("utf-8")[: pattern.end_col_offset].decode("utf-8", "replace"))  # type: ignore[attr-defined]
        begin, end = starts[line - 1] + column, last_start + stop
        # CPython leaves a pattern's outer grouping parentheses out of its range: ``(((x)))``.
        self.cost += _pattern_cost(text[begin:end]) << _wrapping(text, begin, end)
        return _too_complex(line) if self.cost > MAX_PATTERN_COST else None


def _wrapping(text: str, begin: int, end: int) -> int:
    """How many parentheses wrap ``text[begin:end]`` (only blanks may stand between them)."""
    left, index = 0, begin - 1
    while index >= 0 and text[index] in " \t\r\n\\(":
        left += text[index] == "("
        index -= 1
    right, index = 0, end
    while index < len(text) and text[index] in " \t\r\n\\)":
        right += text[index] == ")"
        index += 1
    return min(left, right)


def _pattern_cost(source: str) -> int:
    """The parser's backtracking over one pattern, from its text: each bracket doubles the cost
    of what it holds, each brace (a mapping pattern) quadruples it; siblings add up.

    Fitted to LibCST 1.9: ``[[...[x]...]]`` n deep costs 2**n (0.1 s at 16), ``{1: {1: ...}}``
    n deep 4**n, ``[[...], [...]]`` twice one of them, whatever the patterns hold otherwise.
    """
    stack = [[1, 0]]  # open groups: [factor, cost of what they hold so far]
    index, size = 0, len(source)
    while index < size:
        char = source[index]
        if char in "([{":
            stack.append([4 if char == "{" else 2, 0])
        elif char in ")]}":
            if len(stack) > 1:
                factor, inner = stack.pop()
                stack[-1][1] += factor * (1 + inner)
        elif char == "#":
            newline = source.find("\n", index)
            index = size if newline < 0 else newline
        elif char in "'\"":
            index = _string_end(source, index) - 1
        index += 1
    while len(stack) > 1:  # unbalanced text: count what was opened
        factor, inner = stack.pop()
        stack[-1][1] += factor * (1 + inner)
    return 1 + stack[0][1]


def _string_end(source: str, start: int) -> int:
    """The index after the string literal that starts with the quote at ``start``."""
    quote = source[start] * 3 if source.startswith(source[start] * 3, start) else source[start]
    index = start + len(quote)
    while index < len(source):
        if source[index] == "\\":
            index += 2
        elif source.startswith(quote, index):
            return index + len(quote)
        else:
            index += 1
    return len(source)


# Tokens that nest what follows them, for the coarse bound of :func:`_token_refusal`.
_NESTING_WORDS = frozenset({"and", "or", "not", "if", "else", "lambda", "await", "for", "in", "is", "yield", "async"})
_SEPARATORS = frozenset({",", ";", "="})


def _token_refusal(text: str) -> Refusal | None:
    """:func:`refusal` for text CPython could not parse, from its tokens.

    Within brackets, each comma-separated part is bounded by the operators and keywords in it
    plus its bracket groups and the deepest of them; a part deeper than :data:`MAX_DEPTH`, more
    brackets open than CPython allows (200), an ``elif`` chain longer than :data:`MAX_DEPTH`, or
    ``case`` patterns costing more than :data:`MAX_PATTERN_COST` refuse the file. If the text
    cannot even be tokenized, LibCST stops at the same place without building a tree.
    """
    # Open groups, the outermost being the logical line: [operators and keywords in the current
    # part, bracket groups in it, deepest of them, deepest part so far].
    groups: list[list[int]] = [[0, 0, 0, 0]]
    elifs: dict[int, int] = {}  # indentation level -> length of the ``elif`` chain there
    indent, line_start = 0, True
    pattern: list[str] | None = None  # the text of a ``case`` pattern being read
    pattern_line, cost = 0, 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, string, line = token.type, token.string, token.start[0]
            if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING):
                continue
            if kind == tokenize.INDENT:
                indent += 1
                continue
            if kind == tokenize.DEDENT:
                elifs.pop(indent, None)
                indent -= 1
                continue
            if line_start:
                line_start = False
                if string == "elif":
                    elifs[indent] = elifs.get(indent, 0) + 1
                    if elifs[indent] > MAX_DEPTH:
                        return _too_deep(line)
                elif string != "else":
                    elifs[indent] = 0
                if kind == tokenize.NAME and string == "case":
                    pattern, pattern_line = [], line
                    continue
            if pattern is not None and (kind == tokenize.NEWLINE or (string == ":" and len(groups) == 1)):
                cost += _pattern_cost(" ".join(pattern))
                if cost > MAX_PATTERN_COST:
                    return _too_complex(pattern_line)
                pattern = None
            elif pattern is not None:
                pattern.append(string)
            current = groups[-1]
            if kind == tokenize.NEWLINE:
                groups[:] = [[0, 0, 0, 0]]
                line_start = True
            elif kind == tokenize.OP and string in "([{":
                current[1] += 1
                groups.append([0, 0, 0, 0])
                if len(groups) > 201:
                    return Refusal("too many nested parentheses", line)
            elif kind == tokenize.OP and string in ")]}":
                if len(groups) > 1:
                    closed = groups.pop()
                    deepest = max(closed[3], closed[0] + closed[1] + closed[2]) + 1
                    groups[-1][2] = max(groups[-1][2], deepest)
            elif kind == tokenize.OP and string in _SEPARATORS:
                current[3] = max(current[3], current[0] + current[1] + current[2])
                current[0] = current[1] = current[2] = 0
            elif kind == tokenize.OP or (kind == tokenize.NAME and string in _NESTING_WORDS):
                current[0] += 1
            if groups[-1][0] + groups[-1][1] + groups[-1][2] > MAX_DEPTH:
                return _too_deep(line)
    except (tokenize.TokenError, SyntaxError):
        return None
    return None
