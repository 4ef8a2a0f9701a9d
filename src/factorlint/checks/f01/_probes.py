"""Shared by the factor-1 rules: the parts of a test that look into a string."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.semantic.names import literal_string

_PROBE_METHODS = frozenset({"startswith", "endswith", "find", "rfind", "count", "index", "__contains__"})
_REGEX_TESTS = frozenset({"re.search", "re.match", "re.fullmatch"})
_COMPILED_TESTS = frozenset({"search", "match", "fullmatch"})


def probes(ctx, test: cst.BaseExpression) -> Iterator[tuple[cst.CSTNode, cst.BaseExpression]]:
    """(probe, operand): the parts of a test that look into a string, and the string."""
    collect = _Probes(ctx)
    run_visitor(test, collect)
    return iter(collect.found)


class _Probes(cst.CSTVisitor):
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.found: list[tuple[cst.CSTNode, cst.BaseExpression]] = []

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_Comparison(self, node: cst.Comparison) -> None:
        operands = [node.left, *(c.comparator for c in node.comparisons)]
        for position, target in enumerate(node.comparisons):
            left, right = operands[position], operands[position + 1]
            operand = _compared(target.operator, left, right)
            if operand is not None:
                self.found.append((node, operand))

    def visit_Call(self, node: cst.Call) -> None:
        operand = _probed(self.ctx, node)
        if operand is not None:
            self.found.append((node, operand))


def _compared(op, left, right) -> cst.BaseExpression | None:
    if isinstance(op, (cst.Equal, cst.NotEqual)):
        if literal_string(right):
            return left
        if literal_string(left):
            return right
        return None
    if isinstance(op, (cst.In, cst.NotIn)):
        if isinstance(right, (cst.Tuple, cst.List, cst.Set)):
            if right.elements and all(literal_string(e.value) for e in right.elements):
                return left
            return None
        return right  # ``x in text``: a substring test
    return None


def _probed(ctx, call: cst.Call) -> cst.BaseExpression | None:
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in _PROBE_METHODS and call.args:
        return func.value
    qualname = ctx.qualname(func) or ""
    if qualname in _REGEX_TESTS:
        arg = keyword_arg(call, "string") or positional_arg(call, 1)
        return arg.value if arg is not None else None
    if qualname.startswith("re.compile().") and qualname.rsplit(".", 1)[-1] in _COMPILED_TESTS:
        arg = keyword_arg(call, "string") or positional_arg(call, 0)
        return arg.value if arg is not None else None
    return None
