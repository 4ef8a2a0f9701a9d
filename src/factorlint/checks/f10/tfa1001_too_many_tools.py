from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.agents.agents_shape import ToolSite, count_items, tool_site
from factorlint.engine.semantic.names import dotted_name


class TooManyTools(Rule):
    """## What it does
    Finds one agent, or one model call, that is offered more tools than `max-tools` (default 17, so 18 or more):
    the literal `tools=[...]` of an agent constructor (`Agent`, `CodeAgent`, `AgentExecutor`,
    `create_react_agent`, ...), of a model call (`chat.completions.create(tools=...)`,
    `messages.create(tools=...)`), of LangChain's `bind_tools([...])`, plus the functions
    registered with `@agent.tool` on the same Pydantic AI agent. Lists are followed through a
    name bound once (`TOOLS = [...]`), `*spread` parts and `+`; a part whose size cannot be known
    counts as nothing, so the count reported is a lower bound.

    ## Why is this bad?
    Factor 10 (small, focused agents) keeps each agent to one job. Every tool is more text in the
    context and one more option to confuse with the right one: "as the number of functions
    increases, function calling becomes less accurate". A catch-all agent with thirty tools is
    hard to test and hard to reason about; several small agents behind a deterministic router
    are not.

    ## Example
    ```python
    agent = Agent(name="ops", tools=[*github_tools, *slack_tools, *k8s_tools, *billing_tools])
    ```

    ## Use instead
    ```python
    triage = Agent(name="triage", tools=[classify_request])
    agents = {"deploy": Agent(name="deploy", tools=k8s_tools), "billing": Agent(name="billing", tools=billing_tools)}
    route = triage_request(ticket)          # a small call or plain code picks the agent
    result = Runner.run_sync(agents[route], ticket)
    ```

    ## Fix safety
    No automatic fix: how to split an agent is a design decision.

    ## Options
    - `max-tools`: the most tools one agent or call may be offered (default 17).

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-10-small-focused-agents.md
    - openai/openai-cookbook `examples/Fine_tuning_for_function_calling.ipynb`
    """

    meta = RuleMeta(
        code="TFA1001",
        name="too-many-tools",
        factor=10,
        severity="advice",
        confidence="high",
        summary="One agent or model call is offered more tools than max-tools",
        fix_advice=(
            "Split the agent: give each focused agent a handful of tools and let plain code (or a "
            "tiny classifier call) route each request to one of them."
        ),
    )

    invalid = [
        """
from agents import Agent, function_tool

agent = Agent(  # expect: TFA1001 @9-7:2 | OpenAI Agents SDK `Agent` is offered 18 tools, more than max-tools (17): split it into focused agents with a few tools each
    name="ops",
    instructions="Run operations.",
    tools=[t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17, t18],
)
""",
        """
from openai import OpenAI

client = OpenAI()
TOOLS = [gh_issue, gh_pr, gh_merge, slack_post, slack_read, k8s_scale, k8s_logs]
MORE = [billing_refund, billing_charge, billing_invoice, pager_ack, pager_page, db_query, db_migrate,
        dns_update, cdn_purge]

def step(messages):
    return client.chat.completions.create(  # expect: TFA1001 @12-11:6 | `chat.completions.create` is offered 18 tools, more than max-tools (17): split it into focused agents with a few tools each
        model="gpt-4o", messages=messages, tools=TOOLS + MORE + [search, fetch]
    )
""",
        """
from pydantic_ai import Agent

support = Agent("openai:gpt-4o", tools=[a, b, c, d, e, f, g, h, i, j, k, l, m, n, o])  # expect: TFA1001 @11-86 | Pydantic AI `Agent` is offered 18 tools (tools: 15, @support.tool: 3), more than max-tools (17): split it into focused agents with a few tools each

@support.tool_plain
def lookup_order(order_id: str) -> str: ...

@support.tool_plain
def cancel_order(order_id: str) -> str: ...

@support.tool_plain
def refund_order(order_id: str) -> str: ...
""",
        """
from langchain_openai import ChatOpenAI

ALL_TOOLS = [search, calc, weather, news, stocks, maps, mail, calendar, notes, todo, files, shell, sql,
             browse, translate, ocr, tts, stt]
llm = ChatOpenAI(model="gpt-4o").bind_tools(ALL_TOOLS)  # expect: TFA1001 @7-55 | `langchain_openai.ChatOpenAI.bind_tools` is offered 18 tools, more than max-tools (17): split it into focused agents with a few tools each
""",
    ]
    valid = [
        """
from agents import Agent

deploy = Agent(name="deploy", instructions="Deploy.", tools=[list_tags, deploy_backend, rollback])
billing = Agent(name="billing", instructions="Billing.", tools=[refund, invoice])
""",
        """
import anthropic

client = anthropic.Anthropic()
TOOLS = [{"name": "get_weather", "input_schema": {}}, {"name": "get_time", "input_schema": {}}]

def ask(messages):
    return client.messages.create(model="m", max_tokens=512, messages=messages, tools=TOOLS)
""",
        """
from smolagents import CodeAgent

agent = CodeAgent(tools=[web_search, visit_page, final_answer], model=model, max_steps=8)
""",
    ]
    near_miss = [
        # Thirteen tools: more than most agents need, less than the ~18 the definition names.
        """
from agents import Agent

agent = Agent(
    name="ops",
    instructions="Run operations.",
    tools=[t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13],
)
""",
        # A list that is not a tool list, however long.
        """
from openai import OpenAI

client = OpenAI()
client.chat.completions.create(model="m", messages=[m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13])
""",
        # Tools whose number cannot be known statically are not guessed at.
        """
from agents import Agent

agent = Agent(name="ops", tools=load_plugins() + [search])
""",
        # A constructor that is not a known framework agent.
        """
class Agent:
    def __init__(self, tools):
        self.tools = tools

agent = Agent(tools=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
""",
        # Two agents of 8 tools each: the file has 16 tools, no agent has more than 8.
        """
from agents import Agent

TOOLS = [a, b, c, d, e, f, g, h]
first = Agent(name="one", tools=TOOLS)
second = Agent(name="two", tools=[i, j, k, l, m, n, o, p])
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._sites: list[tuple[ToolSite, list[tuple[str, int, bool]]]] = []
        self._registered: dict[str, int] = {}  # receiver name -> functions registered as tools

    def visit_Call(self, node: cst.Call) -> None:
        site = tool_site(self.ctx, node)
        if site is None or not site.lists:
            return
        counts = [(keyword, *count_items(self.ctx, value)) for keyword, value in site.lists]
        self._sites.append((site, counts))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for decorator in node.decorators:
            expr = decorator.decorator
            expr = expr.func if isinstance(expr, cst.Call) else expr
            if not isinstance(expr, cst.Attribute):
                continue
            qualname = self.ctx.qualname(expr)
            if qualname and "()." in qualname and self.ctx.knowledge.tool_decorators.first(qualname):
                receiver = dotted_name(expr.value)
                if receiver:
                    self._registered[receiver] = self._registered.get(receiver, 0) + 1

    def leave_Module(self, node: cst.Module) -> None:
        names_of = {id(value): name for name, value in self.ctx.scan.module_constants.items()}
        limit = self.settings.max_tools
        for site, counts in self._sites:
            parts = [(keyword, n) for keyword, n, _ in counts if n]
            exact = all(e for _, _, e in counts)
            name = names_of.get(id(site.call))
            if site.agent_type and name and self._registered.get(name):
                parts.append((f"@{name}.tool", self._registered[name]))
            total = sum(n for _, n in parts)
            if total <= limit:
                continue
            detail = ", ".join(f"{k}: {n}" for k, n in parts) if len(parts) > 1 else ""
            amount = f"{total} tools" if exact else f"at least {total} tools"
            self.report(
                site.call,
                f"{site.label} is offered {amount}{f' ({detail})' if detail else ''}, more than "
                f"max-tools ({limit}): split it into focused agents with a few tools each",
                requires_llm=site.requires,
            )
        self._sites.clear()
