"""Tool definitions (catalog §1.7): what a file hands a model as a tool, and who approves its calls.

A tool is

- ``decorated``: a function under a tool decorator of the knowledge tables (``@tool``,
  ``@function_tool(...)``, instance decorators such as ``@agent.tool`` on a Pydantic AI agent), or
  a function handed to a tool wrapper (``FunctionTool.from_defaults(fn)``, ``Tool(fn)``);
- ``class``: a subclass of a tool base class (``BaseTool``, ``smolagents.Tool``), also through a
  base defined in the same file;
- ``listed``: anything else placed in the tools list of a model call or an agent constructor
  (``CallSpec.tools_keywords`` / ``AgentSpec.tools_keywords``); the node is the function or class
  when it is defined in this file, else the list element;
- ``schema``: a dict literal in one of the wire formats: ``{"type": "function", "function":
  {...}}`` (Chat Completions), ``{"type": "function", "name", "parameters"}`` (Responses),
  ``{"name", "input_schema"}`` (Anthropic).

``approval`` says whether a person must approve a call before it runs: an approval keyword of the
decorator set (``needs_approval=True``, ``requires_approval=True``), an approval decorator
(``@hl.require_approval()``, ``approval-decorators``), a construct that lists the tool with an
approving keyword (``Task(human_input=True)``, ``interrupt_before=[...]``), an approval middleware
naming it (``HumanInTheLoopMiddleware(interrupt_on={"name": True})``), or a call in the tool's body
(two calls deep, in this file) to an interrupt or approval component (LangGraph ``interrupt()``,
Pydantic AI ``ApprovalRequired``).

The scan runs once per file, on first use, with its own walk; it also keeps every call of every
function with its resolved name (:func:`function_calls`), which the tool rules use to look for side
effects and console input inside tool bodies.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from factorlint.engine.recognise.tool_model import (  # noqa: F401  (re-exported: the rules' API)
    ToolDef,
    ToolScan,
    class_methods,
    component_role,
    dict_get,
    literal,
    local_function_in,
    reachable_calls_in,
    schema_parameters,
    schema_shape,
    side_effect,
    tool_functions,
)
from factorlint.engine.recognise.tool_scan import _Scanner


def tool_definitions(ctx) -> list[ToolDef]:
    """Every tool this file defines or hands to a model, once each (cached on the context)."""
    return scan(ctx).tools


def tool_names_per_agent(ctx) -> dict[cst.Call, list[str]]:
    """Agent constructor or model call -> the names of the tools it is given (lists followed
    through names bound in this file, ``@agent.tool`` functions added to their agent)."""
    return scan(ctx).per_agent


def function_calls(ctx, function: cst.FunctionDef | None) -> list[tuple[cst.Call, str | None]]:
    """The calls a function makes itself (nested defs excluded), with their resolved names."""
    return scan(ctx).calls.get(id(function) if function is not None else 0, [])


def reachable_calls(
    ctx, functions: list[cst.FunctionDef], depth: int = 2
) -> Iterator[tuple[cst.Call, str | None, cst.FunctionDef]]:
    """Calls made by ``functions`` and, ``depth`` calls deep, by the functions of this file they
    call (module functions, ``self`` methods, nested helpers): (call, qualname, its function)."""
    return reachable_calls_in(ctx, scan(ctx), functions, depth)


def local_function(ctx, call: cst.Call, qualname: str | None, caller) -> cst.FunctionDef | None:
    """The FunctionDef of this file a call reaches, if any."""
    return local_function_in(ctx, scan(ctx), call, qualname, caller)


def scan(ctx) -> ToolScan:
    """The file's tool scan. The scan asks for its own partial result while it runs, so the
    scanner is kept before it runs."""
    scanner = ctx.analysis(_Scanner)
    if not scanner.started:
        scanner.started = True
        scanner.run()
    return scanner.out
