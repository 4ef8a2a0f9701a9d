from __future__ import annotations

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, Rule, RuleMeta
from factorlint.checks.f10._steps import loop_step_limits
from factorlint.engine.agents.agents_shape import int_value
from factorlint.engine.agents.file_agents import file_agents
from factorlint.engine.recognise.recognisers import keyword_arg


class StepBudgetTooLarge(Rule):
    """## What it does
    Finds step budgets larger than `max-step-budget` (default 74, so 75 or more): an explicit framework bound
    (`AgentExecutor(max_iterations=100)`, `Runner.run(..., max_turns=80)`, `CodeAgent(max_steps=90)`,
    `Agent(max_iter=120)`, `config={"recursion_limit": 200}`,
    `usage_limits=UsageLimits(request_limit=100)`, ...) and the limit of a hand-written agent
    loop (`for _ in range(50)`, `while turn < MAX_TURNS`, `if steps >= 100: break`). Numbers are
    followed through a constant, a variable assigned once, or a parameter's default.

    A framework default above the budget is not reported here (TFA0804 asks to make it explicit),
    nor is a bound so large it bounds nothing (TFA0803).

    ## Why is this bad?
    Factor 10 (small, focused agents) says an agent should finish its job in "3-10, maybe 20
    steps". Context grows with every step and the model is more likely to lose focus as it does;
    an agent that needs a budget of 100 steps is doing several jobs. A large budget also turns an
    error spin-out into a long and expensive one before anything stops it.

    ## Example
    ```python
    executor = AgentExecutor(agent=agent, tools=tools, max_iterations=100)
    ```

    ## Use instead
    ```python
    executor = AgentExecutor(agent=agent, tools=tools, max_iterations=10)
    # and split the task into smaller agents if it regularly needs more
    ```

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`), for a budget written as a number where it is used, or in
    the framework's object that holds it (`UsageLimits(request_limit=120)`): it becomes the
    `max-steps` setting (20 by default). Lowering a budget can make runs that succeed today stop
    early. A budget held in a constant is left to you (the constant may serve elsewhere).

    ## Options
    - `max-step-budget`: the largest step budget that is not reported (default 74).

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-10-small-focused-agents.md
    """

    meta = RuleMeta(
        code="TFA1002",
        name="step-budget-too-large",
        factor=10,
        severity="advice",
        confidence="high",
        summary="The agent's step budget is larger than max-step-budget",
        fix_advice=(
            "Lower the budget to what one focused task needs (the guide says 3 to 20 steps) and split work "
            "that regularly needs more into smaller agents composed by plain code."
        ),
        fix="sometimes",
    )

    fixes = [
        (
            """
from langchain.agents import AgentExecutor
from openai import OpenAI

client = OpenAI()
executor = AgentExecutor(agent=agent, tools=tools, max_iterations=100)

def run(messages):
    turn = 0
    while turn < 96:
        turn += 1
        messages.append(client.chat.completions.create(model="m", messages=messages).choices[0].message)
""",
            """
from langchain.agents import AgentExecutor
from openai import OpenAI

client = OpenAI()
executor = AgentExecutor(agent=agent, tools=tools, max_iterations=20)

def run(messages):
    turn = 0
    while turn < 20:
        turn += 1
        messages.append(client.chat.completions.create(model="m", messages=messages).choices[0].message)
""",
        ),
        # A budget held in an object of the framework's: the number inside it.
        (
            """
from pydantic_ai import Agent, UsageLimits

agent = Agent("openai:gpt-4o")
result = agent.run_sync("task", usage_limits=UsageLimits(request_limit=120, total_tokens_limit=50_000))
""",
            """
from pydantic_ai import Agent, UsageLimits

agent = Agent("openai:gpt-4o")
result = agent.run_sync("task", usage_limits=UsageLimits(request_limit=20, total_tokens_limit=50_000))
""",
        ),
    ]

    invalid = [
        """
from langchain.agents import AgentExecutor

executor = AgentExecutor(agent=agent, tools=tools, max_iterations=100)  # expect: TFA1002 @67-70 | `max_iterations` of LangChain `AgentExecutor` allows 100 steps, more than max-step-budget (74): keep each agent to a small task
""",
        """
from agents import Runner

MAX_TURNS = 80

async def go(agent, task):
    return await Runner.run(agent, task, max_turns=MAX_TURNS)  # expect: TFA1002 @52-61 | `max_turns` of OpenAI Agents SDK `Runner.run` allows 80 steps (`MAX_TURNS`), more than max-step-budget (74): keep each agent to a small task
""",
        """
from openai import OpenAI

client = OpenAI()

def run(messages, max_steps=90):
    for _ in range(max_steps):  # expect: TFA1002 @20-29 | Agent loop may run 90 steps (`max_steps`), more than max-step-budget (74): keep each agent to a small task
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
""",
        """
import anthropic

client = anthropic.Anthropic()

def run(history):
    turn = 0
    while turn < 96:  # expect: TFA1002 @18-20 | Agent loop may run 96 steps, more than max-step-budget (74): keep each agent to a small task
        msg = client.messages.create(model="m", max_tokens=256, messages=history)
        history.append({"role": "assistant", "content": msg.content})
        turn += 1
""",
        """
from pydantic_ai import Agent, UsageLimits

agent = Agent("openai:gpt-4o")
agent.run_sync("task", usage_limits=UsageLimits(request_limit=120))  # expect: TFA1002 @37-67 | `request_limit` of Pydantic AI `Agent.run_sync` allows 120 steps, more than max-step-budget (74): keep each agent to a small task
""",
        """
from langgraph.prebuilt import create_react_agent

graph = create_react_agent(model, tools)
graph.invoke({"messages": msgs}, config={"recursion_limit": 150})  # expect: TFA1002 @61-64 | `recursion_limit` of LangGraph `create_react_agent.invoke` allows 150 steps, more than max-step-budget (74): keep each agent to a small task
""",
        # The budget set in the constructor, from a parameter's default.
        """
from openai import OpenAI

client = OpenAI()

class Agent:
    def __init__(self, max_steps: int = 100):
        self.max_steps = max_steps
        self.messages = []

    def run(self):
        for _ in range(self.max_steps):  # expect: TFA1002 @24-38 | Agent loop may run 100 steps (`max_steps`), more than max-step-budget (74): keep each agent to a small task
            reply = client.chat.completions.create(model="m", messages=self.messages)
            self.messages.append(reply.choices[0].message)
""",
    ]
    valid = [
        """
from langchain.agents import AgentExecutor

executor = AgentExecutor(agent=agent, tools=tools, max_iterations=10)
""",
        """
from openai import OpenAI

client = OpenAI()
MAX_STEPS = 12

def run(messages):
    for _ in range(MAX_STEPS):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
""",
        """
from smolagents import CodeAgent

agent = CodeAgent(tools=[search], model=model, max_steps=6)
agent.run("task", max_steps=8)
""",
    ]
    near_miss = [
        # Fifty steps: more than the guide's 20, but not the cap of 75 that makes one agent too big.
        """
from langchain.agents import AgentExecutor

executor = AgentExecutor(agent=agent, tools=tools, max_iterations=50)
""",
        # A batch loop over 100 documents is not an agent loop.
        """
from openai import OpenAI

client = OpenAI()

def summarise(docs):
    out = []
    for i in range(100):
        out.append(client.chat.completions.create(model="m", messages=[{"role": "user", "content": docs[i]}]))
    return out
""",
        # A token budget is not a step budget.
        """
from openai import OpenAI

client = OpenAI()
MAX_TOKENS = 8000

def run(messages):
    used = 0
    for _ in range(10):
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
        used += reply.usage.total_tokens
        if used > MAX_TOKENS:
            break
""",
        # An outer range larger than the budget, cut short by a smaller step limit inside.
        """
from openai import OpenAI

client = OpenAI()

def run(messages):
    for i in range(1000):
        if i >= 15:
            break
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
""",
        # Disabled or absurd bounds are TFA0803's, framework defaults TFA0804's.
        """
from langchain.agents import AgentExecutor

a = AgentExecutor(agent=agent, tools=tools, max_iterations=None)
b = AgentExecutor(agent=agent, tools=tools)
""",
        # A chat loop that waits for the user every turn: turns of a conversation, not agent steps.
        """
from openai import OpenAI

client = OpenAI()

def chat(messages):
    for _ in range(100):
        messages.append({"role": "user", "content": input("> ")})
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
""",
        # max_tokens of a model call is not a step bound.
        """
import anthropic

client = anthropic.Anthropic()
client.messages.create(model="m", max_tokens=4096, messages=[])
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._numbers: dict[int, tuple[int, str]] = {}  # id(value node) -> number resolved in scope

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.recognise.agent_construct(node) is None and self.ctx.recognise.handoff(node) is None:
            return
        for arg in node.args:
            values = [arg.value]
            if isinstance(arg.value, cst.Dict):
                values += [e.value for e in arg.value.elements if isinstance(e, cst.DictElement)]
            elif isinstance(arg.value, cst.Call):
                values += [a.value for a in arg.value.args]
            for value in values:
                if isinstance(value, (cst.Name, cst.Attribute)):
                    found = int_value(self.ctx, value)
                    if found is not None:
                        self._numbers[id(value)] = found

    def visit_For(self, node: cst.For) -> None:
        self._check_loop(node)

    def visit_While(self, node: cst.While) -> None:
        self._check_loop(node)

    def _check_loop(self, loop) -> None:
        info = self.ctx.loops.analyse(loop)
        if not info.llm_calls or not info.bounded or getattr(info, "human_gated", False):
            return  # a chat loop that waits for a person each turn counts turns, not agent steps
        limits = loop_step_limits(self.ctx, loop)
        if not limits:
            return
        tightest = min(limits, key=lambda limit: limit.value)
        budget = self.settings.max_step_budget
        if tightest.value <= budget:
            return
        via = f" (`{tightest.via}`)" if tightest.via else ""
        self.report(
            tightest.node,
            f"Agent loop may run {tightest.value} steps{via}, more than max-step-budget ({budget}): keep each "
            "agent to a small task",
            requires_llm=info.requires,
            unless_human=info.may_ask,
            fix=self._smaller(tightest.node),
        )

    def _smaller(self, node: cst.CSTNode) -> CodeFix | None:
        """A budget written as a number becomes the ``max-steps`` setting; one held in a name or
        an object is left to the person (the name may serve elsewhere)."""
        if not isinstance(node, cst.Integer):
            return None
        return CodeFix((RawEdit(node, str(self.settings.max_steps)),), unsafe=True)

    def _number(self, node: cst.CSTNode, spec) -> tuple[int, str] | None:
        if isinstance(node, cst.Integer):
            return int_value(self.ctx, node)
        if isinstance(node, cst.Call) and spec.value_keyword:
            arg = keyword_arg(node, spec.value_keyword)
            if arg is not None:
                return self._number(arg.value, spec)
            return None
        return self._numbers.get(id(node))

    def leave_Module(self, node: cst.Module) -> None:
        budget = self.settings.max_step_budget
        for label, check in file_agents(self.ctx).bound_checks(self.ctx):
            if check.state != "explicit":
                continue
            found = (check.value, "") if check.value is not None else self._number(check.node, check.spec)
            if found is None or found[0] <= budget:
                continue
            value, via = found
            what = f"`{check.spec.value_keyword}`" if isinstance(check.node, cst.Call) else f"`{check.spec.parameter}`"
            via_text = f" (`{via}`)" if via else ""
            self.report(
                check.node,
                f"{what} of {label} allows {value} steps{via_text}, more than max-step-budget ({budget}): "
                "keep each agent to a small task",
                fix=self._smaller(self._held_number(check.node, check.spec)),
            )
        self._numbers.clear()

    @staticmethod
    def _held_number(node: cst.CSTNode, spec) -> cst.CSTNode:
        """The number an object holds the budget in (``UsageLimits(request_limit=120)``: 120),
        else the node itself."""
        if isinstance(node, cst.Call) and spec.value_keyword:
            arg = keyword_arg(node, spec.value_keyword)
            if arg is not None:
                return arg.value
        return node
