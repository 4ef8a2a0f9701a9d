"""The framework agents a file builds and the loops it hands to frameworks (factors 8 and 10).

Recorded by the engine during the batched walk (:class:`engine.run.call_recorder.CallRecorder`), one
call at a time, so a rule asking at the end of the module sees every call of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.recognise.recognisers import AgentConstruct, Handoff, keyword_arg


@dataclass
class FileAgents:
    """Every framework agent constructed and every hand-off call in one file."""

    constructs: list[AgentConstruct] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)
    step_controlled_types: set[str] = field(default_factory=set)  # types driven step by step
    run_bounded_types: set[str] = field(default_factory=set)  # types given a bound at run time
    _seen: set[int] = field(default_factory=set)
    _bound_checks: list | None = None

    def record(self, ctx, call: cst.Call) -> None:
        if id(call) in self._seen:
            return
        self._seen.add(id(call))
        construct = ctx.recognise.agent_construct(call)
        if construct is not None:
            self.constructs.append(construct)
            if any(keyword_arg(call, kw) is not None for kw in construct.spec.step_control_keywords):
                self.step_controlled_types.add(construct.qualname)
            return
        handoff = ctx.recognise.handoff(call)
        if handoff is not None:
            self.handoffs.append(handoff)
            if handoff.agent_type and handoff.spec is not None and handoff.spec.run_bound is not None:
                if keyword_arg(call, handoff.spec.run_bound.parameter) is not None:
                    self.run_bounded_types.add(handoff.agent_type)
            return
        qualname = ctx.qualname(call.func)
        if qualname and "()." in qualname:
            receiver, member = qualname.rsplit("().", 1)
            agent = ctx.knowledge.agent_constructors.first(receiver)
            if agent is not None and member in agent[1].step_control_methods:
                self.step_controlled_types.add(receiver)

    def bound_checks(self, ctx) -> list:
        """Every step-bound question in the file, once all its calls are recorded (a rule asks
        at the end of the module): (agent label, BoundCheck)."""
        if self._bound_checks is None:
            self._bound_checks = _bound_checks(ctx, self)
        return self._bound_checks


def file_agents(ctx) -> FileAgents:
    """The file's agents, recorded during the walk."""
    return ctx.analysis(_new)


def _new(ctx) -> FileAgents:
    return FileAgents()


def handoff_label(handoff) -> str:
    """``StateGraph().ainvoke`` / ``Runner.run_sync``: what the reader sees in the code."""
    if handoff.agent_type:
        return f"`{handoff.agent_type.rsplit('.', 1)[-1]}.{handoff.qualname.rsplit('.', 1)[-1]}`"
    return "`" + ".".join(handoff.qualname.replace("()", "").split(".")[-2:]) + "`"


def _bound_checks(ctx, agents: FileAgents) -> list:
    """Every step-bound question in the file: (agent label, BoundCheck)."""
    from factorlint.engine.agents.bounds import check_bound

    checks = []
    for construct in agents.constructs:
        spec = construct.spec
        if spec.bound is None or not spec.owns_loop:
            continue
        if spec.run_bound is not None and construct.qualname in agents.run_bounded_types:
            continue  # bounded where it runs (smolagents ``run(max_steps=...)``)
        label = f"{construct.framework.title} `{construct.qualname.rsplit('.', 1)[-1]}`"
        checks.append((label, check_bound(ctx, construct.node, spec.bound, construct.framework.distribution)))
    for handoff in agents.handoffs:
        if handoff.bound is None:
            continue
        if handoff.spec is not None and handoff.spec.bound is not None:
            # The constructor carries the bound; a missing run-time bound falls back to it.
            if keyword_arg(handoff.node, handoff.bound.parameter) is None:
                continue
        framework = next((fw for fw in ctx.knowledge.frameworks if fw.name == handoff.framework_name), None)
        distribution = framework.distribution if framework is not None else None
        label = f"{framework.title if framework else handoff.framework_name} {handoff_label(handoff)}"
        checks.append((label, check_bound(ctx, handoff.node, handoff.bound, distribution)))
    return checks
