"""Step limits a hand-written agent loop states (for TFA1002): ``for _ in range(N)``,
``while turn < N``, ``if steps >= N: break``."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from factorlint.engine.agents.agents_shape import int_value
from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.semantic.names import dotted_name

_ORDERED = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)


@dataclass(frozen=True)
class StepLimit:
    node: cst.BaseExpression  # the number, or the name holding it
    value: int
    via: str  # the name the number came through ("" for a literal)


def loop_step_limits(ctx, loop) -> list[StepLimit]:
    """The step limits a bounded agent loop states: ``range(N)``, ``while turn < N``, a guarded
    ``if steps >= N: break``."""
    from factorlint.engine.agents.loop_body import BodyScan

    limits: list[StepLimit] = []
    if isinstance(loop, cst.For):
        limit = _range_limit(ctx, loop.iter)
        if limit is not None:
            limits.append(limit)
    scan = BodyScan()
    run_visitor(loop.body, scan)
    steppers = _unit_counters(loop.body)
    if isinstance(loop, cst.For):
        target = loop.target
        if isinstance(target, cst.Tuple) and target.elements:  # ``for i, x in enumerate(...)``
            target = target.elements[0].value
        if dotted_name(target):
            steppers.add(dotted_name(target))
    tests = list(scan.exit_guards)
    if isinstance(loop, cst.While):
        tests.insert(0, loop.test)
    for test in tests:
        for compare in _comparisons(test):
            if not any(isinstance(c.operator, _ORDERED) for c in compare.comparisons):
                continue
            operands = [compare.left, *(c.comparator for c in compare.comparisons)]
            names = [dotted_name(o) or "" for o in operands]
            if not any(n in steppers or _STEP_NAMES.search(n.rsplit(".", 1)[-1]) for n in names if n):
                continue
            for operand, name in zip(operands, names, strict=False):
                if name in steppers or (name and _STEP_NAMES.search(name.rsplit(".", 1)[-1]) and not name.isupper()
                                        and not name.rsplit(".", 1)[-1].startswith("max")):
                    continue
                found = int_value(ctx, operand)
                if found is not None:
                    limits.append(StepLimit(operand, found[0], found[1]))
                    break
    return limits


# Counters that count steps (not tokens, seconds or characters).
_STEP_NAMES = re.compile(
    r"(?i)(^|_)(steps?|turns?|iters?|iterations?|rounds?|loops?|cycles?|hops?|step_count|turn_count)($|_)"
)


def _unit_counters(body: cst.CSTNode) -> set[str]:
    """Names the body moves by exactly one: ``i += 1``, ``turn = turn + 1``."""
    collect = _UnitCounters()
    run_visitor(body, collect)
    return collect.found


class _UnitCounters(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: set[str] = set()

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)) and _is_one(node.value):
            path = dotted_name(node.target)
            if path:
                self.found.add(path)

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if (
            len(node.targets) == 1
            and isinstance(value, cst.BinaryOperation)
            and isinstance(value.operator, (cst.Add, cst.Subtract))
            and _is_one(value.right)
        ):
            path = dotted_name(node.targets[0].target)
            if path and dotted_name(value.left) == path:
                self.found.add(path)


def _is_one(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.value == "1"


def _range_limit(ctx, iterable: cst.BaseExpression) -> StepLimit | None:
    if not isinstance(iterable, cst.Call):
        return None
    qualname = ctx.qualname(iterable.func)
    if qualname == "builtins.enumerate" and iterable.args:
        return _range_limit(ctx, iterable.args[0].value)
    args = [a for a in iterable.args if a.keyword is None and not a.star]
    if qualname == "itertools.islice" and len(args) == 2:
        stop = args[1].value
        found = int_value(ctx, stop)
        return StepLimit(stop, found[0], found[1]) if found else None
    if qualname != "builtins.range" or not 1 <= len(args) <= 2:
        return None
    stop = args[-1].value
    found = int_value(ctx, stop)
    if found is None:
        return None
    start = int_value(ctx, args[0].value) if len(args) == 2 else (0, "")
    if start is None:
        return None
    return StepLimit(stop, found[0] - start[0], found[1])


def _comparisons(node: cst.CSTNode) -> list[cst.Comparison]:
    collect = _Comparisons()
    run_visitor(node, collect)
    return collect.found


class _Comparisons(cst.CSTVisitor):
    """The comparisons of an expression, outside its lambdas."""

    def __init__(self) -> None:
        self.found: list[cst.Comparison] = []

    def visit_Comparison(self, compare: cst.Comparison) -> None:
        self.found.append(compare)

    def visit_Lambda(self, node) -> bool:
        return False
