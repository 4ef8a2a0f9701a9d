"""The inventory of one file: every place a factor applies to, gathered in the batched visit.

Agents, model calls, prompts, tools, loops, hand-offs, retry wrappers, checkpointers, memory,
entry points and the functions that hold them. The audit lists them, and the scorecard counts
them as each factor's sites (the denominator of its score, catalog section 17.2). Collecting
reuses the recognisers the rules already ran on the same nodes (their answers are cached), so a
file that holds none of these costs next to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.agents.graphs import graph_cycles
from factorlint.engine.agents.loops import requires_of
from factorlint.engine.agents.recursion import onward_agent_loop, recursive_agent_loop
from factorlint.engine.recognise.recognisers import keyword_arg
from factorlint.engine.semantic.names import literal_string

_COMPONENT_ROLES = ("checkpointer", "memory", "approval", "interrupt")
MAIN_BLOCK = "__main__"  # the function name given to a script's `if __name__ == "__main__":` block


@dataclass
class RawSite:
    """A site before positions are resolved (the runner resolves them with the findings')."""

    kind: str
    node: cst.CSTNode
    label: str
    function: str  # the enclosing function's qualified name, "" at module level
    requires: tuple[str, ...] = ()
    detail: dict = field(default_factory=dict)
    unless_human: tuple[str, ...] = ()  # see Site.unless_human
    requires_cycle: tuple[str, ...] = ()  # see Site.requires_cycle


def _short(qualname: str) -> str:
    parts = qualname.replace("()", "").split(".")
    return ".".join(parts[-2:]) if len(parts) > 1 else parts[0]


def _list_length(call: cst.Call, keywords) -> int | None:
    for keyword in keywords:
        arg = keyword_arg(call, keyword)
        if arg is not None:
            value = arg.value
            if isinstance(value, (cst.List, cst.Tuple)):
                return len(value.elements)
            return None  # a variable: the count is not written here
    return 0


class InventoryCollector:
    """A batched-visit participant that records sites; its output goes on the FileResult."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.sites: list[RawSite] = []
        self._seen: set[tuple[str, int]] = set()
        self._functions: dict[str, cst.CSTNode] = {}  # qualname -> def, for function sites
        self._main_guard: cst.If | None = None  # the module's `if __name__ == "__main__":`
        # One agent is often several calls: a factory, the executor wrapping it, the run call.
        # Sites of one agent share a group so the scorecard counts the agent once.
        self._agent_names: dict[tuple[str, str], RawSite] = {}  # (function, variable) -> site
        self._wrapper_calls: dict[str, set[str]] = {}  # function -> project calls that may reach a model
        self._groups = 0

    def _add(self, kind: str, node: cst.CSTNode, label: str, requires=(), **detail) -> RawSite | None:
        key = (kind, id(node))
        if key in self._seen:
            return None
        self._seen.add(key)
        function = self.ctx.current_function_qualname() or ""
        if function and self.ctx.function_stack:
            self._functions.setdefault(function, self.ctx.function_stack[-1])
        elif not function and self._main_guard is not None:
            # A script's main block runs the agent as a function would: an entry of its own.
            function = MAIN_BLOCK
            self._functions.setdefault(function, self._main_guard)
        site = RawSite(kind, node, label, function, tuple(requires), detail)
        self.sites.append(site)
        return site

    # -- one agent, several sites -------------------------------------------------------------

    def leave_Assign(self, node: cst.Assign) -> None:
        """Remember ``executor = AgentExecutor(...)`` so later uses join the same agent."""
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        if not isinstance(node.value, cst.Call) or not self.sites:
            return
        last = self.sites[-1]
        if last.kind == "agent" and last.node is node.value:
            function = self.ctx.current_function_qualname() or ""
            self._agent_names[(function, node.targets[0].target.value)] = last

    def _join(self, site: RawSite | None, value: cst.BaseExpression) -> None:
        """Put ``site`` in the group of the agent that the variable ``value`` names, if any."""
        if site is None or not isinstance(value, cst.Name):
            return
        function = self.ctx.current_function_qualname() or ""
        other = self._agent_names.get((function, value.value)) or self._agent_names.get(("", value.value))
        if other is None:
            return
        if "agent_group" not in other.detail:
            self._groups += 1
            other.detail["agent_group"] = self._groups
        site.detail["agent_group"] = other.detail["agent_group"]

    # -- calls --------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if not (ctx.relevant or ctx.scan.imported_modules):
            return
        self._recursion(node)
        llm = ctx.recognise.llm_call(node)
        if llm is not None:
            self._llm_call(node, llm)
            return
        if ctx.relevant:
            self._unresolved(node)
        agent = ctx.recognise.agent_construct(node)
        if agent is not None:
            self._agent(node, agent)
            return
        handoff = ctx.recognise.handoff(node)
        if handoff is not None:
            from factorlint.engine.agents.entrypoints import handoff_label

            bounded = handoff.bound is not None and keyword_arg(node, handoff.bound.parameter) is not None
            site = self._add(
                "handoff", node, handoff_label(handoff).strip("`"),
                framework=handoff.framework_name, bounded=bounded,
            )
            if isinstance(node.func, cst.Attribute):
                self._join(site, node.func.value)
            return
        from factorlint.engine.recognise import retries
        from factorlint.engine.recognise.prompts import builder_sites

        retry = retries.applied_site(ctx, node)
        if retry is not None:
            self._retry(retry)
        for prompt_site in builder_sites(ctx, node):
            self._prompt(prompt_site, ())
        self._component(node)

    def _unresolved(self, node: cst.Call) -> None:
        """A call named like a model call (``PLUGINS[name].generate(...)``) on a receiver chosen at
        run time, in a module that uses a model framework: the audit lists it as not followed."""
        func = node.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value in self.ctx.knowledge.generating_names
            and self.ctx.qualname(func) is None
        ):
            return
        self._add("llm_call", node, func.attr.value, (), direct=False,
                  unresolved=self.ctx.code_for(func)[:80], receiver="chosen at run time")

    def _llm_call(self, node: cst.Call, llm) -> None:
        from factorlint.engine.recognise.prompts import call_prompt_sites

        if not llm.certain and not llm.by_shape and not self._may_be_direct(llm.qualname):
            # A call of a project function (``run_step(...)``): it is a wrapper's call if anything,
            # never listed as a model call, but its function may be a model-calling function.
            function = self.ctx.current_function_qualname()
            if function and self.ctx.function_stack:
                self._functions.setdefault(function, self.ctx.function_stack[-1])
                self._wrapper_calls.setdefault(function, set()).update(llm.requires)
            return
        model_arg = keyword_arg(node, "model") or keyword_arg(node, "model_name")
        model = None
        if model_arg is not None:
            model = literal_string(model_arg.value) or self.ctx.code_for(model_arg.value)[:60]
        tools = bool(llm.spec is not None and any(keyword_arg(node, k) for k in llm.spec.tools_keywords))
        self._add(
            "llm_call", node, _short(llm.qualname), llm.requires,
            model=model, structured=llm.structured, tools=tools,
            direct=llm.certain,  # a wrapper of the project is settled later, not direct
            **({"receiver": "not resolved: recognised by the SDK's method path"} if llm.by_shape else {}),
        )
        if llm.spec is not None:
            for site in call_prompt_sites(self.ctx, node, llm.spec):
                self._prompt(site, llm.requires)

    def _agent(self, node: cst.Call, agent) -> None:
        from factorlint.engine.recognise.prompts import agent_prompt_sites

        spec = agent.spec
        bound = None
        if spec.bound is not None:
            bound = keyword_arg(node, spec.bound.parameter) is not None
        memory = any(keyword_arg(node, k) is not None for k in spec.memory_keywords)
        checkpointer = any(keyword_arg(node, k) is not None for k in spec.checkpointer_keywords)
        site = self._add(
            "agent", node, _short(agent.qualname),
            framework=agent.framework.name, tools=_list_length(node, spec.tools_keywords),
            memory=memory, checkpointer=checkpointer, bounded=bound, owns_loop=spec.owns_loop,
        )
        for arg in node.args:
            self._join(site, arg.value)
        if spec.prompt is not None:
            for prompt_site in agent_prompt_sites(self.ctx, node, spec.prompt):
                self._prompt(prompt_site, ())

    def _prompt(self, site, requires) -> None:
        self._add("prompt", site.node, site.where, requires, source=site.kind, chars=site.text_chars)

    def _retry(self, site) -> None:
        from factorlint.engine.recognise import retries

        bounded = retries.unbounded_reason(self.ctx, site) is None
        self._add("retry", site.node, _short(site.qualname), site.requires, bounded=bounded)

    def _component(self, node: cst.Call) -> None:
        qualname = self.ctx.qualname(node.func)
        if not qualname:
            return
        for component in self.ctx.knowledge.components.get(qualname):
            if component.role in _COMPONENT_ROLES:
                self._add(component.role, node, _short(qualname), persistent=component.persistent)
                return

    def visit_If(self, node: cst.If) -> None:
        if self._main_guard is None and not self.ctx.function_stack and not self.ctx.class_stack:
            from factorlint.engine.agents.entrypoints import is_main_guard

            if is_main_guard(node):
                self._main_guard = node

    def leave_If(self, node: cst.If) -> None:
        if node is self._main_guard:
            self._main_guard = None

    # -- loops and definitions ----------------------------------------------------------------

    def visit_While(self, node: cst.While) -> None:
        self._loop(node)

    def visit_For(self, node: cst.For) -> None:
        self._loop(node)
        if self.ctx.relevant:
            from factorlint.engine.recognise import retries

            site = retries.loop_site(self.ctx, node)
            if site is not None:
                self._retry(site)

    def _loop(self, node) -> None:
        info = self.ctx.loops.analyse(node)
        label = "while" if isinstance(node, cst.While) else "for"
        repl = "each iteration waits for console input (a chat REPL)"
        if info.repl_calls and not info.llm_calls:
            self._add("loop", node, label, requires_of(info.repl_calls), bounded=True, human_gated=True, bound=repl)
            return
        if info.llm_calls:
            site = self._add(
                "loop", node, label, info.requires, bounded=info.bounded or info.human_gated,
                bound=info.bound_reason, human_gated=info.human_gated,
            )
            if site is not None and not info.human_gated:
                site.unless_human = info.may_ask
            if not info.requires:
                return  # certainly an agent loop
        if info.repl_calls:
            # A chat REPL unless the loop stands as an agent loop in the project pass.
            self.sites.append(RawSite(
                "loop", node, label, self.ctx.current_function_qualname() or "",
                requires_of(info.repl_calls),
                {"bounded": True, "human_gated": True, "bound": repl, "fallback": True},
            ))
        elif info.unfed_calls and info.may_ask and isinstance(node, cst.While):
            # Perhaps a chat REPL whose history lives behind the call: the project pass keeps it
            # if one of the calls asks a person, unless the loop stands as an agent loop.
            self.sites.append(RawSite(
                "loop", node, label, self.ctx.current_function_qualname() or "",
                requires_of(info.unfed_calls),
                {"bounded": True, "human_gated": True, "bound": repl, "needs_person": True, "fallback": True},
                info.may_ask,
            ))

    def _graph_cycles(self) -> None:
        """Each cycle of a hand-wired graph is an agent loop, placed at the graph's constructor."""
        for cycle in graph_cycles(self.ctx):
            self.sites.append(RawSite(
                "loop", cycle.builder, "graph cycle", "",
                cycle.requires,
                {"bounded": cycle.bounded, "bound": cycle.bound, "human_gated": cycle.human_gated,
                 "graph": cycle.builder_name, "nodes": list(cycle.nodes)},
            ))

    def _recursion(self, node: cst.Call) -> None:
        """An agent loop written as recursion closes at the call of the function itself, or at
        the call that leads back to it through other project functions."""
        recursion = recursive_agent_loop(self.ctx, node)
        if recursion is not None:
            self._add(
                "loop", node, "recursion", recursion.requires,
                bounded=recursion.bounded, bound=recursion.bound_reason, human_gated=False,
            )
            return
        onward = onward_agent_loop(self.ctx, node)
        if onward is not None:
            found, step = onward
            site = self._add(
                "loop", node, "recursion", step.requires,
                bounded=step.bounded, bound=step.bound_reason, human_gated=False,
                through=step.callee.rsplit(".", 1)[-1],
            )
            if site is not None:
                site.requires_cycle = (step.callee, self.ctx.function_qualname(found.function))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not node.decorators or not self.ctx.relevant:
            return
        from factorlint.engine.recognise import retries

        for site in retries.decorator_sites(self.ctx, node):
            self._retry(site)

    def leave_Module(self, node: cst.Module) -> None:
        if self.ctx.relevant:
            self._graph_cycles()
        if not self.sites and not self.ctx.relevant:
            return
        self._tools()
        self._entry_points()
        self._function_sites()

    def _may_be_direct(self, qualname: str) -> bool:
        """Could the project pass resolve this call to a model call (its name is a generating
        member of some client: ``create``, ``ainvoke``, ``completion``)? Computing the position
        of every call of every project function would cost more than the rest of the visit."""
        knowledge = self.ctx.knowledge
        last = qualname.replace("()", "").rsplit(".", 1)[-1]
        return last in knowledge.generating_names or bool(self.ctx.imported_roots & knowledge.any_name_roots)

    def _function_sites(self) -> None:
        """The functions that run an agent (a loop or a hand-off) or call a model."""
        held: dict[str, list[RawSite]] = {}
        for site in self.sites:
            if site.function and site.kind in ("loop", "handoff", "llm_call"):
                held.setdefault(site.function, []).append(site)
        for qualname in self._wrapper_calls:
            held.setdefault(qualname, [])
        for qualname, sites in held.items():
            node = self._functions.get(qualname)
            if node is None:
                continue
            kinds = {s.kind for s in sites} | ({"llm_call"} if qualname in self._wrapper_calls else set())
            certain = any(not s.requires for s in sites)
            requires = () if certain else tuple(sorted(
                {q for s in sites for q in s.requires} | self._wrapper_calls.get(qualname, set())
            ))
            self.sites.append(
                RawSite(
                    "function", node, qualname, qualname, requires,
                    {"runs_agent": bool(kinds & {"loop", "handoff"}), "calls_llm": "llm_call" in kinds},
                )
            )

    def _tools(self) -> None:
        if not self.ctx.relevant:
            return
        from factorlint.engine.recognise.tools import tool_definitions

        for tool in tool_definitions(self.ctx):
            self.sites.append(
                RawSite(
                    "tool", tool.node, tool.name, "", (),
                    {"framework": tool.framework, "approval": tool.approval, "style": tool.kind},
                )
            )

    def _entry_points(self) -> None:
        if not any(s.kind in ("loop", "handoff", "agent", "llm_call") for s in self.sites):
            return
        from factorlint.engine.agents.entrypoints import entry_points

        main = self._functions.get(MAIN_BLOCK)
        if main is not None and any(s.function == MAIN_BLOCK and s.kind in ("loop", "handoff") for s in self.sites):
            self.sites.append(RawSite("entry_point", main, "python " + self.ctx.path.rsplit("/", 1)[-1], MAIN_BLOCK, (), {"trigger": "script"}))
        index = entry_points(self.ctx)
        for info, trigger in index.handlers("http", "websocket", "event", "queue", "schedule", "cli"):
            runs = index.agent_runs(info)
            if not runs:
                continue
            self.sites.append(
                RawSite(
                    "entry_point", info.node, trigger.label(info.node).strip("`"), info.qualname,
                    tuple(sorted({q for r in runs for q in r.requires})) if all(r.requires for r in runs) else (),
                    {"trigger": trigger.kind},
                )
            )
