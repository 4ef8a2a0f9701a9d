"""Except handlers: what a handler does with the error it caught.

Factor 9 rules ask whether a handler ends the loop (raise/return/break), catches everything,
only drops the error (pass, continue, a log line, a sleep), and what the surrounding agent loop
feeds back to the model, so that a fix can name it. Every answer comes from resolved names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst

from factorlint.engine.agents.loop_body import BodyScan, paths_in, related
from factorlint.engine.agents.loops import LoopInfo
from factorlint.engine.parse.walk import find_all, run_visitor

Handler = cst.ExceptHandler | cst.ExceptStarHandler

EVERYTHING = frozenset({"builtins.Exception", "builtins.BaseException"})
# Calls that only report or wait: a handler made of these (and pass/continue) drops the error.
_REPORTING_ROOTS = frozenset({"logging", "loguru", "structlog"})
_REPORTING = frozenset(
    {"builtins.print", "warnings.warn", "traceback.print_exc", "traceback.print_exception",
     "sys.stderr.write", "sys.stdout.write"}
)
_SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "trio.sleep", "anyio.sleep"})
# Exceptions that are control flow, not tool errors.
_CONTROL_FLOW = frozenset(
    {"builtins.KeyboardInterrupt", "builtins.SystemExit", "builtins.GeneratorExit",
     "builtins.StopIteration", "builtins.StopAsyncIteration", "asyncio.CancelledError"}
)


def statements_of(block: cst.BaseSuite) -> list:
    return list(block.body) if isinstance(block, cst.IndentedBlock) else [block]


def leaves(block: cst.BaseSuite) -> bool:
    """Does the block end the loop whatever happens (a top-level raise/return/break)?"""
    for statement in statements_of(block):
        if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) and any(
            isinstance(s, (cst.Raise, cst.Return, cst.Break)) for s in statement.body
        ):
            return True
    return False


def leaves_on_some_path(block: cst.BaseSuite) -> bool:
    """Does the handler raise or return on some path (``if transient(e): ... else: raise``)?
    Then it sorts the errors it catches rather than retrying them all."""
    return bool(find_all(block, (cst.Raise, cst.Return), into_scopes=False))


def exception_types_everything(ctx, value, everything: Iterable[str] = EVERYTHING) -> bool:
    """``Exception``, ``BaseException``, or a tuple holding one of them."""
    if isinstance(value, (cst.Tuple, cst.List)):
        return any(exception_types_everything(ctx, e.value, everything) for e in value.elements)
    return ctx.qualname(value) in set(everything)


def catches_everything(ctx, handler: Handler) -> bool:
    """``except:``, ``except Exception:``, ``except (ValueError, BaseException):``."""
    return handler.type is None or exception_types_everything(ctx, handler.type)


def caught_label(ctx, handler: Handler) -> str:
    keyword = "except*" if isinstance(handler, cst.ExceptStarHandler) else "except"
    return f"`{keyword}:`" if handler.type is None else f"`{keyword} {ctx.code_for(handler.type)}:`"


def drops_error(ctx, handler: Handler) -> str | None:
    """What the handler does when all it does is drop the error ("logs and continues"), else None.

    Control-flow exceptions (``StopIteration``, ``KeyboardInterrupt``, ...) are not errors.
    """
    if handler.type is not None:
        types = handler.type.elements if isinstance(handler.type, cst.Tuple) else None
        elements = [e.value for e in types] if types is not None else [handler.type]
        if all(ctx.qualname(e) in _CONTROL_FLOW for e in elements):
            return None
    actions: list[str] = []
    for statement in statements_of(handler.body):
        if not isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            return None
        for small in statement.body:
            action = _action(ctx, small)
            if action is None:
                return None
            if action and action not in actions:
                actions.append(action)
    actions = actions or ["passes"]
    return " and ".join(actions) if len(actions) < 3 else ", ".join(actions[:-1]) + " and " + actions[-1]


# What a tool hands back when it hides the error: nothing, or a word that says only "it failed".
_GENERIC_REPLY = re.compile(
    r"(?i)^\s*((an?\s+)?(unknown\s+|unexpected\s+)?(error|failure|failed|exception)(\s+occurred)?|"
    r"something went wrong|n/?a|none|null)?\s*[.!]?\s*$"
)


def hides_error(ctx, handler: Handler) -> str | None:
    """What a handler that catches everything does when all it does is drop the error or hand
    back a generic value (``return ""``, ``return None``, ``return "error"``), else None. In a
    tool's body that value is all the model sees of the failure."""
    if not catches_everything(ctx, handler):
        return None
    dropped = drops_error(ctx, handler)
    if dropped is not None:
        return dropped
    statements = statements_of(handler.body)
    actions: list[str] = []
    for position, statement in enumerate(statements):
        if not isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            return None
        for small in statement.body:
            if isinstance(small, cst.Return) and position == len(statements) - 1:
                returned = _generic_value(small.value)
                if returned is None:
                    return None
                actions.append(f"returns {returned}")
                continue
            action = _action(ctx, small)
            if action is None:
                return None
            if action and action not in actions:
                actions.append(action)
    return " and ".join(actions) if actions and actions[-1].startswith("returns") else None


def _generic_value(value: cst.BaseExpression | None) -> str | None:
    """``None``, an empty container or a string that only says "error", as shown in a message."""
    if value is None:
        return "nothing"
    if isinstance(value, cst.Name) and value.value in ("None", "False"):
        return f"`{value.value}`"
    if isinstance(value, (cst.List, cst.Dict, cst.Tuple)) and not value.elements:
        return "an empty value"
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        if isinstance(text, str) and _GENERIC_REPLY.match(text):
            return f'"{text}"' if text else "an empty string"
    return None


def _action(ctx, small: cst.BaseSmallStatement) -> str | None:
    if isinstance(small, cst.Pass):
        return "passes"
    if isinstance(small, cst.Continue):
        return "continues"
    if not isinstance(small, cst.Expr):
        return None
    value = small.value.expression if isinstance(small.value, cst.Await) else small.value
    if isinstance(value, (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString)):
        return ""
    if not isinstance(value, cst.Call):
        return None
    qualname = ctx.qualname(value.func) or ""
    if qualname in _SLEEPS:
        return "sleeps"
    if qualname in _REPORTING or qualname.split(".", 1)[0] in _REPORTING_ROOTS:
        return "logs"
    return None


def feedback_path(info: LoopInfo) -> str | None:
    """The history an agent loop feeds back to the model (``messages``, ``self.history``)."""
    scan = BodyScan()
    run_visitor(info.node.body, scan)
    for llm in info.llm_calls:
        read: set[str] = set()
        for arg in llm.node.args:
            read |= paths_in(arg.value)
        for path in sorted(scan.mutated):
            if any(related(r, path) for r in read):
                return path
    return None
