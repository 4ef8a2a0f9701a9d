"""The recognisers every rule shares: model calls, framework agents and hand-offs, retry helpers.

Each answers from resolved names (see :class:`FileContext`) and the knowledge tables, never from
the text of the code. Loops and prompts have modules of their own (:mod:`loops`, :mod:`prompts`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import libcst as cst

from factorlint.engine.recognise.llm_names import match_llm_qualname
from factorlint.knowledge import AgentSpec, BoundSpec, CallSpec, ClientSpec, Framework, RetrySpec


@dataclass(frozen=True)
class LLMCall:
    node: cst.Call
    qualname: str
    client: ClientSpec | None
    spec: CallSpec | None
    requires: tuple[str, ...] = ()  # empty: certainly a model call; else settled in the project pass
    # Recognised by the SDK's own method path (``.chat.completions.create``) on a receiver the
    # engine could not resolve, in a module that imports that SDK.
    by_shape: bool = False

    @property
    def certain(self) -> bool:
        return not self.requires

    @property
    def structured(self) -> bool:
        if self.spec is None:
            return False
        if self.spec.always_structured:
            return True
        return any(
            keyword_arg(self.node, kw) is not None
            for kw in (*self.spec.structured_keywords, *self.spec.tools_keywords)
        )


@dataclass(frozen=True)
class AgentConstruct:
    node: cst.Call
    qualname: str
    framework: Framework
    spec: AgentSpec


@dataclass(frozen=True)
class Handoff:
    """A call after which a framework runs the model/tool loop."""

    node: cst.Call
    qualname: str
    framework_name: str
    agent_name: str
    bound: BoundSpec | None  # a bound passed to this call
    agent_type: str | None  # the agent's constructor QN when the receiver is an agent object
    spec: AgentSpec | None = None
    step_control_keywords: tuple[str, ...] = ()
    owns_loop: bool = True  # False for developer-owned graphs, which still take a run bound


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_star_kwargs(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


def positional_arg(call: cst.Call, index: int) -> cst.Arg | None:
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[index] if index < len(positional) else None


def is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


class Recognisers:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.knowledge = ctx.knowledge
        self._llm_cache: dict[int, LLMCall | None] = {}

    # -- model calls ------------------------------------------------------------------------

    def match_llm_qualname(self, qualname: str) -> tuple[ClientSpec, CallSpec] | None:
        """Is this resolved callee a model call according to the knowledge tables?"""
        return match_llm_qualname(self.knowledge, qualname)

    def llm_call(self, call: cst.Call) -> LLMCall | None:
        key = id(call)
        if key in self._llm_cache:
            return self._llm_cache[key]
        result = self._llm_call(call)
        self._llm_cache[key] = result
        return result

    def _llm_call(self, call: cst.Call) -> LLMCall | None:
        qualname = self.ctx.qualname(call.func)
        if qualname is not None:
            matched = self.match_llm_qualname(qualname)
            if matched is not None:
                return LLMCall(call, qualname, matched[0], matched[1])
        handed = self._handed_over(call)
        if handed is not None:
            return handed
        if qualname is None:
            return self._sdk_shaped(call)
        if not self.ctx.is_project_candidate(qualname):
            # A framework name the tables do not list (``anthropic._client.Anthropic``, a
            # private module path) may still carry the SDK's method path.
            return self._sdk_shaped(call) if self.knowledge.is_framework_module(qualname) else None
        extra = getattr(self.ctx.settings, "llm_functions", ()) or ()
        if any(fnmatch.fnmatchcase(qualname, pattern) for pattern in extra):
            return LLMCall(call, qualname, None, None)
        shaped = self._sdk_shaped(call)
        if shaped is not None:
            return shaped
        client, spec = self._guess_spec(qualname)
        return LLMCall(call, qualname, client, spec, requires=(qualname,))

    def _handed_over(self, call: cst.Call) -> LLMCall | None:
        """A model function handed to another call to run (``self.retryer(self.client.chat
        .completions.create, **kw)``, ``pool.submit(litellm.completion, ...)``,
        ``asyncio.to_thread(model.generate_content, ...)``): the call runs the model."""
        first = next((a for a in call.args if a.keyword is None and not a.star), None)
        if first is None or not isinstance(first.value, (cst.Name, cst.Attribute)):
            return None
        if (self.ctx.qualname(call.func) or "").startswith("functools."):
            return None  # ``partial(litellm.completion, ...)`` binds the function; it calls nothing
        qualname = self.ctx.qualname(first.value)
        if qualname is not None and not qualname.endswith("()"):
            matched = self.match_llm_qualname(qualname)
            if matched is not None:
                return LLMCall(call, qualname, matched[0], matched[1])
        if isinstance(first.value, cst.Attribute):
            shaped = self._sdk_shaped_path(call, first.value)
            if shaped is not None:
                return shaped
        return None

    def _sdk_shaped(self, call: cst.Call) -> LLMCall | None:
        return self._sdk_shaped_path(call, call.func)

    def _sdk_shaped_path(self, call: cst.Call, func: cst.BaseExpression) -> LLMCall | None:
        """A call whose method path is an SDK's generating call of two or more segments
        (``chat.completions.create``, ``messages.stream``, ``responses.create``) on a receiver
        the engine cannot follow (a client from a registry, a lazy proxy, a context manager), in
        a module that imports that SDK. One-segment paths (``invoke``, ``chat``) are too common
        to recognise this way."""
        chain: list[str] = []
        node = func
        while isinstance(node, cst.Attribute):
            chain.append(node.attr.value)
            node = node.value
        if len(chain) < 2:
            return None
        chain.reverse()
        imported = self.ctx.imported_roots
        for start in range(len(chain) - 1):
            member = ".".join(chain[start:])
            for client in self.knowledge.clients_with_member(member):
                if self.knowledge.client_roots(client) & imported:
                    base = node.value if isinstance(node, cst.Name) else "…"
                    return LLMCall(
                        call, ".".join([base, *chain]), client, self.knowledge.call_spec(client, member),
                        by_shape=True,
                    )
        return None

    def _guess_spec(self, qualname: str) -> tuple[ClientSpec | None, CallSpec | None]:
        """For ``app.llm.client.messages.create``: which SDK call would this be if it is one?"""
        parts = qualname.replace("()", "").split(".")
        for start in range(1, len(parts)):
            member = ".".join(parts[start:])
            for client in self.knowledge.clients_with_member(member):
                if member.count(".") >= 1:  # a bare ``invoke`` is too weak to guess from
                    return client, self.knowledge.call_spec(client, member)
        return None, None

    # -- framework agents -------------------------------------------------------------------

    def agent_construct(self, call: cst.Call) -> AgentConstruct | None:
        qualname = self.ctx.qualname(call.func)
        if qualname is None:
            return None
        found = self.knowledge.agent_constructors.first(qualname)
        if found is None:
            return None
        return AgentConstruct(call, qualname, found[0], found[1])

    def handoff(self, call: cst.Call) -> Handoff | None:
        qualname = self.ctx.qualname(call.func)
        if qualname is None:
            return None
        found = self.knowledge.handoff_functions.first(qualname)
        if found is not None:
            framework, spec = found
            return Handoff(
                call, qualname, framework.name, spec.name, spec.bound, None, None,
                tuple(spec.step_control_keywords),
            )
        if qualname.endswith("()"):
            receiver, member = qualname[:-2], "__call__"
        elif "()." in qualname:
            receiver, member = qualname.rsplit("().", 1)
        else:
            return self._sdk_loop(call, qualname)
        agent = self.knowledge.agent_constructors.first(receiver)
        if agent is not None:
            framework, spec = agent
            runs = member in spec.run_methods or (member == "__call__" and spec.call_runs)
            if runs:
                return Handoff(
                    call, qualname, framework.name, spec.name, spec.run_bound, receiver, spec,
                    owns_loop=spec.owns_loop,
                )
            return None
        return self._sdk_loop(call, qualname)

    def _sdk_loop(self, call: cst.Call, qualname: str) -> Handoff | None:
        matched = self.match_llm_qualname(qualname)
        if matched is not None and matched[1].owns_loop:
            return Handoff(call, qualname, matched[0].kind, qualname.rsplit(".", 1)[-1], matched[1].bound, None)
        return None

    # -- retries ----------------------------------------------------------------------------

    def retry_decorator(self, decorator: cst.Decorator) -> tuple[RetrySpec, cst.Call | None] | None:
        expr = decorator.decorator
        call = expr if isinstance(expr, cst.Call) else None
        qualname = self.ctx.qualname(call.func if call is not None else expr)
        if qualname is None:
            return None
        spec = self.knowledge.retry_decorators.first(qualname)
        return (spec, call) if spec is not None else None

    def retry_constructor(self, call: cst.Call) -> RetrySpec | None:
        qualname = self.ctx.qualname(call.func)
        return self.knowledge.retry_constructors.first(qualname) if qualname else None
