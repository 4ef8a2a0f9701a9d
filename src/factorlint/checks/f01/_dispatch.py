"""Shared by the factor-1 rules: the shapes of a dispatch (if/elif chains, match statements)."""

from __future__ import annotations

import libcst as cst

from factorlint.engine.semantic.names import dotted_name, literal_string

_LOOKUP_ERRORS = frozenset(
    {"builtins.KeyError", "builtins.LookupError", "builtins.Exception", "builtins.BaseException"}
)
_SAFE_MAPPINGS = frozenset({"collections.defaultdict"})


def literal_comparison(test: cst.BaseExpression) -> tuple[cst.BaseExpression, int] | None:
    """(key, number of literals) for ``key == "a"`` / ``key in ("a", "b")``."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    left, right = test.left, target.comparator
    if isinstance(target.operator, cst.Equal):
        if literal_string(right) is not None:
            return left, 1
        if literal_string(left) is not None:
            return right, 1
        return None
    if isinstance(target.operator, cst.In) and isinstance(right, (cst.Tuple, cst.List, cst.Set)):
        if right.elements and all(literal_string(e.value) is not None for e in right.elements):
            return left, len(right.elements)
    return None


def leaves(block: cst.BaseSuite) -> bool:
    statements = block.body if isinstance(block, cst.IndentedBlock) else [block]
    if not statements:
        return False
    last = statements[-1]
    return isinstance(last, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) and any(
        isinstance(s, (cst.Return, cst.Raise, cst.Continue, cst.Break)) for s in last.body
    )


def irrefutable(pattern: cst.MatchPattern) -> bool:
    if isinstance(pattern, cst.MatchAs):
        return pattern.pattern is None or irrefutable(pattern.pattern)
    if isinstance(pattern, cst.MatchOr):
        return any(irrefutable(p.pattern) for p in pattern.patterns)
    return False


def literal_pattern(pattern: cst.MatchPattern) -> bool:
    if isinstance(pattern, cst.MatchValue):
        return literal_string(pattern.value) is not None
    if isinstance(pattern, cst.MatchOr):
        return all(literal_pattern(p.pattern) for p in pattern.patterns)
    return False


def catches_lookup(ctx, handler: cst.ExceptHandler) -> bool:
    """``except:``, ``except KeyError:`` (or LookupError, Exception, BaseException)."""
    if handler.type is None:
        return True
    types = handler.type.elements if isinstance(handler.type, cst.Tuple) else None
    values = [e.value for e in types] if types is not None else [handler.type]
    return any(ctx.qualname(v) in _LOOKUP_ERRORS for v in values)


def safe_mapping(ctx, value: cst.BaseExpression) -> bool:
    qualname = ctx.qualname(value) or ""
    return qualname.endswith("()") and qualname[:-2] in _SAFE_MAPPINGS


def guarded(ctx, mapping: str, key_code: str) -> bool:
    """``key in mapping`` / ``mapping.get(key)`` anywhere in the function."""
    flow = ctx.current_flow()
    for compare in flow.comparisons:
        operands = [compare.left, *(c.comparator for c in compare.comparisons)]
        for position, target in enumerate(compare.comparisons):
            if isinstance(target.operator, (cst.In, cst.NotIn)) and dotted_name(
                operands[position + 1]
            ) == mapping and _code(ctx, operands[position]) == key_code:
                return True
    for call in flow.calls:
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("get", "pop", "setdefault")
            and dotted_name(func.value) == mapping
            and call.args
            and _code(ctx, call.args[0].value) == key_code
        ):
            return True
    return False


def _code(ctx, node: cst.CSTNode) -> str:
    return " ".join(ctx.code_for(node).split())
