from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.tools import ToolDef, scan, tool_definitions
from factorlint.engine.semantic.names import dotted_name

# Annotations that tell the model nothing about the argument's shape.
_VAGUE = {
    "typing.Any": "`Any`",
    "typing_extensions.Any": "`Any`",
    "builtins.object": "`object`",
    "builtins.dict": "bare `dict`",
    "builtins.list": "bare `list`",
    "typing.Dict": "bare `Dict`",
    "typing.List": "bare `List`",
}


class UntypedToolSignature(Rule):
    """## What it does
    Finds tool functions (decorated with a tool decorator, wrapped by a tool helper, or placed in
    the `tools=[...]` of a model call or an agent) whose parameters have no type annotation, or are
    annotated `Any`, `object`, or a bare `dict` / `list`; and tool functions without a docstring
    when the framework writes the tool's description from it (LangChain `@tool`, OpenAI Agents
    `@function_tool`, smolagents `@tool`, CrewAI `@tool`, Pydantic AI, `beta_tool`, LlamaIndex
    `FunctionTool.from_defaults`, and every framework that takes a plain function) and no
    `description=` is given.

    `self`/`cls` and `*args`/`**kwargs` are not checked.

    ## Why is this bad?
    Factor 4 (tools are just structured outputs): the framework builds the JSON schema the model
    sees from the signature, and the description from the docstring. An untyped parameter becomes
    "anything", so the model guesses its shape and nothing validates it; a missing docstring leaves
    the model to guess what the tool is for from its name.

    ## Example
    ```python
    @tool
    def search(q, opts):
        ...
    ```

    ## Use instead
    ```python
    @tool
    def search(query: str, limit: Annotated[int, Field(ge=1, le=20)] = 5) -> list[Hit]:
        \"\"\"Search tickets by text; return at most `limit` hits.\"\"\"
        ...
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-04-tools-are-structured-outputs.md
    """

    meta = RuleMeta(
        code="TFA0405",
        name="untyped-tool-signature",
        factor=4,
        severity="advice",
        confidence="high",
        summary="Tool signature without types or description: the model sees a vague schema",
        fix_advice=(
            "Annotate every parameter with a precise type (`str`, `Literal[...]`, a Pydantic model, "
            "`Annotated[int, Field(ge=1)]`) and give the tool a docstring saying what it does."
        ),
    )

    invalid = [
        """
from langchain_core.tools import tool

@tool
def search(q, opts):  # expect: TFA0405 @5-11 | Tool `search`: `q`, `opts` have no type
    \"\"\"Search the ticket index.\"\"\"
    return q
""",
        """
from typing import Any
from agents import Agent, function_tool

@function_tool
def create_issue(title: str, fields: dict) -> str:  # expect: TFA0405 @5-17 | Tool `create_issue`: `fields` (bare `dict`) is too vague for a schema; no docstring for the tool's description
    return title

def lookup(record: Any) -> str:  # expect: TFA0405 @5-11 | Tool `lookup`: `record` (`Any`) is too vague for a schema
    \"\"\"Look a record up.\"\"\"
    return str(record)

agent = Agent(name="triage", instructions="Triage tickets.", tools=[create_issue])
plain = Agent(name="lookup", instructions="Look up.", tools=[lookup])
""",
        """
from pydantic_ai import Agent

agent = Agent("openai:gpt-4o")

@agent.tool_plain
def roll_die(sides):  # expect: TFA0405 @5-13 | Tool `roll_die`: `sides` has no type
    \"\"\"Roll a die.\"\"\"
    return sides

@agent.tool_plain
def anything(*args, **kwargs) -> str:  # expect: TFA0405 @5-13 | Tool `anything`: takes only `*args` and `**kwargs`, so the model gets no parameter schema
    \"\"\"Do anything.\"\"\"
    return str(args)

class Tools:
    def __init__(self):
        self.agent = Agent("openai:gpt-4o", tools=[self.convert])

    def convert(self, amount: float, currency):  # expect: TFA0405 @9-16 | Tool `convert`: `currency` has no type; no docstring for the tool's description
        return amount
""",
    ]
    valid = [
        """
from typing import Annotated, Literal
from pydantic import Field
from langchain_core.tools import tool

@tool
def search(query: str, limit: Annotated[int, Field(ge=1, le=20)] = 5) -> list[str]:
    \"\"\"Search tickets by text; return at most `limit` hits.\"\"\"
    return [query][:limit]

@tool
def deploy(env: Literal["staging", "production"], tag: str) -> str:
    \"\"\"Deploy a tagged build.\"\"\"
    return tag
""",
        # The description is given to the decorator, so no docstring is needed.
        """
from agents import function_tool

@function_tool(description_override="Look up an order by id.")
def lookup(order_id: str) -> str:
    return order_id
""",
        """
from pydantic_ai import Agent, RunContext

agent = Agent("openai:gpt-4o", deps_type=str)

@agent.tool
def user_name(ctx: RunContext[str], upper: bool) -> str:
    \"\"\"The current user's name.\"\"\"
    return ctx.deps.upper() if upper else ctx.deps
""",
    ]
    near_miss = [
        # A factory that sets the description on the tool it returns.
        """
from langchain_core.tools import tool

def make_tool(name: str, description: str, function):
    @tool
    def custom_tool(query: str) -> str:
        return str(function(query))

    custom_tool.name = name
    custom_tool.description = description
    return custom_tool
""",
        # An untyped function that is never given to a model.
        """
from langchain_core.tools import tool

def helper(a, b):
    return a + b
""",
        # A tool class: its schema comes from args_schema, not from a signature.
        """
from langchain_core.tools import BaseTool

class Search(BaseTool):
    name: str = "search"
    description: str = "Search the web."

    def _run(self, query, run_manager=None):
        return query
""",
        # Variadic parameters and `self` of a method registered as a tool.
        """
from smolagents import tool

@tool
def echo(text: str, *args, **kwargs) -> str:
    \"\"\"Echo text back.

    Args:
        text: the text.
    \"\"\"
    return text
""",
    ]

    def leave_Module(self, node: cst.Module) -> None:
        for tool in tool_definitions(self.ctx):
            function = tool.function
            if function is None or tool.kind not in ("decorated", "listed"):
                continue
            problems = self._parameters(function)
            if (
                tool.describes_from_docstring
                and function.get_docstring() is None
                and not self._described_later(function)
            ):
                problems.append("no docstring for the tool's description")
            if problems:
                self.report(function.name, self._message(tool, problems))

    def _message(self, tool: ToolDef, problems: list[str]) -> str:
        return f"Tool `{tool.name}`: {'; '.join(problems)}"

    def _parameters(self, function: cst.FunctionDef) -> list[str]:
        params = function.params
        positional = [*params.posonly_params, *params.params]
        if positional and self.ctx.scan.class_of_function.get(id(function)) is not None:
            if positional[0].name.value in ("self", "cls"):
                positional = positional[1:]
        untyped, vague = [], []
        for param in (*positional, *params.kwonly_params):
            if param.annotation is None:
                untyped.append(f"`{param.name.value}`")
                continue
            label = self._vague(param.annotation.annotation)
            if label is not None:
                vague.append(f"`{param.name.value}` ({label})")
        problems = []
        variadic = [f"`{p}`" for p in _variadic(params)]
        if variadic and not positional and not params.kwonly_params:
            problems.append(f"takes only {' and '.join(variadic)}, so the model gets no parameter schema")
        if untyped:
            problems.append(f"{', '.join(untyped)} {'has' if len(untyped) == 1 else 'have'} no type")
        if vague:
            problems.append(f"{', '.join(vague)} {'is' if len(vague) == 1 else 'are'} too vague for a schema")
        return problems

    def _described_later(self, function: cst.FunctionDef) -> bool:
        """``search.description = "..."`` next to the definition (a factory that names its tool)."""
        enclosing = scan(self.ctx).scopes.get(id(function), ())
        owner = enclosing[-1] if enclosing else self.ctx.module
        block = owner.body.body if isinstance(owner, cst.FunctionDef) else owner.body
        target = f"{function.name.value}.description"
        for statement in block if isinstance(block, (list, tuple)) else ():
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign) and any(
                        dotted_name(t.target) == target for t in small.targets
                    ):
                        return True
        return False

    def _vague(self, annotation: cst.BaseExpression) -> str | None:
        if isinstance(annotation, cst.SimpleString):
            return None
        qualname = self.ctx.qualname(annotation)
        return _VAGUE.get(qualname or "")


def _variadic(params: cst.Parameters) -> list[str]:
    found = []
    if isinstance(params.star_arg, cst.Param):
        found.append("*" + params.star_arg.name.value)
    if isinstance(params.star_kwarg, cst.Param):
        found.append("**" + params.star_kwarg.name.value)
    return found
