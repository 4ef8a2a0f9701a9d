from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.agents.agents_shape import forced_tool, tool_site
from factorlint.engine.parse.walk import run_visitor


@dataclass
class _Forced:
    call: cst.Call  # the model call or the bind_tools call carrying tool_choice
    value: cst.BaseExpression
    tool: str
    conditional: bool
    requires: tuple[str, ...]
    receivers: frozenset[str]  # names the bound model is assigned to (bind_tools)


class ForcedFirstTool(Rule):
    """## What it does
    Finds a model call forced to call one named tool on the first step of an agent: a
    `tool_choice` that names a function (`{"type": "function", "function": {"name": ...}}` for
    Chat Completions, `{"type": "function", "name": ...}` for Responses, `{"type": "tool",
    "name": ...}` for Anthropic, `bind_tools(tools, tool_choice="name")` for LangChain), either on
    a call made before the function's agent loop, or inside the loop with a choice that only
    forces the tool on some turns (`FORCED if turn == 0 else "auto"`).

    A call forced on every turn, or a forced call with no agent loop after it (structured
    extraction through a tool) is not reported.

    ## Why is this bad?
    Factor 13 (pre-fetch all the context you might need): if you already know which tool the
    agent must call first, call it in code and put the result in the context. Forcing the model to
    make that call costs a round trip, lets the model choose the arguments of a call you could
    have made with known values, and hides a deterministic step inside the model's turn.

    ## Example
    ```python
    first = client.chat.completions.create(
        model=MODEL, messages=messages, tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_account"}},
    )
    messages.append(first.choices[0].message)
    for _ in range(MAX_STEPS):
        ...
    ```

    ## Use instead
    ```python
    account = get_account(user_id)                     # deterministic pre-fetch
    messages.append({"role": "user", "content": f"Account: {account}"})
    for _ in range(MAX_STEPS):
        ...
    ```

    ## Fix safety
    No automatic fix: the tool call moves from the model's turn into your code.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/appendix-13-pre-fetch.md
    """

    meta = RuleMeta(
        code="TFA1302",
        name="forced-first-tool",
        factor=13,
        severity="advice",
        confidence="high",
        summary="The first model call is forced to call a named tool: call it in code instead",
        fix_advice=(
            "Make the call yourself before the loop (with the arguments you already know) and add "
            "its result to the context; let the model choose freely afterwards."
        ),
    )

    invalid = [
        """
from openai import OpenAI

client = OpenAI()

def run(messages, tools):
    first = client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=tools,
        tool_choice={"type": "function", "function": {"name": "get_account"}},  # expect: TFA1302 @21-78 | The call before the agent loop forces `get_account`: you already know this first step, so make the call in code and put its result in the context
    )
    messages.append(first.choices[0].message)
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
        messages.append(reply.choices[0].message)
""",
        """
import anthropic

client = anthropic.Anthropic()

def run(history, tools):
    for turn in range(8):
        msg = client.messages.create(
            model="m", max_tokens=512, messages=history, tools=tools,
            tool_choice={"type": "tool", "name": "list_git_tags"} if turn == 0 else {"type": "auto"},  # expect: TFA1302 @25-101 | The agent loop forces `list_git_tags` on its first turns: make that call in code before the loop and put its result in the context
        )
        history.append({"role": "assistant", "content": msg.content})
""",
        """
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o")

def run(messages, tools):
    starter = llm.bind_tools(tools, tool_choice="get_current_user")  # expect: TFA1302 @49-67 | The call before the agent loop forces `get_current_user`: you already know this first step, so make the call in code and put its result in the context
    messages.append(starter.invoke(messages))
    chat = llm.bind_tools(tools)
    for _ in range(6):
        messages.append(chat.invoke(messages))
""",
        """
from openai import OpenAI

client = OpenAI()
FETCH_FIRST = {"type": "function", "name": "fetch_orders"}

def run(items, tools):
    response = client.responses.create(model="gpt-4o", input=items, tools=tools, tool_choice=FETCH_FIRST)  # expect: TFA1302 @94-105 | The call before the agent loop forces `fetch_orders`: you already know this first step, so make the call in code and put its result in the context
    items.extend(response.output)
    while len(items) < 40:
        response = client.responses.create(model="gpt-4o", input=items, tools=tools)
        items.extend(response.output)
""",
    ]
    valid = [
        """
from openai import OpenAI

client = OpenAI()

def run(messages, tools, account):
    messages.append({"role": "user", "content": f"Account: {account}"})
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools, tool_choice="auto")
        messages.append(reply.choices[0].message)
""",
        """
import anthropic

client = anthropic.Anthropic()

def run(history, tools):
    for _ in range(8):
        msg = client.messages.create(model="m", max_tokens=512, messages=history, tools=tools,
                                     tool_choice={"type": "any"})
        history.append({"role": "assistant", "content": msg.content})
""",
        """
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o").bind_tools(TOOLS, tool_choice="auto")

def run(messages):
    for _ in range(5):
        messages.append(llm.invoke(messages))
""",
    ]
    near_miss = [
        # Structured extraction through a forced tool, with no agent loop after it.
        """
import anthropic

client = anthropic.Anthropic()

def extract(text):
    msg = client.messages.create(
        model="m", max_tokens=512, messages=[{"role": "user", "content": text}],
        tools=[{"name": "record_invoice", "input_schema": {}}],
        tool_choice={"type": "tool", "name": "record_invoice"},
    )
    return msg.content[0].input
""",
        # Forced on every turn: the tool is the agent's output format, not a first step.
        """
from openai import OpenAI

client = OpenAI()

def run(messages, tools):
    for _ in range(10):
        reply = client.chat.completions.create(
            model="gpt-4o", messages=messages, tools=tools,
            tool_choice={"type": "function", "function": {"name": "next_step"}},
        )
        messages.append(reply.choices[0].message)
""",
        # A forced call after the loop (a final summary), not before it.
        """
from openai import OpenAI

client = OpenAI()

def run(messages, tools):
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
        messages.append(reply.choices[0].message)
    return client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=tools,
        tool_choice={"type": "function", "function": {"name": "final_report"}},
    )
""",
        # tool_choice on a call that is not a model call.
        """
def configure(settings):
    settings.update(tool_choice={"type": "function", "function": {"name": "x"}})
    for _ in range(3):
        settings.refresh()
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._forced: dict[int, list[_Forced]] = {}  # id(function) -> forced calls in it

    def visit_Call(self, node: cst.Call) -> None:
        if not self.ctx.function_stack:
            return
        site = tool_site(self.ctx, node)
        if site is None or not site.tool_choice:
            return
        for value, strings_name_tools in site.tool_choice:
            found = forced_tool(self.ctx, value, strings_name_tools)
            if found is None:
                continue
            receivers = frozenset(
                p.target for p in self.ctx.scan.pending if p.value is node and "." not in p.target
            ) if strings_name_tools else frozenset()  # a bound model is forced where it is invoked
            function = self.ctx.function_stack[-1]
            self._forced.setdefault(id(function), []).append(
                _Forced(node, value, found[0], found[1], site.requires, receivers)
            )

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        forced = self._forced.pop(id(node), None)
        if not forced:
            return
        order = _Order(self.ctx, forced)
        run_visitor(node.body, order)
        for item, loop_info in order.hits:
            tool = f"`{item.tool}`" if item.tool else "a named tool"
            if loop_info is None:
                message = (
                    f"The call before the agent loop forces {tool}: you already know this first step, "
                    "so make the call in code and put its result in the context"
                )
                requires = item.requires
            else:
                message = (
                    f"The agent loop forces {tool} on its first turns: make that call in code before "
                    "the loop and put its result in the context"
                )
                requires = item.requires or loop_info.requires
            self.report(item.value, message, requires_llm=requires)


class _Order(cst.CSTVisitor):
    """Walks a function in source order: a forced call followed by an agent loop, or a
    conditionally forced call inside one."""

    def __init__(self, ctx, forced: list[_Forced]) -> None:
        self.ctx = ctx
        self.by_call = {id(f.call): f for f in forced}
        self.receivers = {name: f for f in forced for name in f.receivers}
        self.loops: list = []
        self.pending: list[_Forced] = []  # forced calls made outside any loop, awaiting a loop
        self.hits: list = []
        self._done: set[int] = set()

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def _enter_loop(self, node) -> None:
        info = self.ctx.loops.analyse(node)
        if info.llm_calls and not self.loops:
            for item in self.pending:
                if id(item.call) not in self._done:
                    self._done.add(id(item.call))
                    self.hits.append((item, None))
            self.pending.clear()
        self.loops.append(info)

    def visit_For(self, node) -> None:
        self._enter_loop(node)

    def leave_For(self, node) -> None:
        self.loops.pop()

    def visit_While(self, node) -> None:
        self._enter_loop(node)

    def leave_While(self, node) -> None:
        self.loops.pop()

    def visit_Call(self, node: cst.Call) -> None:
        item = self.by_call.get(id(node))
        if item is None and isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name):
            item = self.receivers.get(node.func.value.value)  # ``starter.invoke(...)``
            if item is None:
                return
        elif item is None:
            return
        agent_loop = next((info for info in reversed(self.loops) if info.llm_calls), None)
        if agent_loop is None:
            if not self.loops and (item.receivers == frozenset() or item.call is not node):
                self.pending.append(item)
            return
        if item.conditional and id(item.call) not in self._done:
            self._done.add(id(item.call))
            self.hits.append((item, agent_loop))
