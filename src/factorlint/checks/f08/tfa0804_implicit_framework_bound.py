from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.edits import explicit_bound
from factorlint.engine.agents.file_agents import file_agents


class ImplicitFrameworkBound(Rule):
    """## What it does
    Finds framework agents that rely on a default step bound that changed across the
    framework's versions, when the project pins none: LangGraph graphs without `recursion_limit`
    (25, then 10000) and the like, as the knowledge tables record each default's history.

    A finite default that has not changed (`AgentExecutor`'s `max_iterations` 15, CrewAI's
    `max_iter` 25, smolagents' `max_steps` 20, `Runner.run`'s `max_turns` 10) is a bound the user
    can read in the framework's documentation, and docs/violations.md (factor 8) leaves it alone.

    ## Why is this bad?
    Factor 8 (own your control flow): the budget of your agent is a product decision, and the
    default is not yours. Defaults change between releases: LangGraph's recursion limit went
    from 25 to 10000 in January 2026 (langchain-ai/langgraph#6676), which silently removed the
    bound from every graph that relied on it.

    ## Example
    ```python
    graph = builder.compile()
    graph.invoke({"messages": messages})
    ```

    ## Use instead
    ```python
    graph.invoke({"messages": messages}, config={"recursion_limit": 40})
    ```

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`): the bound is written out at the `max-steps` setting (20 by
    default), in the call or, for LangGraph, as `recursion_limit` in the run's `config`. It
    replaces a default that differs between versions, so the run may now stop sooner: check
    the number.

    ## Options
    None. The framework version is read from the project's lock files or pins.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-08-own-your-control-flow.md
    - langchain-ai/langgraph#6676
    """

    meta = RuleMeta(
        code="TFA0804",
        name="implicit-framework-bound",
        factor=8,
        severity="advice",
        confidence="high",
        summary="The agent relies on the framework's default step bound",
        fix_advice="Set the step bound explicitly (the message names the parameter and today's default).",
        fix="sometimes",
    )

    fixes = [
        (
            """
from langgraph.graph import StateGraph

graph = StateGraph(dict).compile()
graph.invoke({"messages": []})
graph.invoke({"messages": []}, config={})
""",
            """
from langgraph.graph import StateGraph

graph = StateGraph(dict).compile()
graph.invoke({"messages": []}, config={"recursion_limit": 20})
graph.invoke({"messages": []}, config={"recursion_limit": 20})
""",
        ),
    ]

    invalid = [
        """
from langgraph.graph import StateGraph

graph = StateGraph(dict).compile()
graph.invoke({"messages": []})  # expect: TFA0804 @1-31 | LangGraph `StateGraph.invoke` relies on the implicit default recursion_limit: 25 for <1.0.6; 10000 for >=1.0.6,<1.1.4; 10007 for >=1.1.4 (the default changed across versions and none is pinned here)
""",
    ]
    valid = [
        """
from crewai import Agent
analyst = Agent(role="Analyst", goal="Find churn", backstory="Data scientist", tools=[], max_iter=8)
""",
        """
from smolagents import CodeAgent
agent = CodeAgent(tools=[], model=model)
agent.run("task", max_steps=6)
""",
        """
from langchain.agents import AgentExecutor
executor = AgentExecutor(agent=agent, tools=tools, max_iterations=10)
""",
    ]
    near_miss = [
        # Finite defaults that have not changed across versions: a bound the user can look up.
        """
from crewai import Agent

analyst = Agent(role="Analyst", goal="Find churn", backstory="Data scientist", tools=[])
""",
        """
from agents import Runner

result = Runner.run_sync(agent, "task")
""",
        """
import smolagents as sa

agent = sa.CodeAgent(tools=[], model=model)
agent.run("task")
""",
        # A subgraph run with the parent run's config, passed by position: the bound may be in it.
        """
from langgraph.graph import StateGraph

researcher = StateGraph(dict).compile()

async def supervisor(state, config):
    return await researcher.ainvoke({"topic": state["topic"]}, config)
""",
        # Explicitly unbounded is TFA0803's business.
        """
from langchain.agents import AgentExecutor
executor = AgentExecutor(agent=agent, tools=tools, max_iterations=None)
""",
        # A pinned langgraph where the default is huge: TFA0803 reports it, not this rule.
        {
            "requirements.txt": "langgraph==1.1.0\n",
            "app.py": """
from langgraph.graph import StateGraph

graph = StateGraph(dict).compile()
graph.invoke({"messages": []})
""",
        },
        # A class named Agent that is not CrewAI's.
        """
class Agent:
    def __init__(self, role):
        self.role = role

a = Agent(role="x")
""",
    ]

    def leave_Module(self, node: cst.Module) -> None:
        for label, check in file_agents(self.ctx).bound_checks(self.ctx):
            # A finite default that has not changed across versions is a bound the user can read in
            # the framework's documentation: docs/violations.md (factor 8) leaves it alone.
            if check.state in ("absent_default", "absent_unbounded") and not check.certain:
                note = " (the default changed across versions and none is pinned here)"
                self.report(
                    check.node,
                    f"{label} relies on the implicit default {check.describe_default()}{note}",
                    fix_message=f"Pass `{check.spec.parameter}=` explicitly with the budget you want.",
                    fix=explicit_bound(self.ctx, check, unsafe=True),
                )
