"""Shared by the factor-8 rules: the agents a file builds and the loops it hands to frameworks."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.recognisers import AgentConstruct, Handoff, keyword_arg


@dataclass
class FileAgents:
    """Every framework agent constructed and every hand-off call in one file."""

    constructs: list[AgentConstruct] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)
    step_controlled_types: set[str] = field(default_factory=set)  # types driven step by step
    run_bounded_types: set[str] = field(default_factory=set)  # types given a bound at run time

    def record(self, ctx, call: cst.Call) -> None:
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


def file_agents(ctx) -> FileAgents:
    """One FileAgents per file, filled by whichever factor-8 rule visits a call first."""
    agents = getattr(ctx, "_file_agents", None)
    if agents is None:
        agents = ctx._file_agents = FileAgents()
        ctx._file_agents_seen = set()
    return agents


def record_call(ctx, call: cst.Call) -> None:
    agents = file_agents(ctx)
    if id(call) in ctx._file_agents_seen:
        return
    ctx._file_agents_seen.add(id(call))
    agents.record(ctx, call)


def handoff_label(handoff) -> str:
    """``StateGraph().ainvoke`` / ``Runner.run_sync``: what the reader sees in the code."""
    if handoff.agent_type:
        return f"`{handoff.agent_type.rsplit('.', 1)[-1]}.{handoff.qualname.rsplit('.', 1)[-1]}`"
    return "`" + ".".join(handoff.qualname.replace("()", "").split(".")[-2:]) + "`"


def bound_checks(ctx):
    """Every step-bound question in the file: (node to report, agent label, BoundCheck)."""
    from factorlint.engine.bounds import check_bound

    cached = getattr(ctx, "_bound_checks", None)
    if cached is not None:
        return cached
    agents = file_agents(ctx)
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
            from factorlint.engine.recognisers import keyword_arg

            if keyword_arg(handoff.node, handoff.bound.parameter) is None:
                continue
        framework = next((fw for fw in ctx.knowledge.frameworks if fw.name == handoff.framework_name), None)
        distribution = framework.distribution if framework is not None else None
        label = f"{framework.title if framework else handoff.framework_name} {handoff_label(handoff)}"
        checks.append((label, check_bound(ctx, handoff.node, handoff.bound, distribution)))
    ctx._bound_checks = checks
    return checks
