"""Agent loops: loops that call a model and feed its results back, and whether they are bounded.

A loop is an agent loop when its body (nested functions excluded) calls a model, directly or
through a wrapper, and some value that reaches that call's arguments (or its receiver) is changed
in the body: ``messages.append(...)``, ``thread = step(thread)``, ``self.history += [...]``. That
feedback condition tells agent loops from map-style loops (``for doc in docs: summarise(doc)``)
and retry loops.

A loop is bounded by a ``for`` over a finite iterable, a ``while`` test on a counter the body moves,
or a ``break``/``return``/``raise`` guarded by a counter, a clock or a budget. A break the model
decides (``if step.intent == "done": break``) ends the loop but does not bound it.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.names import dotted_name
from factorlint.engine.recognisers import LLMCall
from factorlint.engine.walk import find_all, run_visitor

Loop = cst.While | cst.For

_MUTATORS = frozenset(
    {"append", "extend", "insert", "add", "update", "appendleft", "extendleft", "add_message",
     "add_messages", "add_event", "append_event", "push", "put", "setdefault"}
)
CONSOLE_INPUTS = frozenset(
    {"builtins.input", "getpass.getpass", "click.prompt", "typer.prompt", "rich.prompt.Prompt.ask",
     "rich.prompt.Confirm.ask", "prompt_toolkit.prompt", "prompt_toolkit.PromptSession().prompt",
     "questionary.text", "inquirer.prompt", "sys.stdin.readline"}
)
_MAX_MAY_ASK = 24
_UNBOUNDED_ITERATORS = frozenset({"itertools.count", "itertools.cycle"})
_CLOCKS = frozenset(
    {"time.time", "time.monotonic", "time.perf_counter", "time.time_ns", "time.monotonic_ns",
     "datetime.datetime.now", "datetime.datetime.utcnow", "asyncio.get_event_loop().time"}
)
DEFAULT_BUDGET_PATTERN = (
    r"(?i)(^|_)(budget|tokens?|cost|steps|turns|iterations|iters|attempts|errors|retries|tries"
    r"|deadline|remaining|limit|count|counter|elapsed|timeout)($|_)|^(max|num|n)_"
)


@dataclass
class LoopInfo:
    node: Loop
    llm_calls: list[LLMCall] = field(default_factory=list)  # calls with feedback
    bounded: bool = False
    bound_reason: str = ""
    human_gated: bool = False  # each iteration waits for a person at the console
    # The project functions the body calls (under an ``if`` too): if one of them asks a person at
    # the console (``_get_user_input()``, ``ask_review()``), the project pass finds the loop gated.
    may_ask: tuple[str, ...] = ()
    # The limit of a bound that applies only when it is set (``if max_steps is not None and
    # step >= max_steps``, with ``max_steps = None`` unless an option says otherwise).
    optional_limit: str = ""
    # A chat REPL whose history lives behind the call (a session, a conversation object): it
    # reads the console every turn and calls a model, but no fed-back value is visible. Listed
    # in the inventory as a loop a person bounds; rules about agent loops do not apply to it.
    repl_calls: list[LLMCall] = field(default_factory=list)
    # Model calls with nothing fed back, in a loop that asks no one directly: a chat REPL if the
    # project pass finds one of ``may_ask`` reading the console (gptme's ``_get_user_input()``).
    unfed_calls: list[LLMCall] = field(default_factory=list)

    @property
    def requires(self) -> tuple[str, ...]:
        """Empty when a certain model call has feedback; else the candidates to settle later."""
        return requires_of(self.llm_calls)


def requires_of(llm_calls: list[LLMCall]) -> tuple[str, ...]:
    """What a loop's standing depends on: nothing when one of its model calls is certain, else
    the names the project pass must find reaching a model."""
    if any(c.certain for c in llm_calls):
        return ()
    return tuple(sorted({q for c in llm_calls for q in c.requires}))


class BodyScan(cst.CSTVisitor):
    """Calls, mutated paths, counters and guarded exits in a loop body, nested defs skipped."""

    def __init__(self) -> None:
        self.calls: list[cst.Call] = []
        self.mutated: set[str] = set()
        self.counters: set[str] = set()
        self.exit_guards: list[cst.BaseExpression] = []
        self.rebound: set[str] = set()  # names given a fresh value each iteration (``x = []``)
        self.sources: dict[str, set[str]] = {}  # name -> the paths its assigned values read
        # Every write in the body: (the path written, the paths its value reads, the ids of the
        # calls in that value). Feedback is a write of something a model call's result made.
        self.writes: list[tuple[str, frozenset[str], frozenset[int]]] = []
        # name -> the if-tests under which it is assigned (``if delay > TIMEOUT: retry = False``)
        self.set_under: dict[str, list[cst.BaseExpression]] = {}
        self._if_tests: list[cst.BaseExpression] = []
        self.conditional_calls: set[int] = set()  # ids of calls under an ``if`` of the body

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        if self._if_tests:
            self.conditional_calls.add(id(node))
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _MUTATORS:
            path = dotted_name(node.func.value)
            if path:
                self.mutated.add(path)
                self._write(path, *(arg.value for arg in node.args))

    def _write(self, path: str, *values: cst.BaseExpression) -> None:
        reads: set[str] = set()
        calls: set[int] = set()
        for value in values:
            reads |= paths_in(value)
            calls |= {id(call) for call in _calls_in(value)}
        self.writes.append((path, frozenset(reads), frozenset(calls)))

    def visit_For(self, node: cst.For) -> None:
        for path in _assigned_paths(node.target):
            self._write(path, node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        for path in _assigned_paths(node.target):
            self._write(path, node.iter)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        path = _target_path(node.target)
        if path:
            self.mutated.add(path)
            self._write(path, node.value)
            if isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign)):
                self.counters.add(path)  # ``delay *= 2`` grows toward a limit as a count does

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            subscripted = isinstance(target.target, cst.Subscript)
            for path in _assigned_paths(target.target):
                # ``x[k] = v`` accumulates; ``x = f(x)`` carries x forward; ``x = next_doc()``
                # merely rebinds and is not feedback.
                reads = paths_in(node.value)
                self._write(path, node.value)
                if self._if_tests and "." not in path:
                    self.set_under.setdefault(path, []).extend(self._if_tests)
                if not subscripted and "." not in path:
                    self.sources.setdefault(path, set()).update(reads)
                if subscripted or any(related(path, read) and len(read) >= len(path) for read in reads):
                    self.mutated.add(path)
                elif "." not in path:
                    self.rebound.add(path)
                if _is_step(path, node.value):
                    self.counters.add(path)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        path = _target_path(node.target)
        if path and node.value is not None:
            self._write(path, node.value)
            if path in paths_in(node.value):
                self.mutated.add(path)

    def visit_If(self, node: cst.If) -> None:
        self._if_tests.append(node.test)

    def leave_If(self, node: cst.If) -> None:
        self._if_tests.pop()

    def _exit(self) -> None:
        if self._if_tests:
            self.exit_guards.append(self._if_tests[-1])

    def visit_Break(self, node) -> None:
        self._exit()

    def visit_Return(self, node) -> None:
        self._exit()

    def visit_Raise(self, node) -> None:
        self._exit()


    def made_by(self, call: cst.Call) -> set[str]:
        """The paths written, in the body, with what ``call`` returned: its result, or a value
        built from one such path (``reply = ask(m)``, ``text = reply.content``, ``m.append(text)``)."""
        made: set[str] = set()
        # A method may leave its result on its object: after ``self.send(message)``, what
        # ``self.reflected_message`` holds came from the call (aider's reflection loop).
        if isinstance(call.func, cst.Attribute):
            receiver = dotted_name(call.func.value)
            if receiver:
                methods = {dotted_name(c.func) for c in self.calls}  # ``self.get_input`` is a method
                made.update(
                    r for _, reads, _ in self.writes for r in reads
                    if r.startswith(receiver + ".") and r not in methods
                )
        changed = True
        while changed:
            changed = False
            for path, reads, calls in self.writes:
                if path in made:
                    continue
                if id(call) in calls or any(related(read, m) and len(read) >= len(m) for read in reads for m in made):
                    made.add(path)
                    changed = True
        return made

    def feeds_back(self, call: cst.Call) -> set[str]:
        """The paths written with ``call``'s results: by a write whose value holds the call, or
        reads a path the result was written to."""
        made = self.made_by(call)
        fed = set()
        for path, reads, calls in self.writes:
            if id(call) in calls or any(related(read, m) and len(read) >= len(m) for read in reads for m in made):
                fed.add(path)
        return fed

    def carried(self) -> set[str]:
        """Names whose new value is built, through other names of the body, from their old one
        (``prompt = Prompt(current.tools)`` then ``current = Response(prompt)``): what one
        iteration hands to the next."""
        found = set()
        for name in self.sources:
            seen: set[str] = set()
            todo = [name]
            while todo and name not in found:
                for read in self.sources.get(todo.pop(), ()):
                    root = read.split(".", 1)[0]
                    if root == name:
                        found.add(name)
                        break
                    if root not in seen:
                        seen.add(root)
                        todo.append(root)
        return found


def _target_path(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Subscript):
        return dotted_name(target.value)
    return dotted_name(target)


def _assigned_paths(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, (cst.Tuple, cst.List)):
        paths = []
        for element in target.elements:
            paths.extend(_assigned_paths(element.value))
        return paths
    path = _target_path(target)
    return [path] if path else []


def _is_step(path: str, value: cst.BaseExpression) -> bool:
    """``n = n + 1`` / ``n = n - 1``."""
    return (
        isinstance(value, cst.BinaryOperation)
        and isinstance(value.operator, (cst.Add, cst.Subtract))
        and dotted_name(value.left) == path
    )


def paths_in(node: cst.CSTNode) -> set[str]:
    """Every Name/Attribute path read inside an expression, with its prefixes."""
    found: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def visit_Attribute(self, attr: cst.Attribute) -> bool:
            path = dotted_name(attr)
            if path is not None:
                found.add(path)
                return False
            return True

        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

    run_visitor(node, _Collect())
    return found


def related(read: str, written: str) -> bool:
    return (
        read == written
        or written.startswith(read + ".")
        or read.startswith(written + ".")
    )


class LoopAnalyser:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.recognise = ctx.recognise
        pattern = getattr(ctx.settings, "budget_name_pattern", None) or DEFAULT_BUDGET_PATTERN
        self.budget_names = re.compile(pattern)
        self._cache: dict[int, LoopInfo] = {}

    def analyse(self, loop: Loop) -> LoopInfo:
        cached = self._cache.get(id(loop))
        if cached is not None:
            return cached
        info = LoopInfo(loop)
        scan = BodyScan()
        run_visitor(loop.body, scan)
        if isinstance(loop, cst.While):
            run_visitor(loop.test, scan)  # a call in the test (``while not done(agent)``) counts too
        carried = scan.carried()
        asks_each_turn = any(
            (self.ctx.qualname(call.func) or "") in CONSOLE_INPUTS
            for call in scan.calls
            if id(call) not in scan.conditional_calls
        )
        for call in scan.calls:
            if (self.ctx.qualname(call.func) or "") in CONSOLE_INPUTS:
                continue  # the person's turn, not the model's
            llm = self.recognise.llm_call(call)
            if llm is None or self.recognise.handoff(call) is not None:
                continue
            # Feedback: what the call returned is written somewhere the next call reads.
            fed = scan.feeds_back(call)
            if not fed:
                (info.repl_calls if asks_each_turn else info.unfed_calls).append(llm)
                continue
            fresh = scan.rebound - carried - fed
            if self._has_feedback(call, fed, loop, fresh):
                info.llm_calls.append(llm)
        if info.unfed_calls:
            info.may_ask = self._project_calls(scan.calls)
        if info.llm_calls and not info.requires:
            info.repl_calls = []  # certainly an agent loop
        if info.llm_calls:
            # Only a prompt on every turn gates the loop: one under an ``if`` (rawdog asks before
            # running a script only when its ``leash`` option is on) lets the model go on alone.
            info.human_gated = asks_each_turn
            if info.human_gated:
                # A chat REPL: a person answers every turn, so the model cannot run away.
                info.bounded, info.bound_reason = True, "each iteration waits for console input"
            else:
                info.bounded, info.bound_reason = self.bound(loop, scan)
                if info.bounded and scan.exit_guards:
                    info.optional_limit = self._optional_limit(loop, scan)
                    if info.optional_limit:
                        info.bounded = False
                        info.bound_reason = f"bounded only when `{info.optional_limit}` is set (None by default)"
                info.may_ask = self._project_calls(scan.calls)
        self._cache[id(loop)] = info
        return info

    def _optional_limit(self, loop: Loop, scan: BodyScan) -> str:
        """The limit, when every bound the loop has is switched off by leaving it None."""
        if not isinstance(loop, cst.While) or self._test_bounds(loop.test, scan.counters):
            return ""
        function = self.ctx.function_stack[-1] if self.ctx.function_stack else None
        if function is None:
            return ""
        limits = set()
        for guard in scan.exit_guards:
            if not self._guard_bounds(guard, scan.counters):
                continue
            limit = _unless_none(guard)
            if limit is None or not _may_be_none(function, limit):
                return ""  # a bound that always applies
            limits.add(limit)
        return sorted(limits)[0] if len(limits) == 1 else ""

    def _project_calls(self, calls: list[cst.Call]) -> tuple[str, ...]:
        found = set()
        for call in calls:
            qualname = self.ctx.qualname(call.func)
            if qualname and self.ctx.is_project_candidate(qualname):
                found.add(qualname)
        return tuple(sorted(found))[:_MAX_MAY_ASK]

    def _has_feedback(self, call: cst.Call, mutated: set[str], loop: Loop, rebound: AbstractSet[str] = frozenset()) -> bool:
        # A value rebuilt from scratch in each iteration carries nothing to the next one.
        mutated = {w for w in mutated if w.split(".", 1)[0] not in rebound}
        if not mutated:
            return False
        if isinstance(loop, cst.For):
            # ``for item in queue: ... queue.append(...)``: the loop variable carries the feedback.
            iterated = dotted_name(loop.iter)
            if iterated is not None and any(related(iterated, w) for w in mutated):
                mutated = mutated | {p for p in _assigned_paths(loop.target)}
        read: set[str] = set()
        for arg in call.args:
            read |= paths_in(arg.value)
        if isinstance(call.func, cst.Attribute):
            receiver = dotted_name(call.func.value)
            if receiver:
                read.add(receiver)
        return any(related(r, w) for r in read for w in mutated)

    def bound(self, loop: Loop, scan: BodyScan) -> tuple[bool, str]:
        if isinstance(loop, cst.For):
            reason = self._for_bound(loop, scan)
            if reason:
                return True, reason
        elif self._test_bounds(loop.test, scan.counters):
            return True, "the loop test compares a counter the body moves"
        for guard in scan.exit_guards:
            reason = self._guard_bounds(guard, scan.counters, scan.set_under)
            if reason:
                return True, reason
        bounded_by = getattr(self.ctx.settings, "bounded_by", ()) or ()
        if bounded_by:
            import fnmatch

            for call in scan.calls:
                qualname = self.ctx.qualname(call.func)
                if qualname and any(fnmatch.fnmatchcase(qualname, p) for p in bounded_by):
                    return True, f"{qualname} enforces the bound (bounded-by)"
        return False, ""

    def _for_bound(self, loop: cst.For, scan: BodyScan) -> str:
        iterable = loop.iter
        if isinstance(iterable, cst.Call):
            qualname = self.ctx.qualname(iterable.func) or ""
            if qualname in _UNBOUNDED_ITERATORS:
                return ""
            if qualname == "itertools.repeat" and len(iterable.args) < 2:
                return ""
            if qualname == "builtins.iter" and len(iterable.args) == 2:
                return ""
        path = dotted_name(iterable)
        if path is not None and path in scan.mutated:
            return ""  # iterating a list the body appends to
        return "a for loop over a finite iterable"

    def _test_bounds(self, test: cst.BaseExpression, counters: set[str]) -> bool:
        if isinstance(test, cst.BooleanOperation):
            if isinstance(test.operator, cst.And):
                return self._test_bounds(test.left, counters) or self._test_bounds(test.right, counters)
            return self._test_bounds(test.left, counters) and self._test_bounds(test.right, counters)
        if isinstance(test, cst.Comparison):
            operands = [test.left, *(c.comparator for c in test.comparisons)]
            ordered = any(
                isinstance(c.operator, (cst.LessThan, cst.LessThanEqual, cst.GreaterThan,
                                        cst.GreaterThanEqual, cst.NotEqual))
                for c in test.comparisons
            )
            return ordered and any(dotted_name(o) in counters for o in operands)
        if isinstance(test, (cst.Name, cst.Attribute)):
            return dotted_name(test) in counters  # ``while remaining:`` counting down
        return False

    def _guard_bounds(self, guard: cst.BaseExpression, counters: set[str], set_under=None, _depth: int = 0) -> str:
        if self._test_bounds(guard, counters):
            return "an exit guarded by a counter the body moves"
        if set_under and _depth < 2:
            # ``if not should_retry: return`` where ``should_retry = False`` once a budget runs out.
            for path in paths_in(guard):
                for test in set_under.get(path, ()):
                    reason = self._guard_bounds(test, counters, set_under, _depth + 1)
                    if reason:
                        return reason
        for compare in _compares_in(guard):
            for operand in [compare.left, *(c.comparator for c in compare.comparisons)]:
                for call in _calls_in(operand):
                    if (self.ctx.qualname(call.func) or "") in _CLOCKS:
                        return "an exit guarded by a time budget"
                for path in paths_in(operand):
                    last = path.rsplit(".", 1)[-1]
                    if self.budget_names.search(last):
                        return f"an exit guarded by a budget ({path})"
        for call in _calls_in(guard):
            name = dotted_name(call.func)
            if name and self.budget_names.search(name.rsplit(".", 1)[-1]):
                return f"an exit guarded by a budget check ({name})"
        return ""


def _unless_none(guard: cst.BaseExpression) -> str | None:
    """``limit is not None and ...`` / ``limit and ...``: the name the guard needs set."""
    if not (isinstance(guard, cst.BooleanOperation) and isinstance(guard.operator, cst.And)):
        return None
    left = guard.left
    if isinstance(left, cst.Comparison) and len(left.comparisons) == 1:
        target = left.comparisons[0]
        if isinstance(target.operator, cst.IsNot) and isinstance(target.comparator, cst.Name) and target.comparator.value == "None":
            return dotted_name(left.left)
    if isinstance(left, (cst.Name, cst.Attribute)):
        return dotted_name(left)
    return None


def _may_be_none(function: cst.FunctionDef, name: str) -> bool:
    """Is ``name`` a parameter defaulting to None, or set to None in the function?"""
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name and isinstance(param.default, cst.Name) and param.default.value == "None":
            return True
    for assign in find_all(function, (cst.Assign, cst.AnnAssign), into_scopes=False):
        targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]
        value = assign.value
        if isinstance(value, cst.Name) and value.value == "None" and any(dotted_name(t) == name for t in targets):
            return True
    return False


def _compares_in(node: cst.CSTNode) -> list[cst.Comparison]:
    found: list[cst.Comparison] = []

    class _Collect(cst.CSTVisitor):
        def visit_Comparison(self, compare: cst.Comparison) -> None:
            found.append(compare)

    run_visitor(node, _Collect())
    return found


def _calls_in(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Collect(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    run_visitor(node, _Collect())
    return found
