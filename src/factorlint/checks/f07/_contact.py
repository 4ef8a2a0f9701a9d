"""Shared by the factor-7 rules: which calls only run under a condition, and what a console
prompt looks like in a message."""

from __future__ import annotations

import libcst as cst

from factorlint.engine.parse.walk import iter_children
from factorlint.engine.recognise.tools import component_role

_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def _conditional(root: cst.CSTNode) -> set[int]:
    """Calls that run only when a condition holds: in the body or ``else`` of an ``if``, a
    ``match`` case, an ``except`` handler, or a branch of a conditional expression. The test of an
    ``if`` at the top of the block runs every time, so calls in it are not conditional. Nested
    functions, classes and lambdas are not entered."""
    found: set[int] = set()
    stack: list[tuple[cst.CSTNode, bool]] = [(root, False)]
    while stack:
        node, conditional = stack.pop()
        if node is not root and isinstance(node, _SCOPES):
            continue
        if conditional and isinstance(node, cst.Call):
            found.add(id(node))
        if isinstance(node, (cst.If, cst.IfExp)):
            stack.append((node.test, conditional))
            branches = [node.body] + ([node.orelse] if node.orelse is not None else [])
            stack.extend((branch, True) for branch in branches)
        elif isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler, cst.MatchCase)):
            stack.append((node.body, True))
        else:
            stack.extend((child, conditional) for child in iter_children(node))
    return found


def conditional_calls(root: cst.CSTNode) -> set[int]:
    """ids of the calls under ``root`` (a loop body or a function) that run only conditionally."""
    return _conditional(root)


def is_console_input(ctx, qualname: str | None) -> bool:
    return component_role(ctx, qualname) == "console_input"


def console_label(qualname: str) -> str:
    """``input()``, ``click.confirm()``, ``Prompt.ask()``: how the reader wrote it."""
    parts = qualname.replace("()", "").split(".")
    if parts[0] == "builtins":
        return f"`{parts[-1]}()`"
    return f"`{'.'.join(parts[-2:])}()`"


def function_label(function: cst.FunctionDef | None) -> str:
    return f"`{function.name.value}`" if function is not None else "the module"
