from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.f08._agents import handoff_label
from factorlint.engine.agents.file_agents import file_agents
from factorlint.engine.recognise.recognisers import keyword_arg


class FrameworkOwnedLoop(Rule):
    """## What it does
    Finds the calls that hand the agent loop to a framework: `AgentExecutor.invoke`,
    `Crew.kickoff`, `Runner.run_sync`, smolagents `agent.run`, AutoGen `initiate_chat`, a
    prebuilt LangGraph agent's `invoke`, pydantic-ai `run_sync`, Anthropic's `tool_runner` and
    the like (the list lives in the knowledge tables).

    ## Why is this bad?
    Factor 8 (own your control flow): once the framework runs the loop you cannot break out
    between choosing a tool and running it, pause for a human, compact errors, or add your own
    budget and logging per step. The report is downgraded to advice when the same agent is given
    step-level control (`AgentExecutor.iter()`, pydantic-ai `agent.iter()`, smolagents
    `step_callbacks`, LangGraph `interrupt_before`, LangChain v1 `middleware=`).

    Developer-owned graphs (a LangGraph `StateGraph` you wire yourself, a CrewAI `Flow`) are not
    reported: you own their edges.

    ## Example
    ```python
    executor = AgentExecutor(agent=create_tool_calling_agent(llm, tools, prompt), tools=tools)
    answer = executor.invoke({"input": ticket_text})["output"]
    ```

    ## Use instead
    ```python
    def handle(thread: Thread) -> Thread:
        for _ in range(MAX_STEPS):
            step = determine_next_step(render(thread))
            thread.append(step)
            match step.intent:
                case "done_for_now":
                    return thread
                case "request_approval":
                    store.save(thread)
                    return thread  # resume later
                case _:
                    thread.append(execute(step))
        return escalate(thread)
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None. Whether delegating the loop is acceptable is your call: ignore `TFA0801` per file or
    project if it is.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-08-own-your-control-flow.md
    """

    meta = RuleMeta(
        code="TFA0801",
        name="framework-owned-loop",
        factor=8,
        severity="warning",
        confidence="high",
        summary="The framework runs the agent loop: you cannot pause, inspect or bound each step",
        fix_advice=(
            "Own the loop: call the model for the next step yourself and switch on it, or use the "
            "framework's step API (`.iter()`, interrupts, middleware) so you can stop between steps."
        ),
    )

    invalid = [
        """
from langchain.agents import AgentExecutor, create_tool_calling_agent

def answer(llm, tools, prompt, ticket):
    executor = AgentExecutor(agent=create_tool_calling_agent(llm, tools, prompt), tools=tools, max_iterations=8)
    return executor.invoke({"input": ticket})  # expect: TFA0801 @12-46 | The framework runs the agent loop (LangChain `AgentExecutor.invoke`): you cannot pause, inspect or bound each step
""",
        """
from agents import Agent, Runner

triage = Agent(name="triage", instructions="Route the ticket.")
result = Runner.run_sync(triage, "my order is late", max_turns=5)  # expect: TFA0801 @10-66 | The framework runs the agent loop (OpenAI Agents SDK `Runner.run_sync`): you cannot pause, inspect or bound each step
""",
        """
from crewai import Agent, Crew, Task

class Research:
    def __init__(self):
        self.crew = Crew(agents=[], tasks=[])

    def go(self):
        return self.crew.kickoff(inputs={"topic": "x"})  # expect: TFA0801 @16-56 | The framework runs the agent loop (CrewAI `Crew.kickoff`): you cannot pause, inspect or bound each step
""",
    ]
    valid = [
        # A developer-owned LangGraph graph: the edges are yours.
        """
from langgraph.graph import StateGraph

builder = StateGraph(dict)
graph = builder.compile()
graph.invoke({"messages": []}, config={"recursion_limit": 20})
""",
        # Own loop around a plain model call.
        """
from openai import OpenAI
client = OpenAI()

def step(thread):
    return client.chat.completions.create(model="m", messages=thread)
""",
        # Constructing an agent without running it here.
        """
from agents import Agent
triage = Agent(name="triage", instructions="Route the ticket.")
""",
    ]
    near_miss = [
        # A method called `run` on something that is not an agent.
        """
import subprocess
subprocess.run(["ls"])
""",
        """
class Runner:
    @staticmethod
    def run_sync(agent, task):
        return task

Runner.run_sync(None, "x")
""",
        """
def kickoff(crew):
    return crew.kickoff()
""",
    ]

    def leave_Module(self, node: cst.Module) -> None:
        agents = file_agents(self.ctx)
        for handoff in agents.handoffs:
            if not handoff.owns_loop:
                continue
            controlled = (
                handoff.agent_type in agents.step_controlled_types
                or any(keyword_arg(handoff.node, kw) is not None for kw in handoff.step_control_keywords)
            )
            framework = next((fw for fw in self.ctx.knowledge.frameworks if fw.name == handoff.framework_name), None)
            where = f"{framework.title if framework else handoff.framework_name} {handoff_label(handoff)}"
            if controlled:
                self.report(
                    handoff.node,
                    f"The framework runs the agent loop ({where}); step-level control is configured",
                    severity="advice",
                )
            else:
                self.report(
                    handoff.node,
                    f"The framework runs the agent loop ({where}): you cannot pause, inspect or bound each step",
                )
