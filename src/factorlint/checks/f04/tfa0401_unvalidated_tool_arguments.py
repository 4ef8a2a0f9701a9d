from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.f04._flow import (
    JSON_LOADERS,
    Body,
    any_arguments,
    body_of,
    constructs_type,
    is_field,
    is_validator,
    looks_up,
    propagate,
    subscript_key,
    tool_call_items,
)
from factorlint.engine.recognise.tools import function_calls, local_function, side_effect
from factorlint.engine.semantic.names import literal_string
from factorlint.model import through_parameter


class UnvalidatedToolArguments(Rule):
    """## What it does
    Finds tool-call arguments parsed from the model's JSON by hand (`json.loads(call.function.arguments)`,
    `json.loads(item.arguments)`, an Anthropic `tool_use` block's `.input`) and then used without
    validation: spread into a function (`f(**args)`), passed whole to a dispatch or a project
    function (`TOOLS[name](args)`), handed to a side-effecting call, or read field by field
    (`args["path"]`).

    Validation is a Pydantic model (`Model.model_validate(args)`, `Model(**args)`),
    `TypeAdapter(...).validate_python`, `jsonschema.validate`, a project function whose name says it
    validates, a function of the same file that validates what it receives, or explicit checks on
    the parsed value (`isinstance(args, dict)`, `"command" in args`). Ollama returns the arguments
    already parsed, so `f(**call.function.arguments)` counts too. Framework tools (`@function_tool`, `@tool`, Pydantic AI tools, the
    Anthropic tool runner) validate their arguments themselves and are not matched.

    ## Why is this bad?
    Factor 4 (tools are just structured outputs): the model emits JSON that should match a schema
    you defined, and your deterministic code parses it into a typed object before deciding what to
    do with it. Skipping that step lets a hallucinated field, a wrong type or a missing key reach
    your functions, often far from where the error can be reported back to the model.

    ## Example
    ```python
    args = json.loads(call.function.arguments)
    transfer_funds(**args)
    ```

    ## Use instead
    ```python
    class TransferArgs(BaseModel):
        account_id: str = Field(pattern=r"^acc_[a-z0-9]{12}$")
        amount_cents: conint(gt=0, le=500_00)

    args = TransferArgs.model_validate_json(call.function.arguments)
    transfer_funds(args.account_id, args.amount_cents)
    ```

    ## Fix safety
    No automatic fix: the argument model has to be written.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-04-tools-are-structured-outputs.md
    """

    meta = RuleMeta(
        code="TFA0401",
        name="unvalidated-tool-arguments",
        factor=4,
        severity="warning",
        confidence="high",
        summary="Tool-call arguments from the model are used without validation",
        fix_advice=(
            "Parse the arguments into a typed model (`Args.model_validate_json(call.function.arguments)`) "
            "and, on `ValidationError`, append a compact error event for the model to correct."
        ),
    )

    invalid = [
        """
import json
from openai import OpenAI

client = OpenAI()

def transfer_funds(account_id, amount_cents):
    return account_id

def handle(messages, tools):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
    for call in reply.choices[0].message.tool_calls:
        args = json.loads(call.function.arguments)
        transfer_funds(**args)  # expect: TFA0401 @9-31 | Tool-call arguments from `json.loads(call.function.arguments)` are spread into `transfer_funds(**...)` without validation
""",
        # Responses API items and a registry dispatch that receives the raw dict.
        """
import json
from openai import OpenAI

client = OpenAI()
TOOLS = {}

def step(items):
    response = client.responses.create(model="gpt-4o", input=items)
    for item in response.output:
        if item.type == "function_call":
            params = json.loads(item.arguments)
            result = TOOLS[item.name](params)  # expect: TFA0401 @22-46 | Tool-call arguments from `json.loads(item.arguments)` are passed whole to `TOOLS[item.name](...)` without validation
            items.append(result)
""",
        # Anthropic tool_use block: fields read straight from the model's input.
        """
import subprocess
import anthropic

client = anthropic.Anthropic()

def run(messages):
    msg = client.messages.create(model="m", max_tokens=512, messages=messages)
    for block in msg.content:
        if block.type == "tool_use":
            command = block.input["command"]  # expect: TFA0401 @23-45 | Tool-call arguments from `block.input` are read field by field without validation
            subprocess.run(command, shell=True)
""",
        # Ollama parses the arguments into a dict: spread straight into a looked-up function, or
        # the raw JSON string handed whole to a function found in a registry.
        """
import ollama

def run(messages, tools):
    response = ollama.chat(model="qwen3", messages=messages, tools=tools)
    for tool_call in response.message.tool_calls or []:
        result = tools[tool_call.function.name](**tool_call.function.arguments)  # expect: TFA0401 @18-80 | Tool-call arguments from `tool_call.function.arguments` are spread into `tools[tool_call.function.name](**...)` without validation
        messages.append({"role": "tool", "content": str(result)})

def dispatch(tool_call, registry):
    func = registry.get(tool_call.function.name)
    return func(tool_call.function.arguments)  # expect: TFA0401 @12-46 | Tool-call arguments from `tool_call.function.arguments` are passed whole to `func(...)` without validation
""",
        # Dict-shaped tool calls (litellm responses as dicts) and two assignment hops.
        """
import json
import litellm

def act(tool_call, registry):
    raw = json.loads(tool_call["function"]["arguments"])
    options = raw
    path = options.get("path")  # expect: TFA0401 @12-31 | Tool-call arguments from `json.loads(tool_call["function"]["arguments"])` are read field by field without validation
    return registry.open(path)
""",
    ]
    valid = [
        """
from openai import OpenAI
from pydantic import BaseModel

client = OpenAI()

class TransferArgs(BaseModel):
    account_id: str
    amount_cents: int

def handle(call, transfer_funds):
    args = TransferArgs.model_validate_json(call.function.arguments)
    transfer_funds(args.account_id, args.amount_cents)
""",
        """
import json
import jsonschema
from openai import OpenAI

client = OpenAI()
SCHEMA = {"type": "object", "required": ["path"]}

def handle(call, read_file):
    args = json.loads(call.function.arguments)
    jsonschema.validate(args, SCHEMA)
    return read_file(args["path"])
""",
        # A Pydantic model built from the parsed dict validates it.
        """
import json
from openai import OpenAI
from pydantic import BaseModel

class Deploy(BaseModel):
    tag: str

def handle(call, deploy):
    step = Deploy(**json.loads(call.function.arguments))
    deploy(step.tag)
""",
    ]
    near_miss = [
        # A serializer that only moves the parsed arguments into another wire format.
        """
import json
from openai import OpenAI

def to_bedrock(tool_call):
    try:
        arguments = json.loads(tool_call.function.arguments)
    except json.JSONDecodeError:
        arguments = {"arguments": tool_call.function.arguments}
    return {"toolUse": {"name": tool_call.function.name, "input": arguments}}
""",
        # Hand validation: the parsed value's type and keys are checked before it is used.
        """
import json
from openai import OpenAI

class FormatError(Exception):
    pass

def parse_actions(tool_calls):
    actions = []
    for tool_call in tool_calls:
        args = json.loads(tool_call.function.arguments)
        if not isinstance(args, dict) or "command" not in args:
            raise FormatError("Missing 'command' argument")
        actions.append({"command": args["command"]})
    return actions
""",
        # `.arguments` of something that is not a tool call, in a module that imports no model SDK.
        """
import json

def load(event):
    data = json.loads(event.arguments)
    return data["x"]
""",
        # The arguments go to a function of the same file that validates them.
        """
import json
from openai import OpenAI
from pydantic import BaseModel

class SearchArgs(BaseModel):
    query: str

def run_search(args):
    checked = SearchArgs.model_validate(args)
    return checked.query

def handle(call):
    return run_search(json.loads(call.function.arguments))
""",
        # The raw JSON string handed to a fallback parser of the same class.
        """
import json
from openai import OpenAI

class Provider:
    def _parse_arguments(self, arguments: str) -> dict:
        return {"code": arguments}

    def arguments_of(self, message):
        try:
            return json.loads(message.tool_calls[0].function.arguments)
        except json.JSONDecodeError:
            return self._parse_arguments(message.tool_calls[0].function.arguments)
""",
        # Logging the raw arguments is not using them.
        """
import json
import logging
from openai import OpenAI

def trace(call):
    args = json.loads(call.function.arguments)
    logging.info("tool args: %s", args)
    return json.dumps(args)
""",
    ]

    _fields_in_file: bool | None = None

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self._fields_in_file is None:
            # Searched once per file: once per function made a module of 20,000 small
            # functions quadratic (each search reads the whole text).
            self._fields_in_file = "arguments" in self.ctx.source or "tool_use" in self.ctx.source
        if not self._fields_in_file:
            return  # cheap skip: no tool-call field can appear in this file
        body = body_of(self.ctx, node)
        qualnames = {id(c): q for c, q in function_calls(self.ctx, node)}
        items = tool_call_items(body)
        # Names holding the raw arguments field: a JSON string, or a dict (Ollama) already parsed.
        raw_names = {}
        for names, value in body.assigns:
            if is_field(value, "arguments", items):
                raw_names.update((name, value) for name in names)
        self._dispatched = {
            name for names, value in body.assigns for name in names if looks_up(self.ctx, value, qualnames)
        }

        def raw(expr) -> cst.CSTNode | None:
            if is_field(expr, "arguments", items):
                return expr
            return raw_names.get(expr.value) if isinstance(expr, cst.Name) else None

        self._items = items

        def source(expr) -> cst.CSTNode | None:
            if isinstance(expr, cst.Await):
                expr = expr.expression
            if isinstance(expr, cst.BooleanOperation):
                return source(expr.left)
            if isinstance(expr, cst.Call) and qualnames.get(id(expr)) in JSON_LOADERS and expr.args:
                arg = expr.args[0].value
                if raw(arg) is not None or (self.ctx.relevant and any_arguments(arg)):
                    return expr
            if is_field(expr, "input", items, wire=False):
                return expr
            return raw(expr)

        seeds = {}
        for names, value in body.assigns:
            found = source(value)
            if found is not None:
                for name in names:
                    seeds.setdefault(name, found)

        def carries(expr, tainted):
            if isinstance(expr, cst.BooleanOperation):
                return carries(expr.left, tainted)
            if isinstance(expr, cst.Name):
                return tainted.get(expr.value)
            return None

        tainted = propagate(body, seeds, carries)
        self._check(body, qualnames, tainted, source)

    def _check(self, body: Body, qualnames, tainted, source) -> None:
        def whole(expr) -> cst.CSTNode | None:
            if isinstance(expr, cst.Name):
                return tainted.get(expr.value)
            return source(expr)

        checked: set[int] = set()
        for call in body.calls:
            qualname = qualnames.get(id(call))
            if is_validator(qualname) or qualname in ("builtins.isinstance", "builtins.type"):
                for arg in call.args:
                    found = whole(arg.value)
                    if found is not None:
                        checked.add(id(found))
        for compare in body.comparisons:  # ``"command" in args``
            for item in compare.comparisons:
                if isinstance(item.operator, (cst.In, cst.NotIn)):
                    found = whole(item.comparator)
                    if found is not None:
                        checked.add(id(found))
        reported: set[int] = set()

        def report(node, found, what: str) -> None:
            if id(found) in checked or id(found) in reported:
                return
            reported.add(id(found))
            origin = self.ctx.code_for(found).strip()
            if len(origin) > 60:
                origin = origin[:57] + "..."
            self.report(node, f"Tool-call arguments from `{origin}` {what} without validation")

        for call in body.calls:
            qualname = qualnames.get(id(call))
            if is_validator(qualname):
                continue
            for arg in call.args:
                found = whole(arg.value)
                if found is None:
                    continue
                label = self.ctx.code_for(call.func).strip()
                if arg.star == "**" and not constructs_type(self.ctx, call, qualname):
                    report(call, found, f"are spread into `{label}(**...)`")
                elif not arg.star and self._dispatches(call, qualname, parsed=not is_field(found, "arguments", self._items)):
                    report(call, found, f"are passed whole to `{label}(...)`")
            receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
            if (
                isinstance(receiver, cst.Name)
                and call.func.attr.value == "get"
                and receiver.value in tainted
                and call.args
                and literal_string(call.args[0].value) is not None
            ):
                report(call, tainted[receiver.value], "are read field by field")
        for subscript in body.subscripts:
            if isinstance(subscript.value, cst.Name) and subscript.value.value in tainted:
                if subscript_key(subscript) is not None:
                    report(subscript, tainted[subscript.value.value], "are read field by field")
            else:
                found = source(subscript.value)
                if found is not None and subscript_key(subscript) is not None:
                    report(subscript, found, "are read field by field")

    _dispatched: frozenset = frozenset()
    _items: set = set()

    def _dispatches(self, call: cst.Call, qualname: str | None, parsed: bool = True) -> bool:
        """A registry or dynamic dispatch, or (for parsed arguments) a project function or a
        side-effecting call. The raw JSON string handed to a project function is only being
        passed on (often to a fallback parser)."""
        if isinstance(call.func, (cst.Subscript, cst.Call)):
            return True
        if isinstance(call.func, cst.Name) and call.func.value in self._dispatched:
            return True  # fn = TOOLS[name]; fn(args)
        if qualname is None or through_parameter(qualname) or not parsed:
            return False
        if side_effect(self.ctx, call, qualname) is not None:
            return True
        if not self.ctx.is_project_candidate(qualname) or qualname.rsplit(".", 1)[-1][:1].isupper():
            return False
        callee = local_function(self.ctx, call, qualname, None)
        return callee is None or not self._validates(callee)

    def _validates(self, function: cst.FunctionDef) -> bool:
        """Does a function of this file check what it is given (a validator, ``isinstance``)?"""
        return any(
            is_validator(q) or q == "builtins.isinstance" for _, q in function_calls(self.ctx, function)
        )
