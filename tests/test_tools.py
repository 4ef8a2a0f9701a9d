"""The shared tool recogniser (engine/recognise/tools.py) and the side-effect and console tables."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from factorlint.config import Settings
from factorlint.engine.recognise.tools import (
    function_calls,
    side_effect,
    tool_definitions,
    tool_names_per_agent,
)
from factorlint.engine.semantic.context import FileContext
from factorlint.knowledge import default_knowledge


def _ctx(source: str, **settings) -> FileContext:
    text = textwrap.dedent(source).lstrip("\n")
    module = cst.parse_module(text)
    config = Settings(root=Path("."), config_path=None, enabled=set(), **settings)
    return FileContext("example.py", module, text, "example", "", default_knowledge(), config)


def _tools(source: str, **settings) -> dict[str, tuple[str, str | None, bool]]:
    return {t.name: (t.kind, t.framework, t.approval) for t in tool_definitions(_ctx(source, **settings))}


def test_decorated_tools_and_their_approval_flags() -> None:
    tools = _tools(
        """
        from agents import function_tool
        from langchain_core.tools import tool
        from pydantic_ai import Agent
        from smolagents import tool as smol_tool

        agent = Agent("openai:gpt-4o")

        @function_tool(needs_approval=True)
        def refund(order_id: str) -> str: ...

        @function_tool(name_override="lookup_order", needs_approval=False)
        def lookup(order_id: str) -> str: ...

        @tool("web_search")
        def search(q: str) -> str: ...

        @agent.tool(requires_approval=True)
        def charge(ctx, amount: int) -> str: ...

        @agent.tool_plain
        def roll() -> int: ...

        @smol_tool
        def echo(text: str) -> str: ...
        """
    )
    assert tools == {
        "refund": ("decorated", "openai_agents", True),
        "lookup_order": ("decorated", "openai_agents", False),
        "web_search": ("decorated", "langchain", False),
        "charge": ("decorated", "pydantic_ai", True),
        "roll": ("decorated", "pydantic_ai", False),
        "echo": ("decorated", "smolagents", False),
    }


def test_classes_listed_objects_wrappers_and_schemas() -> None:
    ctx = _ctx(
        """
        from agents import Agent
        from langchain_core.tools import BaseTool
        from llama_index.core.tools import FunctionTool
        from pydantic_ai import Tool

        class Base(BaseTool):
            name: str = "base"

        class Search(Base):
            name: str = "search_web"

        def multiply(a: int, b: int) -> int: ...
        def add(a: int, b: int) -> int: ...

        calc = FunctionTool.from_defaults(fn=multiply)
        adder = Tool(add, requires_approval=True)
        EXTRA = [calc, adder]
        SCHEMAS = [
            {"type": "function", "function": {"name": "f1", "parameters": {}}},
            {"type": "function", "name": "f2", "parameters": {}},
            {"name": "f3", "input_schema": {}},
            {"name": "not_a_tool"},
        ]
        agent = Agent(name="a", tools=[Search(), *EXTRA, imported_tool])
        """
    )
    tools = {t.name: (t.kind, t.approval) for t in tool_definitions(ctx)}
    assert tools == {
        "base": ("class", False),
        "search_web": ("class", False),
        "multiply": ("decorated", False),
        "add": ("decorated", True),
        "f1": ("schema", False),
        "f2": ("schema", False),
        "f3": ("schema", False),
        "imported_tool": ("listed", False),
    }
    (names,) = tool_names_per_agent(ctx).values()
    assert names == ["search_web", "multiply", "add", "imported_tool"]


def test_agent_level_approvals() -> None:
    tools = _tools(
        """
        import os
        from crewai import Agent, Task
        from crewai.tools import tool as crew_tool
        from langchain.agents import create_agent
        from langchain.agents.middleware import HumanInTheLoopMiddleware
        from langchain_core.tools import tool
        from langgraph.types import interrupt
        from pydantic_ai import Agent as PAgent, ApprovalRequired

        @tool
        def send_email(to: str) -> str: ...

        @tool
        def read_inbox() -> str: ...

        @tool
        def deploy(tag: str) -> str:
            return _confirm(tag)

        def _confirm(tag):
            return interrupt({"tag": tag})

        lc = create_agent("m", tools=[send_email, read_inbox, deploy],
                          middleware=[HumanInTheLoopMiddleware(interrupt_on={"send_email": True, "read_inbox": False})])

        @crew_tool("Shell")
        def shell(cmd: str) -> str: ...

        ops = Agent(role="r", goal="g", backstory="b", tools=[shell])
        task = Task(description="d", expected_output="e", agent=ops, human_input=True)

        pa = PAgent("m")

        @pa.tool_plain
        def remove(path: str) -> str:
            raise ApprovalRequired
        """
    )
    assert {name: approval for name, (_, _, approval) in tools.items()} == {
        "send_email": True,
        "read_inbox": False,
        "deploy": True,
        "Shell": True,
        "remove": True,
    }


def test_graph_interrupt_before_and_approval_decorators() -> None:
    graph = _tools(
        """
        from langchain_core.tools import tool
        from langgraph.graph import StateGraph

        @tool
        def wipe(path: str) -> str: ...

        builder = StateGraph(dict)
        graph = builder.compile(interrupt_before=["tools"])
        """
    )
    assert graph == {"wipe": ("decorated", "langchain", True)}
    custom = _tools(
        """
        from agents import function_tool
        from myapp.guard import approved

        @function_tool
        @approved
        def wipe(path: str) -> str: ...
        """,
        approval_decorators=("myapp.guard.*",),
    )
    assert custom == {"wipe": ("decorated", "openai_agents", True)}


def test_function_calls_resolve_in_their_own_scope() -> None:
    ctx = _ctx(
        """
        import sqlite3

        def outer():
            conn = sqlite3.connect("x.db")
            conn.execute("DELETE FROM users")
            conn.execute("SELECT 1")
            open("log.txt", "a").write("x")
            open("data.txt").read()
        """
    )
    outer = ctx.scan.module_functions["outer"]
    found = [
        (ctx.code_for(call.func), side_effect(ctx, call, qualname).label if side_effect(ctx, call, qualname) else None)
        for call, qualname in function_calls(ctx, outer)
    ]
    assert ("conn.execute", "writes to a database") in found
    assert ("conn.execute", None) in found
    assert ("open", "writes files") in found
    assert found.count(("open", None)) == 1


@pytest.mark.parametrize(
    "qualname",
    ["builtins.input", "getpass.getpass", "click.confirm", "rich.prompt.Prompt.ask", "questionary.select"],
)
def test_console_inputs_are_components(qualname: str) -> None:
    component = default_knowledge().components.first(qualname)
    assert component is not None and component.role == "console_input"


def test_side_effect_table_is_not_a_framework() -> None:
    knowledge = default_knowledge()
    table = next(fw for fw in knowledge.frameworks if fw.name == "side_effects")
    assert table.packages == []
    assert not knowledge.is_framework_module("requests.post")
    assert not knowledge.is_framework_module("subprocess.run")
    post = knowledge.side_effect_calls.first("requests.post")
    assert post is not None and post.ambiguous
    assert not knowledge.side_effect_calls.first("requests.delete").ambiguous
    assert knowledge.side_effect_calls.get("subprocess.CalledProcessError") == []
