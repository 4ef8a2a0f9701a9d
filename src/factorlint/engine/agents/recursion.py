"""Agent loops written as recursion: a function that calls a model and, on the model's reply,
calls itself again (shell-gpt's ``get_completion`` recurses when the reply asks for a tool).

A function is such a loop when, in its own body (nested definitions left out):

- a call is a model call (direct, or through a wrapper settled in the project pass);
- a call of the function itself (``self.method(...)`` in a method, ``name(...)`` in a module
  function) stands under a test or a ``for`` that reads the model's reply: the model decides
  whether the recursion goes on. A recursion that walks a tree (``for child in node.children:``)
  does not read the reply, so it is not an agent loop however many model calls it makes.

It is bounded when the recursive call passes one of the function's parameters moved by a step
(``depth + 1``, ``remaining - 1``) and the body compares that parameter: a depth the code owns.

The recursion may also close through other project functions, threads included: gptme's
server ``step`` starts the tools the reply asked for, whose thread starts ``step`` again. A call
of a project function that the reply decides (:class:`Onward`) is a candidate, kept by the
project pass only when the callee leads back to the function (``requires_cycle``).

The reply is what a model call returned, what a nested function that makes a model call writes
into this one (``nonlocal``), and what is assigned only under a test or loop that reads the reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.agents.loop_body import paths_in
from factorlint.engine.agents.loops import requires_of
from factorlint.engine.recognise.llm_names import match_llm_qualname
from factorlint.engine.recognise.recognisers import LLMCall


@dataclass
class Onward:
    """A call that may lead back to the calling function through other project functions
    (``step`` -> ``start_tool_execution`` -> a thread -> ``step``), run when the model's reply
    says so. The project pass keeps it when ``callee`` reaches the function again."""

    call: cst.Call
    callee: str
    requires: tuple[str, ...]  # the function's other model calls, settled as for any loop
    bound_reason: str = ""  # why the recursion stops without the model, when it does

    @property
    def bounded(self) -> bool:
        return bool(self.bound_reason)


@dataclass
class Recursion:
    function: cst.FunctionDef
    llm_calls: list[LLMCall] = field(default_factory=list)
    recursive_calls: list[cst.Call] = field(default_factory=list)  # driven by the model's reply
    bounded: bool = False
    bound_reason: str = ""
    onward: list[Onward] = field(default_factory=list)

    @property
    def requires(self) -> tuple[str, ...]:
        """Empty when a certain model call drives it; else the candidates to settle later."""
        return requires_of(self.llm_calls)


class RecursionAnalyser:
    """One answer per function, whatever the number of rules asking."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self._cache: dict[int, Recursion] = {}

    def analyse(self, function: cst.FunctionDef) -> Recursion:
        cached = self._cache.get(id(function))
        if cached is not None:
            return cached
        stack = self.ctx.function_stack
        pushed = not stack or stack[-1] is not function
        if pushed:
            stack.append(function)  # names in the body resolve as inside the function
        try:
            found = self._analyse(function)
        finally:
            if pushed:
                stack.pop()
        self._cache[id(function)] = found
        return found

    def _analyse(self, function: cst.FunctionDef) -> Recursion:
        found = Recursion(function)
        flow = self.ctx.flow(function)
        own = self.ctx.function_qualname(function)
        recursive: list[cst.Call] = []
        onward: list[tuple[cst.Call, str]] = []
        for call in flow.calls:
            callee = self.ctx.qualname(call.func)
            if callee == own:
                recursive.append(call)
            elif callee is not None and id(call) in flow.guards and self.may_lead_back(callee):
                onward.append((call, callee))
        if not recursive and not onward:
            return found
        recognise = self.ctx.recognise
        replies: set[str] = set()
        calls: list[tuple[cst.Call, LLMCall]] = []
        for call in flow.calls:
            if any(call is c for c in recursive):
                continue
            llm = recognise.llm_call(call)
            if llm is None or recognise.handoff(call) is not None:
                continue
            calls.append((call, llm))
            replies |= flow.results(call)
        replies |= self._written_by_nested_model_calls(flow, calls)
        replies |= _collected_model_calls(flow, [c for c, _ in calls])
        if not calls or not replies:
            return found
        replies = flow.derived(replies)
        found.recursive_calls = [c for c in recursive if _reads_any(_deciding(flow, c), replies)]
        if found.recursive_calls:
            found.llm_calls = [llm for _, llm in calls]
            compared = {p for compare in flow.comparisons for p in paths_in(compare)}
            found.bounded, found.bound_reason = _depth_bound(function, flow, found.recursive_calls, compared)
        for call, callee in onward:
            if not _reads_any(_deciding(flow, call), replies):
                continue
            others = [llm for c, llm in calls if c is not call]
            if others:
                found.onward.append(Onward(call, callee, requires_of(others), _spends_budget(flow, call)))
        return found

    def may_lead_back(self, callee: str) -> bool:
        """A call of a project function (not a model call, not a method of a library object)."""
        return (
            not callee.endswith("()")
            and self.ctx.is_project_candidate(callee)
            and match_llm_qualname(self.ctx.knowledge, callee) is None
        )

    def _written_by_nested_model_calls(self, flow, calls: list[tuple[cst.Call, LLMCall]]) -> set[str]:
        """The names a nested function that makes a model call writes in this one (``nonlocal
        output, tooluses``): gptme's server ``step`` hands such a ``generate`` to a recovery
        helper, and reads the tool uses it left behind."""
        written: set[str] = set()
        stack = self.ctx.function_stack
        for nested in flow.nested:
            if not _declares_nonlocal(nested):
                continue
            inner = self.ctx.flow(nested)
            stack.append(nested)
            try:
                for call in inner.calls:
                    llm = self.ctx.recognise.llm_call(call)
                    if llm is not None:
                        calls.append((call, llm))
                        written |= inner.nonlocals
            finally:
                stack.pop()
        return written


