from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.f04._flow import Body, body_of, guarded_names, is_field, propagate, tool_call_items
from factorlint.engine.recognise.tools import function_calls

# Calls that turn a string into code or an attribute: (qualname, index of the name argument).
_DYNAMIC_LOOKUPS = {
    "builtins.getattr": 1,
    "builtins.eval": 0,
    "builtins.exec": 0,
    "builtins.__import__": 0,
    "importlib.import_module": 0,
    "operator.attrgetter": 0,
    "operator.methodcaller": 0,
}
_NAMESPACES = frozenset({"builtins.globals", "builtins.locals", "builtins.vars"})
# Fields of a typed next step that name the action the model chose (factor 4's ``intent``).
_INTENT_FIELDS = frozenset({"intent", "action", "tool", "tool_name", "function_name", "function"})


class ModelChosenDynamicDispatch(Rule):
    """## What it does
    Finds a tool or intent name chosen by the model (`call.function.name`, a `tool_use` block's
    `.name`, `step.intent` of a model reply) used to look up code by name: `getattr(obj, name)`,
    `globals()[name]`, `locals()[name]`, `vars(module)[name]`, `importlib.import_module(name)`,
    `eval(name)`. A name first checked against an explicit collection (`if name in TOOLS:`) is
    not reported.

    ## Why is this bad?
    Factor 4 (tools are just structured outputs): the model decides what to do, your code decides
    how. A lookup by name hands the second decision back to the model: any attribute of the
    object or module becomes callable, including helpers never meant as tools. It is also OWASP
    LLM06 (excessive agency): one prompt injection away from calling `delete_all`.

    ## Example
    ```python
    result = getattr(tools_module, call.function.name)(**args)
    ```

    ## Use instead
    ```python
    REGISTRY = {"search": search, "create_issue": create_issue}
    handler = REGISTRY.get(call.function.name)
    if handler is None:
        thread.append(error_event(f"unknown tool {call.function.name}"))
    ```

    ## Fix safety
    No automatic fix: the registry lists the tools you mean to expose.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-04-tools-are-structured-outputs.md
    - OWASP LLM06: Excessive Agency
    """

    meta = RuleMeta(
        code="TFA0402",
        name="model-chosen-dynamic-dispatch",
        factor=4,
        severity="error",
        confidence="high",
        summary="The model's output picks code by name (getattr/globals/import): no allow-list",
        fix_advice=(
            "Dispatch through an explicit registry (`REGISTRY = {\"search\": search, ...}`) and "
            "answer an unknown name with an error event instead of looking it up."
        ),
    )

    invalid = [
        """
import json
import tools_module
from openai import OpenAI

client = OpenAI()

def run(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[])
    for call in reply.choices[0].message.tool_calls:
        args = json.loads(call.function.arguments)
        result = getattr(tools_module, call.function.name)(**args)  # expect: TFA0402 @18-59 | `getattr(tools_module, call.function.name)`: the model's output (`call.function.name`) chooses which code runs
        messages.append({"role": "tool", "content": str(result)})
""",
        """
import anthropic

client = anthropic.Anthropic()

def run_tools(messages):
    msg = client.messages.create(model="m", max_tokens=256, messages=messages)
    for block in msg.content:
        if block.type == "tool_use":
            name = block.name
            handler = globals()[name]  # expect: TFA0402 @23-38 | `globals()[name]`: the model's output (`name`) chooses which code runs
            messages.append(handler(**block.input))
""",
        # A typed next step from a wrapper in another file: its intent picks the method.
        {
            "llm.py": """
from openai import OpenAI
client = OpenAI()

def determine_next_step(thread):
    return client.chat.completions.parse(model="m", messages=thread, response_format=dict)
""",
            "agent.py": """
import importlib
from llm import determine_next_step

class Agent:
    def step(self, thread):
        step = determine_next_step(thread)
        handler = getattr(self, step.intent)  # expect: TFA0402 @19-45 | `getattr(self, step.intent)`: the model's output (`step.intent`) chooses which code runs
        module = importlib.import_module(step.tool)  # expect: TFA0402 @18-52 | `importlib.import_module(step.tool)`: the model's output (`step.tool`) chooses which code runs
        return handler(step), module
""",
        },
    ]
    valid = [
        """
from openai import OpenAI

client = OpenAI()

def search(q):
    return q

REGISTRY = {"search": search}

def run(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[])
    for call in reply.choices[0].message.tool_calls:
        handler = REGISTRY.get(call.function.name)
        if handler is None:
            messages.append({"role": "tool", "content": "unknown tool"})
""",
        # Checked against an allow-list first.
        """
import tools_module
from openai import OpenAI

ALLOWED = {"search", "lookup"}

def dispatch(call):
    name = call.function.name
    if name not in ALLOWED:
        raise ValueError(name)
    return getattr(tools_module, name)()
""",
        """
import anthropic

def run(block, registry):
    if block.type == "tool_use":
        return registry[block.name](**block.input)
""",
    ]
    near_miss = [
        # getattr on a config key, not on anything the model chose.
        """
from openai import OpenAI

def model_setting(settings, key):
    return getattr(settings, key, None)
""",
        # The tool's name is read for a log line and a dict key.
        """
import logging
from openai import OpenAI

def record(call, results):
    logging.info("tool %s", call.function.name)
    results[call.function.name] = getattr(call, "id", None)
""",
        # Methods restricted by a fixed prefix: only `tool_*` methods can be reached.
        """
from openai import OpenAI

class Agent:
    def dispatch(self, call):
        return getattr(self, f"tool_{call.function.name}")()
""",
    ]

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        qualnames = {id(c): q for c, q in function_calls(self.ctx, node)}
        if not any(q in _DYNAMIC_LOOKUPS or q in _NAMESPACES for q in qualnames.values()):
            # Every report is at one of these lookups among the function's own calls (the tool
            # scan's, a superset of the value-flow index's): nothing else to read.
            return
        body = body_of(self.ctx, node)
        items = tool_call_items(body)
        requires: dict[str, tuple[str, ...]] = {}
        steps = self._model_outputs(body, requires)

        def chosen(expr) -> tuple[str, ...] | None:
            """() when the expression is a name the model chose (with candidates to settle)."""
            if is_field(expr, "name", items):
                return ()
            if isinstance(expr, cst.Attribute) and expr.attr.value in _INTENT_FIELDS:
                if isinstance(expr.value, cst.Name) and expr.value.value in steps:
                    return requires.get(expr.value.value, ())
            if isinstance(expr, cst.FormattedString):  # f"{name}" with nothing around it
                parts = expr.parts
                if len(parts) == 1 and isinstance(parts[0], cst.FormattedStringExpression):
                    return chosen(parts[0].expression)
            return None

        seeds = {}
        for names, value in body.assigns:
            found = chosen(value)
            if found is not None:
                for name in names:
                    seeds.setdefault(name, found)

        def carries(expr, tainted):
            return tainted.get(expr.value) if isinstance(expr, cst.Name) else None

        tainted = propagate(body, seeds, carries)
        guarded = guarded_names(self.ctx, body)

        def model_name(expr) -> tuple[str, ...] | None:
            if self.ctx.code_for(expr).strip() in guarded:
                return None
            if isinstance(expr, cst.Name) and expr.value in tainted:
                return tainted[expr.value]
            return chosen(expr)

        self._check(body, qualnames, model_name)

    def _check(self, body: Body, qualnames: dict[int, str | None], model_name) -> None:
        for call in body.calls:
            qualname = qualnames.get(id(call))
            index = _DYNAMIC_LOOKUPS.get(qualname or "")
            if index is None:
                continue
            positional = [a for a in call.args if a.keyword is None and not a.star]
            if index >= len(positional):
                continue
            requires = model_name(positional[index].value)
            if requires is not None:
                self._report(call, positional[index].value, requires)
        for subscript in body.subscripts:
            value = subscript.value
            if not (isinstance(value, cst.Call) and qualnames.get(id(value)) in _NAMESPACES):
                continue
            if len(subscript.slice) == 1 and isinstance(subscript.slice[0].slice, cst.Index):
                key = subscript.slice[0].slice.value
                requires = model_name(key)
                if requires is not None:
                    self._report(subscript, key, requires)

    def _report(self, node, name_expr, requires: tuple[str, ...]) -> None:
        lookup = self.ctx.code_for(node).strip()
        if len(lookup) > 60:
            lookup = lookup[:57] + "..."
        self.report(
            node,
            f"`{lookup}`: the model's output (`{self.ctx.code_for(name_expr).strip()}`) chooses "
            "which code runs",
            requires_llm=requires,
        )

    def _model_outputs(self, body: Body, requires: dict) -> set[str]:
        """Names assigned the result of a model call (direct, or through a project wrapper)."""
        found = set()
        for names, value in body.assigns:
            if isinstance(value, cst.Await):
                value = value.expression
            if not isinstance(value, cst.Call):
                continue
            # Cached from the visit of the call itself, where its names resolved in this function.
            llm = self.ctx.recognise.llm_call(value)
            if llm is None:
                continue
            for name in names:
                found.add(name)
                requires[name] = llm.requires
        return found
