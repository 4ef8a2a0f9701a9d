from __future__ import annotations

import re

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise import tools as tool_scan

_READ_NAME = re.compile(r"^(get|list|fetch|read|load|current)(_|[A-Z])")


class ZeroArgumentReadTool(Rule):
    """## What it does
    Finds tools the model can call with no arguments of its own whose name says they only read:
    `get_*`, `list_*`, `fetch_*`, `read_*`, `load_*`, `current_*` (`get_current_date()`,
    `list_teams()`). Parameters the framework fills in (`self`, Pydantic AI's `RunContext`, the
    OpenAI Agents SDK's `RunContextWrapper`, LangChain's `RunnableConfig`, callback managers and
    `InjectedToolArg` / `InjectedState` annotations) do not count as arguments. Tools are decorated
    functions, tool classes (their `_run` / `forward` method), functions placed in a `tools=[...]`
    list, and JSON schemas whose `properties` are empty.

    This rule is opt-in (confidence low): select it with `--select TFA1303`.

    ## Why is this bad?
    Factor 13 (pre-fetch all the context you might need): a read with no inputs returns the same
    thing whatever the model decides, so the model gains nothing by choosing to call it; it only
    adds a round trip, or answers without the data when it forgets. Fetch the value in code and
    render it into the prompt or the first event of the thread.

    ## Example
    ```python
    @function_tool
    def get_current_date() -> str:
        return date.today().isoformat()

    agent = Agent(name="planner", tools=[get_current_date, book_meeting])
    ```

    ## Use instead
    ```python
    agent = Agent(
        name="planner",
        instructions=PLANNER.format(today=date.today().isoformat()),
        tools=[book_meeting],
    )
    ```

    ## Fix safety
    No automatic fix: the value moves from a tool into the prompt or the thread.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/appendix-13-pre-fetch.md
    """

    meta = RuleMeta(
        code="TFA1303",
        name="zero-argument-read-tool",
        factor=13,
        severity="advice",
        confidence="low",
        summary="A read-only tool takes no arguments from the model: pre-fetch its result instead",
        fix_advice=(
            "Call it in code before the first model call and put its result in the prompt or the "
            "thread; remove the tool from the agent."
        ),
    )

    invalid = [
        """
from datetime import date
from agents import Agent, function_tool

@function_tool
def get_current_date() -> str:  # expect: TFA1303 @5-21 | Tool `get_current_date` takes no arguments from the model and only reads: fetch its result in code before the first model call and put it in the context
    return date.today().isoformat()

agent = Agent(name="planner", tools=[get_current_date])
""",
        """
from pydantic_ai import Agent, RunContext

agent = Agent("openai:gpt-4o", deps_type=dict)

@agent.tool
def list_teams(ctx: RunContext[dict]) -> list[str]:  # expect: TFA1303 @5-15 | Tool `list_teams` takes no arguments from the model and only reads: fetch its result in code before the first model call and put it in the context
    return ctx.deps["teams"]
""",
        """
from openai import OpenAI

client = OpenAI()
TOOLS = [
    {"type": "function", "function": {"name": "fetch_open_tickets", "parameters": {"type": "object", "properties": {}}}},  # expect: TFA1303 @5-121 | Tool `fetch_open_tickets` takes no arguments from the model and only reads: fetch its result in code before the first model call and put it in the context
    {"type": "function", "function": {"name": "close_ticket", "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}},
]

def step(messages):
    return client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
""",
        """
from langchain_core.tools import BaseTool

class CurrentUser(BaseTool):
    name: str = "current_user"
    description: str = "The signed-in user."

    def _run(self, run_manager=None):  # expect: TFA1303 @9-13 | Tool `current_user` takes no arguments from the model and only reads: fetch its result in code before the first model call and put it in the context
        return session_user()
""",
    ]
    valid = [
        """
from agents import Agent, function_tool

@function_tool
def get_weather(city: str) -> str:
    return lookup(city)

agent = Agent(name="w", tools=[get_weather])
""",
        """
from pydantic_ai import Agent, RunContext

agent = Agent("openai:gpt-4o")

@agent.tool
def list_issues(ctx: RunContext[dict], label: str) -> list[str]:
    return ctx.deps["issues"][label]
""",
        """
from smolagents import tool

@tool
def fetch_page(url: str) -> str:
    \"\"\"Fetch a page.

    Args:
        url: the address.
    \"\"\"
    return download(url)
""",
    ]
    near_miss = [
        # A zero-argument tool that acts rather than reads.
        """
from agents import function_tool

@function_tool
def restart_service() -> str:
    return restart()
""",
        # A zero-argument helper that is not a tool.
        """
def get_config():
    return {"debug": True}
""",
        # The only parameter is model-supplied, though named like a context.
        """
from langchain_core.tools import tool

@tool
def get_user(context: str) -> str:
    \"\"\"Look a user up by a free-text description.\"\"\"
    return find_user(context)
""",
    ]

    def leave_Module(self, node: cst.Module) -> None:
        knowledge = self.ctx.knowledge
        specs = [spec for fw in knowledge.frameworks for spec in fw.tools]
        context_types = {t for spec in specs for t in spec.context_types}
        self._context_names = {"self", "cls"} | {n for spec in specs for n in spec.context_parameters}
        for tool in tool_scan.tool_definitions(self.ctx):
            if not _READ_NAME.match(tool.name):
                continue
            target = self._zero_argument(tool, context_types, knowledge.tool_methods)
            if target is None:
                continue
            self.report(
                target,
                f"Tool `{tool.name}` takes no arguments from the model and only reads: fetch its "
                "result in code before the first model call and put it in the context",
            )

    def _zero_argument(self, tool, context_types: set[str], methods: set[str]) -> cst.CSTNode | None:
        if isinstance(tool.node, cst.FunctionDef):
            return tool.node.name if self._no_model_params(tool.node, context_types) else None
        if isinstance(tool.node, cst.ClassDef):
            runs = [m for m in tool_scan.class_methods(tool.node) if m.name.value in methods]
            if runs and all(self._no_model_params(m, context_types) for m in runs):
                return runs[0].name
            return None
        if isinstance(tool.node, cst.Dict) and tool.kind == "schema":
            parameters = tool_scan.schema_parameters(tool.node)
            if isinstance(parameters, cst.Dict):
                properties = tool_scan.dict_get(parameters, "properties")
                if isinstance(properties, cst.Dict) and not properties.elements:
                    return tool.node
        return None

    def _no_model_params(self, function: cst.FunctionDef, context_types: set[str]) -> bool:
        params = function.params
        if isinstance(params.star_arg, cst.Param):
            return False
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            name = param.name.value
            if name in self._context_names:
                continue
            if param.annotation is not None and self._is_context(param.annotation.annotation, context_types):
                continue
            return False
        return True

    def _is_context(self, annotation: cst.BaseExpression, context_types: set[str]) -> bool:
        if isinstance(annotation, cst.Subscript):
            if self.ctx.qualname(annotation.value) in context_types:
                return True  # RunContext[Deps]
            return any(
                isinstance(element.slice, cst.Index) and self._is_context(element.slice.value, context_types)
                for element in annotation.slice
            )  # Annotated[str, InjectedToolArg], Optional[RunnableConfig]
        return self.ctx.qualname(annotation) in context_types
