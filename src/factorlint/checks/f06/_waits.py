"""Shared by the factor-6 rules: waits a process can block on, and what a polling loop polls."""

from __future__ import annotations

import re

import libcst as cst

from factorlint.engine.agents.loop_body import BodyScan, paths_in
from factorlint.engine.parse.walk import ScopeVisitor, run_visitor
from factorlint.engine.recognise import retries
from factorlint.engine.recognise.recognisers import keyword_arg
from factorlint.engine.semantic.names import dotted_name, literal_string

SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "trio.sleep", "anyio.sleep", "gevent.sleep"})
EVENT_WAITS = frozenset(
    {"threading.Event().wait", "asyncio.Event().wait", "multiprocessing.Event().wait",
     "threading.Condition().wait", "asyncio.Condition().wait"}
)
QUEUE_GETS = frozenset(
    {"queue.Queue().get", "queue.SimpleQueue().get", "queue.LifoQueue().get",
     "queue.PriorityQueue().get", "asyncio.Queue().get", "asyncio.LifoQueue().get",
     "asyncio.PriorityQueue().get", "multiprocessing.Queue().get"}
)
# What a polling loop waits on: a status, an approval, a result.
STATUS = re.compile(
    r"(?i)status|state|approv|done|complete|finish|ready|pending|waiting|running|queued|progress"
    r"|result|response|answer|reply|decision|confirm"
)


class _Waits(ScopeVisitor):
    """Calls in a block with where they sit: under a condition, in an except, in which while."""

    def __init__(self) -> None:
        self.found: list[tuple[cst.Call, bool, bool, cst.While | None]] = []
        self._conditional = 0
        self._handlers = 0
        self._whiles: list[cst.While] = []

    def visit_If(self, node) -> None:
        self._conditional += 1

    def leave_If(self, node) -> None:
        self._conditional -= 1

    def visit_For(self, node) -> None:
        self._conditional += 1

    def leave_For(self, node) -> None:
        self._conditional -= 1

    def visit_While(self, node) -> None:
        self._conditional += 1
        self._whiles.append(node)

    def leave_While(self, node) -> None:
        self._conditional -= 1
        self._whiles.pop()

    def visit_ExceptHandler(self, node) -> None:
        self._handlers += 1

    def leave_ExceptHandler(self, node) -> None:
        self._handlers -= 1

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append((node, self._conditional > 0, self._handlers > 0, self._whiles[-1] if self._whiles else None))


def scan_calls(block: cst.CSTNode) -> list:
    waits = _Waits()
    run_visitor(block, waits)
    return waits.found


def short_name(qualname: str) -> str:
    if qualname.startswith("builtins."):
        return qualname[len("builtins."):]
    return ".".join(qualname.replace("()", "").split(".")[-2:])


def strings_in(node: cst.CSTNode) -> list[str]:
    collect = _Strings()
    run_visitor(node, collect)
    return collect.found


class _Strings(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: list[str] = []

    def visit_SimpleString(self, s: cst.SimpleString) -> None:
        text = literal_string(s)
        if text:
            self.found.append(text)


def model_run_names(ctx, statements: list) -> set[str]:
    """Names assigned from a model call, a hand-off, or another call on a model client."""
    visitor = _ModelRunAssigns(ctx)
    for statement in statements:
        run_visitor(statement, visitor)
    return visitor.names


class _ModelRunAssigns(cst.CSTVisitor):
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.names: set[str] = set()

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value.expression if isinstance(node.value, cst.Await) else node.value
        if not isinstance(value, cst.Call) or not is_model_run(self.ctx, value):
            return
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self.names.add(target.target.value)


def is_model_run(ctx, call: cst.Call) -> bool:
    if ctx.recognise.llm_call(call) is not None and ctx.recognise.llm_call(call).certain:
        return True
    if ctx.recognise.handoff(call) is not None:
        return True
    qualname = ctx.qualname(call.func) or ""
    if "()." in qualname:
        # A run on a model client (``client.beta.threads.runs.create``); an upload or a
        # fine-tuning job polled by a developer script is not an agent waiting.
        client, _, member = qualname.partition("().")
        return ".runs." in f".{member}" and ctx.knowledge_client(client) is not None
    return False


def blocks_forever(call: cst.Call) -> bool:
    """``q.get()`` with no timeout and blocking (``get(False)`` / ``get(block=False)`` return at once)."""
    if keyword_arg(call, "timeout") is not None:
        return False
    block = keyword_arg(call, "block") or (call.args[0] if call.args and call.args[0].keyword is None else None)
    if block is not None and isinstance(block.value, cst.Name) and block.value.value == "False":
        return False
    return len([a for a in call.args if a.keyword is None]) < 2


def polled(ctx, loop: cst.While) -> str | None:
    """What a while loop polls (a status-like name or value), or None."""
    if retries.retry_loop(ctx, loop) is not None or ctx.loops.analyse(loop).llm_calls:
        return None
    scan = BodyScan()
    run_visitor(loop.body, scan)
    for test in (loop.test, *scan.exit_guards):
        if isinstance(test, cst.Name) and test.value == "True":
            continue
        for path in sorted(paths_in(test), key=len, reverse=True):
            if STATUS.search(path.rsplit(".", 1)[-1]):
                return path
        for text in strings_in(test):
            if STATUS.search(text):
                return dotted_name(test) or repr(text)
    return None
