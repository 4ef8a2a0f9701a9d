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

from factorlint.engine.agents.loop_body import BodyScan, _assigned_paths, paths_in, related
from factorlint.engine.parse.walk import find_all, run_visitor
from factorlint.engine.recognise.recognisers import LLMCall
from factorlint.engine.semantic.names import call_reads, dotted_name
from factorlint.model import STOPS

Loop = cst.While | cst.For

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
        asks_each_turn = self._asks_each_turn(scan)
        function = self.ctx.function_stack[-1] if self.ctx.function_stack else None
        own = self.ctx.function_qualname(function) if function is not None else None
        person_continues = False
        for call in scan.calls:
            callee = self.ctx.qualname(call.func)
            if (callee or "") in CONSOLE_INPUTS:
                continue  # the person's turn, not the model's
            # Only a call of the function itself can close its recursion: the function is
            # analysed for that one, not for every loop.
            if function is not None and callee == own and any(
                call is c for c in self.ctx.recursion.analyse(function).recursive_calls
            ):
                continue  # the function's recursion on the reply: one loop, listed at that call
            llm = self.recognise.llm_call(call)
            if llm is None or self.recognise.handoff(call) is not None:
                continue
            # Feedback: what the call returned is written somewhere the next call reads.
            fed = scan.feeds_back(call)
            if fed and self._has_feedback(call, fed, loop, scan.rebound - carried - fed):
                info.llm_calls.append(llm)
            elif self._continues_on_reply(loop, call):
                # ``while retry:`` with ``retry`` set from what the model answered: the model
                # decides whether the next turn (and its model call) happens.
                info.llm_calls.append(llm)
                person_continues = person_continues or self._person_continues(loop)
            elif not fed:
                (info.repl_calls if asks_each_turn else info.unfed_calls).append(llm)
        if info.unfed_calls:
            info.may_ask = self._project_calls(scan.calls)
        if info.llm_calls and not info.requires:
            info.repl_calls = []  # certainly an agent loop
        if info.llm_calls:
            # Only a prompt on every turn gates the loop: one under an ``if`` (rawdog asks before
            # running a script only when its ``leash`` option is on) lets the model go on alone.
            info.human_gated = asks_each_turn or person_continues
            if asks_each_turn:
                # A chat REPL: a person answers every turn, so the model cannot run away.
                info.bounded, info.bound_reason = True, "each iteration waits for console input"
            elif person_continues:
                info.bounded, info.bound_reason = True, "each next turn waits for a person's answer at the console"
            else:
                info.bounded, info.bound_reason = self.bound(loop, scan)
                if info.bounded and scan.exit_guards:
                    info.optional_limit = self._optional_limit(loop, scan)
                    if info.optional_limit:
                        info.bounded = False
                        info.bound_reason = f"bounded only when `{info.optional_limit}` is set (None by default)"
                info.may_ask = self._project_calls(scan.calls)
                if not info.bounded:
                    info.may_ask += tuple(f"{name}{STOPS}" for name in self._stop_deciders(loop, scan))
        self._cache[id(loop)] = info
        return info

    def _asks_each_turn(self, scan: BodyScan) -> bool:
        """Does a person answer at the console on every turn: a prompt outside any condition,
        or one that comes before the model's turn (open-interpreter's REPL reads the message
        under ``if interactive:``, unless one was passed on the command line)?"""
        # The model's turn: a certain model call, or a call that may reach one and runs on every
        # turn (a project function under a condition may be the console's own helper).
        first_model = next(
            (i for i, call in enumerate(scan.calls)
             if (self.ctx.qualname(call.func) or "") not in CONSOLE_INPUTS
             and (llm := self.recognise.llm_call(call)) is not None
             and (llm.certain or id(call) not in scan.conditional_calls)),
            len(scan.calls),
        )
        return any(
            (self.ctx.qualname(call.func) or "") in CONSOLE_INPUTS
            and (id(call) not in scan.conditional_calls or index < first_model)
            for index, call in enumerate(scan.calls)
        )

    def _continues_on_reply(self, loop: Loop, call: cst.Call) -> bool:
        """Does the ``while`` test read a name the call's result decides (rawdog's dependency
        loop: ``retry = True`` once the package the model named installs)?"""
        if not isinstance(loop, cst.While) or not self.ctx.function_stack:
            return False
        flow = self.ctx.current_flow()
        results = flow.results(call)
        if not results:
            return False
        tested = {p.split(".", 1)[0] for p in paths_in(loop.test)}
        return bool(tested & flow.derived(results))

    def _stop_deciders(self, loop: Loop, scan: BodyScan) -> tuple[str, ...]:
        """The project functions whose answer alone ends a ``while`` loop: every name its test
        reads is assigned in the body only from calls of project functions (metagpt's planner
        loops ``while not plan_confirmed`` and takes ``plan_confirmed`` from ``ask_review()``).
        If one of them may ask a person, the project pass finds a person deciding the stop."""
        if not isinstance(loop, cst.While):
            return ()
        tested = {p for p in paths_in(loop.test) if "." not in p}
        calls = {id(call): call for call in scan.calls}
        found: set[str] = set()
        for path, _, made_by in scan.writes:
            if path not in tested:
                continue
            names = {self.ctx.qualname(calls[i].func) for i in made_by if i in calls}
            deciders = {q for q in names if q and self.ctx.is_project_candidate(q)}
            if not deciders:
                return ()  # the flag is also set by the code itself (``done = "DONE" in reply``)
            found |= deciders
        return tuple(sorted(found))

    def _person_continues(self, loop: Loop) -> bool:
        """Is every assignment of the loop's test inside the body made only after a person
        answered at the console (``if input("Install it? (Y/n)") != "n": retry = True``)?"""
        if not isinstance(loop, cst.While):
            return False
        flow = self.ctx.current_flow()
        tested = {p.split(".", 1)[0] for p in paths_in(loop.test)}
        conditional = []
        for names, deciding in flow.decided:
            at = next((i for i, node in enumerate(deciding) if node is loop.test), None)
            if at is None or not set(names) & tested:
                continue
            if len(deciding) > at + 1:  # ``retry = False`` at the top of the body decides nothing
                conditional.append(deciding[at + 1:])
        return bool(conditional) and all(any(self._asks(node) for node in inner) for inner in conditional)

    def _asks(self, node: cst.CSTNode) -> bool:
        test = node.iter if isinstance(node, cst.For) else node
        return any((self.ctx.qualname(c.func) or "") in CONSOLE_INPUTS for c in find_all(test, cst.Call))

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
        return any(related(r, w) for r in call_reads(call) for w in mutated)

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
        for compare in find_all(guard, cst.Comparison):
            for operand in [compare.left, *(c.comparator for c in compare.comparisons)]:
                for call in find_all(operand, cst.Call):
                    if (self.ctx.qualname(call.func) or "") in _CLOCKS:
                        return "an exit guarded by a time budget"
                for path in paths_in(operand):
                    last = path.rsplit(".", 1)[-1]
                    if self.budget_names.search(last):
                        return f"an exit guarded by a budget ({path})"
        for call in find_all(guard, cst.Call):
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


