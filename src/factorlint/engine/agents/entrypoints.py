"""Entry points: what starts an agent, and which functions run one.

- A *trigger* is what makes a function callable from outside the program: a web route, a websocket
  handler, a chat event, a queue task, a schedule, a command-line command (knowledge table
  ``web.toml``: decorators, registration calls such as ``django.urls.path(route, view)``, and
  class-based views), or an ``if __name__ == "__main__":`` block.
- An *agent run* is an agent loop (see :mod:`loops`) or a framework hand-off in a function's own
  body (nested definitions excluded), or a call to a function of the same file that has one.
- An *agent entry function* is a function with at least one agent run.

The index is built once per file (:func:`entry_points`), from a walk over statements only
(never into expressions). Registration calls are expressions: the engine's call recorder
(:mod:`run.call_recorder`) feeds them in during the batched walk, and rules read the index in
``leave_Module``.

Names are resolved with the context's function stack set to the function's enclosing chain, as the
batched visit would have it, so the shared caches (loop analyses, model calls) get the same answers.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.agents.file_agents import handoff_label
from factorlint.engine.agents.loops import CONSOLE_INPUTS
from factorlint.engine.parse.walk import statement_blocks
from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.recognise.retries import calls_in
from factorlint.engine.semantic.names import literal_string

Loop = cst.For | cst.While
SERVICE_KINDS = frozenset({"http", "websocket", "event", "queue", "schedule"})
_HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})
# Calls that schedule a coroutine instead of running it in the caller (standard library).
DEFERRALS = frozenset(
    {"asyncio.create_task", "asyncio.ensure_future", "asyncio.run_coroutine_threadsafe",
     "asyncio.TaskGroup().create_task", "asyncio.get_event_loop().create_task",
     "asyncio.get_running_loop().create_task", "asyncio.new_event_loop().create_task"}
)


@dataclass(frozen=True)
class Trigger:
    kind: str  # http, websocket, event, queue, schedule, cli
    qualname: str  # the decorator or registration as resolved: fastapi.FastAPI().post
    node: cst.CSTNode  # the decorator, the registration call or the class base
    path: str | None = None  # the route path when it is a literal
    owner: str | None = None  # class-based views: the view class

    def label(self, function: cst.FunctionDef) -> str:
        """``POST /chat`` for a route, ``Approve.post`` for a class-based view, else the name."""
        member = self.qualname.rsplit(".", 1)[-1].lower()
        if self.path is not None:
            method = member.upper() if member in _HTTP_METHODS else "route"
            return f"`{method} {self.path}`"
        if self.owner is not None:
            return f"`{self.owner}.{function.name.value}`"
        return f"`{function.name.value}`"


@dataclass
class FunctionInfo:
    node: cst.FunctionDef
    chain: tuple  # enclosing functions, outermost first, ending with ``node``
    qualname: str
    triggers: list[Trigger] = field(default_factory=list)

    def kinds(self) -> set[str]:
        return {t.kind for t in self.triggers}


@dataclass(frozen=True)
class AgentRun:
    node: cst.CSTNode  # the loop, the hand-off call, or the call into a function that has one
    label: str
    requires: tuple[str, ...] = ()  # () when certain; else settled in the project pass
    via: FunctionInfo | None = None


def is_main_guard(node: cst.CSTNode) -> bool:
    """``if __name__ == "__main__":`` (either side)."""
    if not isinstance(node, cst.If) or not isinstance(node.test, cst.Comparison):
        return False
    test = node.test
    if len(test.comparisons) != 1 or not isinstance(test.comparisons[0].operator, cst.Equal):
        return False
    sides = (test.left, test.comparisons[0].comparator)
    return any(isinstance(s, cst.Name) and s.value == "__name__" for s in sides) and any(
        literal_string(s) == "__main__" for s in sides
    )


def body_statements(node) -> list:
    body = getattr(node, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    if isinstance(body, cst.SimpleStatementSuite):
        return [body]
    return []


def nested_blocks(stmt) -> list[list]:
    """The statement blocks of a compound statement (if/for/while/try/with/match)."""
    return statement_blocks(stmt, body_statements)


def loops_in(statements: list) -> Iterator[Loop]:
    """Every loop statement in a block, nested ones included, nested definitions skipped."""
    for stmt in statements:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(stmt, (cst.For, cst.While)):
            yield stmt
        for block in nested_blocks(stmt):
            yield from loops_in(block)


class EntryPoints:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.functions: list[FunctionInfo] = []
        self.main_guards: list[cst.If] = []
        self.loops: list[tuple[Loop, tuple]] = []  # every loop with its enclosing function chain
        self.registered: list[Trigger] = []  # registrations whose handler is not a known function
        self._by_id: dict[int, FunctionInfo] = {}
        self._by_qualname: dict[str, FunctionInfo] = {}
        self._nested: dict[tuple[int, str], FunctionInfo] = {}  # (id(parent def), name) -> info
        self._runs: dict[tuple[int, int], list[AgentRun]] = {}
        self._seen_calls: set[int] = set()
        self._class_names = {id(node): qn for qn, node in ctx.scan.classes.items()}
        self._walk(list(ctx.module.body), ())

    # -- scope ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def scope(self, chain: tuple):
        """Resolve names as inside ``chain`` (the enclosing functions, outermost first)."""
        saved = self.ctx.function_stack
        self.ctx.function_stack = list(chain)
        try:
            yield
        finally:
            self.ctx.function_stack = saved

    # -- the walk ---------------------------------------------------------------------------

    def _walk(self, statements: list, chain: tuple) -> None:
        for stmt in statements:
            if isinstance(stmt, cst.FunctionDef):
                info = FunctionInfo(stmt, (*chain, stmt), self.ctx.function_qualname(stmt))
                with self.scope(chain):
                    info.triggers = [t for d in stmt.decorators if (t := self._decorator(d))]
                self.functions.append(info)
                self._by_id[id(stmt)] = info
                self._by_qualname.setdefault(info.qualname, info)
                if chain:
                    self._nested.setdefault((id(chain[-1]), stmt.name.value), info)
                self._walk(body_statements(stmt), info.chain)
                continue
            if isinstance(stmt, cst.ClassDef):
                self._class(stmt, chain)
                continue
            if isinstance(stmt, (cst.For, cst.While)):
                self.loops.append((stmt, chain))
            if not chain and is_main_guard(stmt):
                self.main_guards.append(stmt)
            for block in nested_blocks(stmt):
                self._walk(block, chain)

    def _class(self, node: cst.ClassDef, chain: tuple) -> None:
        specs = []
        with self.scope(chain):
            for base in node.bases:
                qualname = self.ctx.qualname(base.value)
                spec = self.ctx.knowledge.route_base_classes.first(qualname) if qualname else None
                if spec is not None:
                    specs.append((spec, qualname, base))
        start = len(self.functions)
        self._walk(body_statements(node), chain)
        for info in self.functions[start:]:
            if len(info.chain) != len(chain) + 1:
                continue  # only the class's own methods
            for spec, qualname, base in specs:
                if info.node.name.value in spec.handler_methods:
                    info.triggers.append(
                        Trigger(spec.kind, f"{qualname}.{info.node.name.value}", base, owner=node.name.value)
                    )

    def _decorator(self, decorator: cst.Decorator) -> Trigger | None:
        expr = decorator.decorator
        call = expr if isinstance(expr, cst.Call) else None
        qualname = self.ctx.qualname(call.func if call is not None else expr)
        if qualname is None:
            return None
        spec = self.ctx.knowledge.route_decorators.first(qualname)
        if spec is None:
            return self._cli_subcommand(qualname, decorator)
        return Trigger(spec.kind, qualname, decorator, _path(call, spec) if call is not None else None)

    def _cli_subcommand(self, qualname: str, decorator: cst.Decorator) -> Trigger | None:
        """``@cli.command()`` where ``cli`` is a function of this file made a click group."""
        owner, _, member = qualname.rpartition(".")
        if member not in ("command", "group"):
            return None
        group = self._by_qualname.get(owner)
        if group is not None and "cli" in group.kinds():
            return Trigger("cli", qualname, decorator)
        return None

    # -- registration calls (fed by the engine's CallRecorder during the walk) ----------------

    def record_call(self, call: cst.Call) -> None:
        if id(call) in self._seen_calls:
            return
        self._seen_calls.add(id(call))
        qualname = self.ctx.qualname(call.func)
        if not qualname:
            return
        spec = self.ctx.knowledge.route_functions.first(qualname)
        if spec is None:
            return
        handler = None
        for keyword in spec.handler_keywords:
            arg = keyword_arg(call, keyword)
            if arg is not None:
                handler = arg.value
        if handler is None and spec.handler_positional is not None:
            arg = positional_arg(call, spec.handler_positional)
            handler = arg.value if arg is not None else None
        trigger = Trigger(spec.kind, qualname, call, _path(call, spec))
        target = self.ctx.qualname(handler) if handler is not None else None
        info = self._by_qualname.get(target) if target else None
        if info is not None:
            info.triggers.append(trigger)
        else:
            self.registered.append(trigger)

    # -- questions --------------------------------------------------------------------------

    def kinds(self) -> set[str]:
        found = {t.kind for t in self.registered}
        for info in self.functions:
            found |= info.kinds()
        return found

    def web_packages(self) -> frozenset[str]:
        """Top-level packages named by the entry-point table (fastapi, flask, celery, click...)."""
        roots: set[str] = set()
        for index in (self.ctx.knowledge.route_decorators, self.ctx.knowledge.route_functions,
                      self.ctx.knowledge.route_base_classes):
            roots.update(p.split(".", 1)[0] for p in [*index.exact, *(g for _, g, _ in index.globs)])
        return frozenset(roots)

    def serves(self) -> bool:
        """Does this file define routes, event handlers, queue tasks or schedules?"""
        return bool(self.kinds() & SERVICE_KINDS)

    def info(self, function: cst.FunctionDef) -> FunctionInfo | None:
        return self._by_id.get(id(function))

    def handlers(self, *kinds: str) -> Iterator[tuple[FunctionInfo, Trigger]]:
        for info in self.functions:
            trigger = next((t for t in info.triggers if t.kind in kinds), None)
            if trigger is not None:
                yield info, trigger

    def local_callee(self, call: cst.Call) -> FunctionInfo | None:
        """The function of this file that a call (resolved in the current scope) reaches."""
        qualname = self.ctx.qualname(call.func)
        found = self._by_qualname.get(qualname) if qualname else None
        if found is None and isinstance(call.func, cst.Name):
            # A function defined inside an enclosing function (a closure, a streaming generator).
            for parent in reversed(self.ctx.function_stack):
                found = self._nested.get((id(parent), call.func.value))
                if found is not None:
                    break
        return found

    def agent_runs(self, info: FunctionInfo, depth: int = 1, skip: frozenset = frozenset()) -> list[AgentRun]:
        """Agent loops and hand-offs in the function's own body, then (``depth``) in the
        functions of this file that it calls. Calls whose id is in ``skip`` are left out."""
        key = (id(info.node), depth)
        if not skip and key in self._runs:
            return self._runs[key]
        runs: list[AgentRun] = []
        with self.scope(info.chain):
            for loop in loops_in(body_statements(info.node)):
                loop_info = self.ctx.loops.analyse(loop)
                if loop_info.llm_calls:
                    runs.append(AgentRun(loop, "an agent loop", loop_info.requires))
            callees = []
            for call in calls_in(info.node.body):
                if id(call) in skip:
                    continue
                handoff = self.ctx.recognise.handoff(call)
                if handoff is not None:
                    runs.append(AgentRun(call, f"{handoff_label(handoff)}"))
                elif depth > 0:
                    callee = self.local_callee(call)
                    if callee is not None and callee is not info:
                        callees.append((call, callee))
        for call, callee in callees:
            inner = self.agent_runs(callee, 0)
            if inner:
                requires = () if any(not r.requires for r in inner) else tuple(
                    sorted({q for r in inner for q in r.requires})
                )
                runs.append(AgentRun(call, f"`{callee.node.name.value}()` ({inner[0].label})", requires, callee))
        if not skip:
            self._runs[key] = runs
        return runs


def is_console_input(ctx, call: cst.Call) -> bool:
    qualname = ctx.qualname(call.func)
    if qualname is None:
        return False
    if qualname in CONSOLE_INPUTS:
        return True
    return any(c.role == "console_input" for c in ctx.knowledge.components.get(qualname))


class RepeatedPrompts:
    """Console prompts reported through another one, so that one pause is one finding
    (docs/violations.md, "one construct, one finding"):

    - the same question worded for two displays, in the ``else`` of an ``if`` whose body asks it
      (open-interpreter's plain-text and rich terminals);
    - a question the person answers before another that certainly follows in the same block,
      with no model call in between: the run stopped once, and the pause is reported at the
      question that ends it (open-interpreter asks "scan this code?" before "run this code?").
    """

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.repeats: set[int] = set()
        saved = ctx.function_stack
        try:
            self._walk(list(ctx.module.body), ())
        finally:
            ctx.function_stack = saved

    def _walk(self, statements: list, chain: tuple) -> None:
        """Each block of the module, with names resolved as inside its functions."""
        self.ctx.function_stack = list(chain)
        self._one_block(statements)
        for statement in statements:
            if isinstance(statement, cst.FunctionDef):
                self._walk(body_statements(statement), (*chain, statement))
            elif isinstance(statement, cst.ClassDef):
                self._walk(body_statements(statement), chain)
            else:
                for block in nested_blocks(statement):
                    self._walk(block, chain)

    def _one_block(self, statements: list) -> None:
        pending: list[cst.Call] = []  # questions asked since the last model call
        for statement in statements:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                continue
            if isinstance(statement, cst.If) and isinstance(statement.orelse, cst.Else):
                asked = {key for key, _ in _prompts(self.ctx, statement.body)}
                self.repeats.update(
                    id(call) for key, call in _prompts(self.ctx, statement.orelse.body) if key in asked
                )
            calls = calls_in(statement)
            if any((llm := self.ctx.recognise.llm_call(c)) is not None and llm.certain for c in calls):
                pending = []
                continue
            if self._certainly_asks(statement):
                self.repeats.update(id(call) for call in pending)
                pending = []
            pending.extend(c for c in calls if is_console_input(self.ctx, c))

    def _certainly_asks(self, statement: cst.CSTNode) -> bool:
        """Does every way through ``statement`` ask a person at the console?"""
        if isinstance(statement, cst.SimpleStatementLine):
            return any(is_console_input(self.ctx, c) for c in calls_in(statement))
        if isinstance(statement, cst.If):
            orelse = statement.orelse
            if orelse is None:
                return False
            otherwise = self._certainly_asks(orelse) if isinstance(orelse, cst.If) else self._block_asks(orelse)
            return otherwise and self._block_asks(statement)
        return False

    def _block_asks(self, node: cst.CSTNode) -> bool:
        """Does one of the statements of ``node``'s block certainly ask?"""
        return any(self._certainly_asks(s) for s in body_statements(node))


def _prompts(ctx, block: cst.BaseSuite) -> list[tuple[tuple[str, str], cst.Call]]:
    """``(target, callee), call`` of each ``target = <console prompt>(...)`` statement of a block."""
    found = []
    for statement in block.body if isinstance(block, cst.IndentedBlock) else []:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.value, cst.Call):
                target = small.targets[0].target
                if isinstance(target, cst.Name) and is_console_input(ctx, small.value):
                    found.append(((target.value, ctx.qualname(small.value.func) or ""), small.value))
    return found


def repeated_prompts(ctx) -> set[int]:
    """ids of the console calls that repeat their ``if`` body's prompt in the ``else``."""
    return ctx.analysis(RepeatedPrompts).repeats


def _path(call: cst.Call | None, spec) -> str | None:
    if call is None:
        return None
    for keyword in spec.path_keywords:
        arg = keyword_arg(call, keyword)
        if arg is not None:
            return literal_string(arg.value)
    if spec.path_positional is not None:
        arg = positional_arg(call, spec.path_positional)
        if arg is not None:
            return literal_string(arg.value)
    return None


def entry_points(ctx) -> EntryPoints:
    """The file's index, built on first use."""
    return ctx.analysis(EntryPoints)


_WORD = re.compile(r"[A-Za-z0-9]+")


def name_words(name: str) -> set[str]:
    """``resumeThread`` / ``resume_thread`` -> {"resume", "thread"} (lower case)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w.lower() for w in _WORD.findall(spaced)}
