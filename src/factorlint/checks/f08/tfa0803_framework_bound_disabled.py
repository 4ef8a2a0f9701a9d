from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.edits import explicit_bound
from factorlint.engine.agents.file_agents import file_agents


class FrameworkBoundDisabled(Rule):
    """## What it does
    Finds framework agents whose step bound is switched off (`max_iterations=None`,
    `max_turns=None`, `float("inf")`), set absurdly high, or left out where the framework's own
    default is no bound at all: AutoGen AgentChat teams without `max_turns` or a termination
    condition, Anthropic's `tool_runner` without `max_iterations`, a LangGraph graph run without
    `recursion_limit` on langgraph 1.0.6 or later (the default went from 25 to 10000).

    ## Why is this bad?
    Factor 8 (own your control flow): the framework runs the loop and only its bound stops a model
    that never says "done". LangChain added `max_iterations` because agents got stuck looping
    (langchain-ai/langchain#336); AutoGen's docs warn a team "will run indefinitely" without a
    termination condition.

    ## Example
    ```python
    Runner.run_sync(agent, task, max_turns=None)
    ```

    ## Use instead
    ```python
    Runner.run_sync(agent, task, max_turns=8)  # and catch MaxTurnsExceeded to escalate
    ```

    ## Fix safety
    Safe: the bound is made explicit at the `max-steps` setting (20 by default): `None` or an
    infinite value replaced, the keyword added to the constructor or the run call, or the
    `recursion_limit` entry added to a LangGraph run's `config`. A bound inside an object
    (pydantic-ai's `UsageLimits`) or a config passed by position is left to you.

    ## Options
    None. The version of the framework is read from the project's lock files or pins.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-08-own-your-control-flow.md
    - langchain-ai/langgraph#6676 (default recursion limit raised to 10000)
    """

    meta = RuleMeta(
        code="TFA0803",
        name="framework-bound-disabled-or-absent",
        factor=8,
        severity="error",
        confidence="high",
        summary="The framework's step bound is disabled or absent, so the agent loop is unbounded",
        fix_advice="Pass an explicit, small step bound to the framework and handle the error it raises when exceeded.",
        fix="always",
    )

    fixes = [
        (
            """
from agents import Runner
from autogen_agentchat.teams import RoundRobinGroupChat
from langchain.agents import AgentExecutor

executor = AgentExecutor(agent=agent, tools=tools, max_iterations=None)
team = RoundRobinGroupChat([writer, critic])

async def go(agent, task):
    return await Runner.run(agent, task, max_turns=float("inf"))
""",
            """
from agents import Runner
from autogen_agentchat.teams import RoundRobinGroupChat
from langchain.agents import AgentExecutor

executor = AgentExecutor(agent=agent, tools=tools, max_iterations=20)
team = RoundRobinGroupChat([writer, critic], max_turns=20)

async def go(agent, task):
    return await Runner.run(agent, task, max_turns=20)
""",
        ),
        (
            {
                "requirements.txt": "langgraph==1.0.6\n",
                "agent.py": """
from langgraph.prebuilt import create_react_agent

agent = create_react_agent(model, tools)
agent.invoke({"messages": msgs})
agent.invoke({"messages": msgs}, config={"configurable": {"thread_id": "t"}})
""",
            },
            """
from langgraph.prebuilt import create_react_agent

agent = create_react_agent(model, tools)
agent.invoke({"messages": msgs}, config={"recursion_limit": 20})
agent.invoke({"messages": msgs}, config={"configurable": {"thread_id": "t"}, "recursion_limit": 20})
""",
        ),
    ]

    invalid = [
        """
from langchain.agents import AgentExecutor

executor = AgentExecutor(agent=agent, tools=tools, max_iterations=None)  # expect: TFA0803 @67-71 | `max_iterations=None` removes the step bound of LangChain `AgentExecutor`: the loop is unbounded
""",
        """
from agents import Runner

async def go(agent, task):
    return await Runner.run(agent, task, max_turns=None)  # expect: TFA0803 @52-56 | `max_turns=None` removes the step bound of OpenAI Agents SDK `Runner.run`: the loop is unbounded
""",
        """
from autogen_agentchat.teams import RoundRobinGroupChat

team = RoundRobinGroupChat([writer, critic])  # expect: TFA0803 @8-45 | AutoGen AgentChat `RoundRobinGroupChat` runs without `max_turns` and its default is no limit: the loop is effectively unbounded
""",
        {
            "requirements.txt": "langgraph==1.0.6\n",
            "app.py": """
from langgraph.prebuilt import create_react_agent

agent = create_react_agent(model, tools)
agent.invoke({"messages": msgs})  # expect: TFA0803 @1-33 | LangGraph `create_react_agent.invoke` runs without `recursion_limit` and its default (version 1.0.6) is 10000: the loop is effectively unbounded
""",
        },
    ]
    valid = [
        """
from langchain.agents import AgentExecutor
executor = AgentExecutor(agent=agent, tools=tools, max_iterations=10)
""",
        """
from agents import Runner
Runner.run_sync(agent, "task", max_turns=8)
""",
        """
from autogen_agentchat.teams import RoundRobinGroupChat
team = RoundRobinGroupChat([writer, critic], max_turns=6)
""",
        """
from langchain.agents import AgentExecutor
executor = AgentExecutor(agent=agent, tools=tools, max_iterations=None, max_execution_time=60)
""",
    ]
    near_miss = [
        # A default that is finite is TFA0804's business, not this rule's.
        """
from agents import Runner
Runner.run_sync(agent, "task")
""",
        # ``None`` on a parameter that is not the bound.
        """
from langchain.agents import AgentExecutor
executor = AgentExecutor(agent=agent, tools=tools, max_iterations=5, callbacks=None)
""",
        # A LangGraph graph with an explicit recursion limit, on a version where the default is large.
        {
            "requirements.txt": "langgraph==1.0.6\n",
            "app.py": """
from langgraph.prebuilt import create_react_agent

agent = create_react_agent(model, tools)
agent.invoke({"messages": msgs}, config={"recursion_limit": 25})
""",
        },
        # Options passed through **kwargs cannot be judged.
        """
from langchain.agents import AgentExecutor
executor = AgentExecutor(agent=agent, tools=tools, **options)
""",
    ]

    def leave_Module(self, node: cst.Module) -> None:
        for label, check in file_agents(self.ctx).bound_checks(self.ctx):
            parameter = check.spec.parameter
            fix = explicit_bound(self.ctx, check)
            if check.state == "disabled":
                self.report(check.node, f"`{parameter}=None` removes the step bound of {label}: the loop is unbounded",
                            fix=fix)
            elif check.state == "too_large":
                self.report(check.node, f"`{parameter}` of {label} is so large it bounds nothing", fix=fix)
            elif check.state == "absent_unbounded" and check.certain:
                default = check.describe_default()
                where = f" (version {check.version})" if check.version else ""
                self.report(
                    check.node,
                    f"{label} runs without `{parameter}` and its default{where} is {default.split('=', 1)[-1]}: "
                    "the loop is effectively unbounded",
                    fix=fix,
                )
