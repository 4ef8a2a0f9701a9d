"""Small helpers about dotted names: module names of files, relative imports, attribute chains."""

from __future__ import annotations

import libcst as cst

from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.read.module_names import (
    absolute_module,
    module_name_for,  # noqa: F401 - re-exported
)


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def resolve_relative(node: cst.ImportFrom, package: str) -> str | None:
    """The absolute module an ``ImportFrom`` names ("" when relative beyond the top)."""
    module = dotted_name(node.module) if node.module is not None else None
    if node.module is not None and module is None:
        return None
    level = len(node.relative)
    if level == 0:
        return module
    return absolute_module(module, level, package)


def literal_string(node: cst.BaseExpression) -> str | None:
    """The value of a plain or implicitly concatenated string literal (not f-strings)."""
    if isinstance(node, cst.SimpleString):
        quick = _plain_string_value(node.value)
        if quick is not None:
            return quick
        try:
            value = node.evaluated_value
        except Exception:
            return None
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left = literal_string(node.left)
        right = literal_string(node.right)
        if left is None or right is None:
            return None
        return left + right
    return None


def _plain_string_value(token: str) -> str | None:
    """The value of a string token with no escapes to interpret, without ``ast.literal_eval``
    (which compiles the token, and every rule reads string literals)."""
    quote = token[-1:]
    if quote not in ("'", '"'):
        return None
    prefix_end = token.find(quote)
    prefix = token[:prefix_end].lower()
    if prefix not in ("", "u", "r"):
        return None  # bytes and f-strings go the long way
    body = token[prefix_end:]
    width = 3 if body[:3] in ("\'\'\'", '"""') else 1
    inner = body[width:-width]
    if (prefix != "r" and "\\" in inner) or "\r" in inner:
        return None  # escapes, or line ends the tokenizer would normalise
    return inner


def string_literal_text(node: cst.BaseExpression) -> str | None:
    """The literal text of a string, f-string or concatenation (f-string holes left out)."""
    if isinstance(node, cst.SimpleString):
        return literal_string(node)
    if isinstance(node, cst.FormattedString):
        return "".join(
            part.value for part in node.parts if isinstance(part, cst.FormattedStringText)
        )
    if isinstance(node, cst.ConcatenatedString):
        left = string_literal_text(node.left)
        right = string_literal_text(node.right)
        if left is None or right is None:
            return None
        return left + right
    return None


def paths_in(node: cst.CSTNode) -> set[str]:
    """Every Name/Attribute path read inside an expression, with its prefixes."""
    collect = _Paths()
    run_visitor(node, collect)
    return collect.found


class _Paths(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: set[str] = set()

    def visit_Attribute(self, attr: cst.Attribute) -> bool:
        path = dotted_name(attr)
        if path is not None:
            self.found.add(path)
            return False
        return True

    def visit_Name(self, name: cst.Name) -> None:
        self.found.add(name.value)


def call_reads(call: cst.Call) -> set[str]:
    """The paths a call reads: its arguments' and its receiver's (``history`` in
    ``trim(history)`` and in ``history.pop()``)."""
    read: set[str] = set()
    for arg in call.args:
        read |= paths_in(arg.value)
    if isinstance(call.func, cst.Attribute):
        receiver = dotted_name(call.func.value)
        if receiver:
            read.add(receiver)
    return read