def _collected_model_calls(flow, calls: list[cst.Call]) -> set[str]:
    """Names bound to a collection of model calls, run later together: ``tasks =
    [process_query(q) for q in queries]`` awaited through ``asyncio.gather(*tasks)``."""
    ids = {id(call) for call in calls}
    collected: set[str] = set()
    for names, value in flow.assigns:
        if isinstance(value, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            elements = [value.elt]
        elif isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            elements = [e.value for e in value.elements]
        else:
            continue
        if any(id(e.expression if isinstance(e, cst.Await) else e) in ids for e in elements):
            collected.update(names)
    return collected


def _declares_nonlocal(function: cst.FunctionDef) -> bool:
    """A ``nonlocal`` statement at the top level of the body, where it is written in practice."""
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    return any(
        isinstance(line, cst.SimpleStatementLine) and any(isinstance(s, cst.Nonlocal) for s in line.body)
        for line in body
    )


def _deciding(flow, call: cst.Call) -> frozenset[str]:
    """The names read by the tests and loops that decide whether ``call`` runs."""
    paths: set[str] = set()
    for node in flow.guards.get(id(call), ()):
        paths |= _deciding_paths(node)
    return frozenset(paths)


def _deciding_paths(node: cst.CSTNode) -> set[str]:
    if isinstance(node, cst.For):
        return paths_in(node.iter) | paths_in(node.target)
    return paths_in(node)


def _reads_any(paths: frozenset[str], names: set[str]) -> bool:
    return any(p.split(".", 1)[0] in names for p in paths)


def _spends_budget(flow, call: cst.Call) -> str:
    """A recursion through other functions is bounded by a budget it spends: a counter kept on
    an object (``session.auto_confirm_count -= 1``), compared in the function, that decides
    whether ``call`` runs, directly or through what is assigned from it (gptme's server step
    starts the next tool only while its auto-confirm budget lasts). A local counter would start
    again at every call, so it bounds nothing here."""
    compared = {p for compare in flow.comparisons for p in paths_in(compare)}
    budgets = flow.counted & compared
    if not budgets:
        return ""
    deciding = _deciding(flow, call)
    spent = sorted(budgets & deciding)
    if not spent:
        seeds = {
            name for targets, value in flow.assigns for name in targets
            if paths_in(value) & budgets
        }
        if not seeds or not _reads_any(deciding, flow.derived(seeds)):
            return ""
        spent = sorted(budgets)
    return f"each pass spends `{spent[0]}`, which the function compares"


def _depth_bound(function: cst.FunctionDef, flow, calls: list[cst.Call], compared: set[str]) -> tuple[bool, str]:
    """A parameter passed on moved by a step (``depth + 1``, or ``new_depth`` assigned
    ``depth - 1``) and compared in the body."""
    params = {p.name.value for p in (*function.params.params, *function.params.kwonly_params)}
    for call in calls:
        for arg in call.args:
            value = arg.value
            if isinstance(value, cst.Name) and value.value not in params:
                bound = flow.bindings.get(value.value, [])
                if len(bound) == 1 and bound[0][1] is not None:
                    value = bound[0][1]
            if (
                isinstance(value, cst.BinaryOperation)
                and isinstance(value.operator, (cst.Add, cst.Subtract))
                and isinstance(value.left, cst.Name)
                and value.left.value in params
                and value.left.value in compared
            ):
                return True, f"each call moves `{value.left.value}`, which the function compares"
    return False, ""



def recursive_agent_loop(ctx, call: cst.Call) -> Recursion | None:
    """The recursion ``call`` closes, when it is a call of the enclosing function itself that the
    model's reply drives; else None. Cheap for every other call: one name comparison."""
    if not ctx.function_stack:
        return None
    function = ctx.function_stack[-1]
    if ctx.qualname(call.func) != ctx.function_qualname(function):
        return None
    found = ctx.recursion.analyse(function)
    return found if any(call is c for c in found.recursive_calls) else None


def onward_agent_loop(ctx, call: cst.Call) -> tuple[Recursion, Onward] | None:
    """The recursion across functions ``call`` may close (to be confirmed by the project pass),
    when the model's reply decides whether it runs; else None."""
    if not ctx.function_stack or not ctx.may_be_decided():
        return None  # outside every test and loop of its function: the reply decides nothing
    # Only a call that may lead back can be one (the test ``_analyse`` makes of each call, with the
    # same function innermost): most calls are answered without reading the function.
    callee = ctx.qualname(call.func)
    if callee is None or not ctx.recursion.may_lead_back(callee):
        return None
    found = ctx.recursion.analyse(ctx.function_stack[-1])
    onward = next((o for o in found.onward if o.call is call), None)
    return (found, onward) if onward is not None else None
