from __future__ import annotations

import re

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.tools import ToolDef, class_methods, dict_get, schema_parameters, tool_definitions
from factorlint.engine.semantic.names import dotted_name, literal_string

# Names of tools and intents that contact a person (catalog FA704), matched on the snake_case name.
_HUMAN_CONTACT = re.compile(r"ask_human|ask_user|request_(human_)?input|request_approval|clarif")
_INTENT_BASES = frozenset(
    {"pydantic.BaseModel", "pydantic.main.BaseModel", "typing.TypedDict", "typing_extensions.TypedDict"}
)
_DATACLASS = frozenset({"dataclasses.dataclass", "pydantic.dataclasses.dataclass"})
_LITERAL = frozenset({"typing.Literal", "typing_extensions.Literal"})


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class HumanContactWithoutStructure(Rule):
    """## What it does
    Finds tools and typed intents that contact a person (named like `ask_human`,
    `request_human_input`, `request_approval`, `clarify`) whose only argument is one free-text
    string: a function tool with a single `str` parameter, a JSON schema with one string
    property, a smolagents `inputs` with one string, or a Pydantic model / dataclass / TypedDict
    intent with one `str` field besides its `Literal` discriminator.

    ## Why is this bad?
    Factor 7 (contact humans with tool calls) gives the request structure: the question, but also
    its `urgency`, the expected `format` (free text, yes/no, multiple choice) and the `choices`.
    With those fields any channel (Slack buttons, an email, a web form) can render the request and
    the answer comes back typed; with one string, every channel shows a wall of text and parses a
    free-text reply.

    ## Example
    ```python
    @tool
    def request_human_input(question: str) -> str:
        ...
    ```

    ## Use instead
    ```python
    class RequestHumanInput(BaseModel):
        intent: Literal["request_human_input"]
        question: str
        context: str
        urgency: Literal["low", "medium", "high"]
        format: Literal["free_text", "yes_no", "multiple_choice"]
        choices: list[str] = []
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None. This rule is opt-in (low confidence): name it with `--select TFA0704`.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-07-contact-humans-with-tools.md
    """

    meta = RuleMeta(
        code="TFA0704",
        name="human-contact-without-structure",
        factor=7,
        severity="advice",
        confidence="low",
        summary="A request to a person is one free-text string: no urgency, format or choices",
        fix_advice=(
            "Give the request fields a channel can render: `question`, `context`, "
            "`urgency: Literal[\"low\", \"medium\", \"high\"]`, `format` (free text, yes/no, "
            "multiple choice) and `choices`."
        ),
    )

    invalid = [
        """
from langchain_core.tools import tool

@tool
def request_human_input(question: str) -> str:  # expect: TFA0704 @5-24 | Human-contact tool `request_human_input` carries one free-text `question`: add `urgency`, `format` and `choices` so any channel can render it
    \"\"\"Ask a person.\"\"\"
    return question
""",
        """
from typing import Literal
from pydantic import BaseModel
from openai import OpenAI

class RequestHumanInput(BaseModel):  # expect: TFA0704 @7-24 | Human-contact intent `RequestHumanInput` carries one free-text `message`: add `urgency`, `format` and `choices` so any channel can render it
    intent: Literal["request_human_input"]
    message: str

TOOLS = [{"type": "function", "function": {"name": "ask_human", "parameters": {  # expect: TFA0704 @10-10:72 | Human-contact tool `ask_human` carries one free-text `question`: add `urgency`, `format` and `choices` so any channel can render it
    "type": "object", "properties": {"question": {"type": "string"}}}}}]
""",
        """
from smolagents import Tool

class Clarify(Tool):  # expect: TFA0704 @7-14 | Human-contact tool `clarify` carries one free-text `question`: add `urgency`, `format` and `choices` so any channel can render it
    name = "clarify"
    description = "Ask the user to clarify."
    inputs = {"question": {"type": "string", "description": "what to ask"}}
    output_type = "string"

    def forward(self, question):
        return question
""",
    ]
    valid = [
        """
from typing import Literal
from pydantic import BaseModel

class RequestHumanInput(BaseModel):
    intent: Literal["request_human_input"]
    question: str
    context: str
    urgency: Literal["low", "medium", "high"]
    format: Literal["free_text", "yes_no", "multiple_choice"]
    choices: list[str] = []
""",
        """
from typing import Literal
from langchain_core.tools import tool

@tool
def request_approval(action: str, urgency: Literal["low", "high"], choices: list[str]) -> str:
    \"\"\"Ask a person to approve an action.\"\"\"
    return action
""",
        """
from openai import OpenAI

TOOLS = [{"type": "function", "function": {"name": "ask_human", "parameters": {"type": "object",
    "properties": {"question": {"type": "string"}, "format": {"type": "string", "enum": ["yes_no", "free_text"]}}}}}]
""",
    ]
    near_miss = [
        # A one-string tool that does not contact a person.
        """
from langchain_core.tools import tool

@tool
def search(query: str) -> str:
    \"\"\"Search the web.\"\"\"
    return query
""",
        # A one-string helper named like a request, but not a tool or an intent model.
        """
def request_input(prompt: str) -> str:
    return prompt
""",
        # The single field is a closed set of choices, not free text.
        """
from typing import Literal
from langchain_core.tools import tool

@tool
def request_approval(decision: Literal["approve", "deny"]) -> str:
    \"\"\"Ask for a decision.\"\"\"
    return decision
""",
    ]

    def leave_Module(self, node: cst.Module) -> None:
        seen: set[int] = set()
        for tool in tool_definitions(self.ctx):
            if not _HUMAN_CONTACT.search(_snake(tool.name)):
                continue
            field = self._single_text_field(tool)
            if field is not None:
                seen.add(id(tool.node))
                self._report(tool.node, f"Human-contact tool `{tool.name}`", field)
        for class_node in self.ctx.scan.classes.values():
            if id(class_node) in seen or not _HUMAN_CONTACT.search(_snake(class_node.name.value)):
                continue
            if self._is_intent(class_node):
                field = self._single_str_field(class_node)
                if field is not None:
                    self._report(class_node, f"Human-contact intent `{class_node.name.value}`", field)

    def _report(self, node, what: str, field: str) -> None:
        target = node.name if isinstance(node, (cst.FunctionDef, cst.ClassDef)) else node
        self.report(
            target,
            f"{what} carries one free-text `{field}`: add `urgency`, `format` and `choices` so any "
            "channel can render it",
        )

    # -- shapes -------------------------------------------------------------------------------

    def _single_text_field(self, tool: ToolDef) -> str | None:
        if isinstance(tool.node, cst.FunctionDef):
            return self._single_str_param(tool.node)
        if isinstance(tool.node, cst.Dict):
            parameters = schema_parameters(tool.node)
            return _single_string_property(parameters) if isinstance(parameters, cst.Dict) else None
        if isinstance(tool.node, cst.ClassDef):
            inputs = _class_attribute(tool.node, "inputs")
            if isinstance(inputs, cst.Dict):
                return _single_string_property(inputs, nested=False)
        return None

    def _single_str_param(self, function: cst.FunctionDef) -> str | None:
        params = [*function.params.posonly_params, *function.params.params, *function.params.kwonly_params]
        if params and params[0].name.value in ("self", "cls"):
            params = params[1:]
        kept = []
        for param in params:
            annotation = param.annotation.annotation if param.annotation is not None else None
            qualname = self.ctx.qualname(annotation) if annotation is not None else None
            root = annotation.value if isinstance(annotation, cst.Subscript) else annotation
            root_qn = self.ctx.qualname(root) if root is not None else None
            if root_qn and self.ctx.knowledge.is_framework_module(root_qn):
                continue  # RunContext, ToolContext: injected by the framework
            kept.append((param, qualname))
        if len(kept) == 1 and (kept[0][0].annotation is None or kept[0][1] == "builtins.str"):
            return kept[0][0].name.value
        return None

    def _is_intent(self, node: cst.ClassDef) -> bool:
        if any(self.ctx.qualname(base.value) in _INTENT_BASES for base in node.bases):
            return True
        for decorator in node.decorators:
            expr = decorator.decorator
            expr = expr.func if isinstance(expr, cst.Call) else expr
            if self.ctx.qualname(expr) in _DATACLASS:
                return True
        return False

    def _single_str_field(self, node: cst.ClassDef) -> str | None:
        fields = []
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        for statement in body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    annotation = small.annotation.annotation
                    if isinstance(annotation, cst.Subscript) and self.ctx.qualname(annotation.value) in _LITERAL:
                        continue  # the intent discriminator
                    fields.append((small.target.value, self.ctx.qualname(annotation)))
        if class_methods(node) and not fields:
            return None
        if len(fields) == 1 and fields[0][1] == "builtins.str":
            return fields[0][0]
        return None


def _class_attribute(node: cst.ClassDef, name: str) -> cst.BaseExpression | None:
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and dotted_name(small.targets[0].target) == name:
                    return small.value
                if isinstance(small, cst.AnnAssign) and dotted_name(small.target) == name:
                    return small.value
    return None


def _single_string_property(holder: cst.Dict, nested: bool = True) -> str | None:
    """``{"properties": {"q": {"type": "string"}}}`` (or, with ``nested=False``, the properties
    mapping itself) with exactly one free-text string."""
    properties = dict_get(holder, "properties") if nested else holder
    if not isinstance(properties, cst.Dict) or len(properties.elements) != 1:
        return None
    element = properties.elements[0]
    if not isinstance(element, cst.DictElement) or not isinstance(element.value, cst.Dict):
        return None
    spec = element.value
    kind = dict_get(spec, "type")
    if kind is None or literal_string(kind) != "string" or dict_get(spec, "enum") is not None:
        return None
    return literal_string(element.key)
