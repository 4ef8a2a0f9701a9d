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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.agents.loop_body import paths_in
from factorlint.engine.agents.loops import requires_of
from factorlint.engine.recognise.recognisers import LLMCall


@dataclass
class Recursion:
    function: cst.FunctionDef
    llm_calls: list[LLMCall] = field(default_factory=list)
    recursive_calls: list[cst.Call] = field(default_factory=list)  # driven by the model's reply
    bounded: bool = False
    bound_reason: str = ""

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
        recursive = [c for c in flow.calls if self.ctx.qualname(c.func) == own]
        if not recursive:
            return found
        recognise = self.ctx.recognise
        replies: set[str] = set()
        for call in flow.calls:
            if any(call is c for c in recursive):
                continue
            llm = recognise.llm_call(call)
            if llm is None or recognise.handoff(call) is not None:
                continue
            found.llm_calls.append(llm)
            replies |= flow.results(call)
        if not found.llm_calls or not replies:
            return found
        # What the reply flows into through ``for chunk in response:`` counts as the reply too.
        for target, iterable in flow.loops:
            if paths_in(iterable) & replies:
                replies |= paths_in(target)
        found.recursive_calls = [c for c in recursive if _reads_any(_deciding(flow, c), replies)]
        if not found.recursive_calls:
            found.llm_calls = []
            return found
        compared = {p for compare in flow.comparisons for p in paths_in(compare)}
        found.bounded, found.bound_reason = _depth_bound(function, found.recursive_calls, compared)
        return found


def _deciding(flow, call: cst.Call) -> frozenset[str]:
    """The names read by the tests and loops that decide whether ``call`` runs."""
    paths: set[str] = set()
    for node in flow.guards.get(id(call), ()):
        if isinstance(node, cst.For):
            paths |= paths_in(node.iter) | paths_in(node.target)
        else:
            paths |= paths_in(node)
    return frozenset(paths)


def _reads_any(paths: frozenset[str], names: set[str]) -> bool:
    return any(p.split(".", 1)[0] in names for p in paths)


def _depth_bound(function: cst.FunctionDef, calls: list[cst.Call], compared: set[str]) -> tuple[bool, str]:
    """A parameter passed on moved by a step (``depth + 1``) and compared in the body."""
    params = {p.name.value for p in (*function.params.params, *function.params.kwonly_params)}
    for call in calls:
        for arg in call.args:
            value = arg.value
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
