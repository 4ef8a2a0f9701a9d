from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.tools import dict_get, schema_parameters, tool_definitions

_FORMATS = {
    "chat_completions": "Chat Completions",
    "responses": "Responses API",
    "anthropic": "Anthropic",
}


class HandWrittenToolSchema(Rule):
    """## What it does
    Finds tool definitions written as JSON-schema dict literals, in the Chat Completions shape
    (`{"type": "function", "function": {"name", "parameters"}}`), the Responses shape
    (`{"type": "function", "name", "parameters"}`) or the Anthropic shape
    (`{"name", "input_schema"}`), when the `parameters` / `input_schema` is itself a literal with
    at least one property. It looks at modules that import a model SDK or an agent framework (all of
    which bring Pydantic along) or Pydantic itself.

    Schemas produced from types are not reported: `openai.pydantic_function_tool(Model)`,
    `Model.model_json_schema()`, `TypeAdapter(...).json_schema()`, tool decorators.

    Off by default (select `TFA0404`): a hand-written JSON schema is how the SDKs document
    tools, and docs/violations.md (factor 4) does not count it. Select it to require schemas
    generated from typed models.

    ## Why is this bad?
    Factor 4 (tools are just structured outputs): the schema is the contract between the model and
    your code. Written by hand it drifts from the function or model that parses the call: a renamed
    field, a new required argument or a widened enum silently breaks one side.

    ## Example
    ```python
    TOOLS = [{"type": "function", "function": {"name": "deploy", "parameters": {
        "type": "object", "properties": {"tag": {"type": "string"}, "env": {"type": "string"}}}}}]
    ```

    ## Use instead
    ```python
    class Deploy(BaseModel):
        \"\"\"Deploy a tagged build.\"\"\"
        tag: str
        env: Literal["staging", "production"]

    TOOLS = [openai.pydantic_function_tool(Deploy)]
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-04-tools-are-structured-outputs.md
    """

    meta = RuleMeta(
        code="TFA0404",
        name="hand-written-tool-schema",
        factor=4,
        severity="advice",
        confidence="high",
        summary="Tool schema written by hand as a dict literal: it can drift from the code",
        fix_advice=(
            "Define the arguments as a Pydantic model and generate the schema "
            "(`openai.pydantic_function_tool(Model)` or `Model.model_json_schema()`)."
        ),
        status="preview",  # opt-in: see "Off by default" above
    )

    invalid = [
        """
from openai import OpenAI

TOOLS = [
    {  # expect: TFA0404 @5-10:6 | Tool `deploy` has a hand-written Chat Completions schema (1 parameter): generate it from a typed model
        "type": "function",
        "function": {
            "name": "deploy",
            "parameters": {"type": "object", "properties": {"tag": {"type": "string"}}},
        },
    }
]
""",
        """
import anthropic

def tools():
    return [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]  # expect: TFA0404 @13-116 | Tool `get_weather` has a hand-written Anthropic schema (1 parameter): generate it from a typed model
""",
        """
from pydantic import BaseModel

SEARCH = {"type": "function", "name": "search", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}  # expect: TFA0404 @10-123 | Tool `search` has a hand-written Responses API schema (1 parameter): generate it from a typed model
""",
    ]
    valid = [
        """
import openai
from pydantic import BaseModel

class Deploy(BaseModel):
    tag: str

TOOLS = [openai.pydantic_function_tool(Deploy)]
""",
        """
from openai import OpenAI
from pydantic import BaseModel

class Search(BaseModel):
    q: str

TOOLS = [{"type": "function", "function": {"name": "search", "parameters": Search.model_json_schema()}}]
""",
        """
from agents import function_tool

@function_tool
def search(q: str) -> str:
    \"\"\"Search the index.\"\"\"
    return q
""",
    ]
    near_miss = [
        # A tool that takes no arguments: nothing to drift.
        """
from openai import OpenAI

TOOLS = [{"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}]
""",
        # A module with no model SDK, framework or Pydantic import (a plain data file).
        """
TOOLS = [{"type": "function", "function": {"name": "deploy", "parameters": {"type": "object", "properties": {"tag": {"type": "string"}}}}}]
""",
        # A schema converted from another format at run time (an MCP tool): nothing literal.
        """
from openai import OpenAI

def to_openai(tool):
    return {"type": "function", "function": {"name": tool.name, "parameters": tool.inputSchema}}
""",
    ]

    def leave_Module(self, node: cst.Module) -> None:
        if not (self.ctx.relevant or self._imports_pydantic()):
            return
        for tool in tool_definitions(self.ctx):
            if tool.kind != "schema" or not isinstance(tool.node, cst.Dict):
                continue
            parameters = schema_parameters(tool.node)
            if not isinstance(parameters, cst.Dict):
                continue
            properties = dict_get(parameters, "properties")
            if not isinstance(properties, cst.Dict) or not properties.elements:
                continue
            count = len(properties.elements)
            self.report(
                tool.node,
                f"Tool `{tool.name}` has a hand-written {_FORMATS.get(tool.framework or '', 'JSON')} "
                f"schema ({count} parameter{'s' if count != 1 else ''}): generate it from a typed model",
            )

    def _imports_pydantic(self) -> bool:
        return any(m.split(".", 1)[0] == "pydantic" for m in self.ctx.scan.imported_modules)
