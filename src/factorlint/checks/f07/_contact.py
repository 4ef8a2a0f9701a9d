"""Shared by the factor-7 rules: which calls only run under a condition, and what a console
prompt looks like in a message."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from factorlint.engine.tools import component_role


class _Conditional(cst.CSTVisitor):
    """Calls that run only when a condition holds: in the body or ``else`` of an ``if``, a
    ``match`` case, an ``except`` handler, or a branch of a conditional expression. The test of
    an ``if`` at the top of the block runs every time, so calls in it are not conditional."""

    def __init__(self, root: cst.CSTNode) -> None:
        self.root = root
        self.depth = 0
        self.found: set[int] = set()

    def _nested(self, node) -> bool:
        return node is self.root

    visit_FunctionDef = _nested
    visit_ClassDef = _nested
    visit_Lambda = _nested

    def _enter(self, node) -> None:
        self.depth += 1

    def _leave(self, node) -> None:
        self.depth -= 1

    visit_If_body = visit_If_orelse = visit_MatchCase_body = visit_ExceptHandler_body = _enter
    leave_If_body = leave_If_orelse = leave_MatchCase_body = leave_ExceptHandler_body = _leave
    visit_ExceptStarHandler_body = visit_IfExp_body = visit_IfExp_orelse = _enter
    leave_ExceptStarHandler_body = leave_IfExp_body = leave_IfExp_orelse = _leave

    def visit_Call(self, node: cst.Call) -> None:
        if self.depth:
            self.found.add(id(node))


def conditional_calls(ctx, root: cst.CSTNode) -> set[int]:
    """ids of the calls under ``root`` (a loop body or a function) that run only conditionally."""
    cache = ctx.__dict__.setdefault("_f07_conditional", {})
    found = cache.get(id(root))
    if found is None:
        visitor = _Conditional(root)
        root.visit(visitor)
        found = cache[id(root)] = visitor.found
    return found


def is_console_input(ctx, qualname: Optional[str]) -> bool:
    return component_role(ctx, qualname) == "console_input"


def console_label(qualname: str) -> str:
    """``input()``, ``click.confirm()``, ``Prompt.ask()``: how the reader wrote it."""
    parts = qualname.replace("()", "").split(".")
    if parts[0] == "builtins":
        return f"`{parts[-1]}()`"
    return f"`{'.'.join(parts[-2:])}()`"


def function_label(function: Optional[cst.FunctionDef]) -> str:
    return f"`{function.name.value}`" if function is not None else "the module"
