from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.f01._dispatch import (
    catches_lookup,
    guarded,
    irrefutable,
    leaves,
    literal_comparison,
    literal_pattern,
    safe_mapping,
)
from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.recognise.responses import tracker
from factorlint.engine.semantic.names import dotted_name, literal_string


class UnhandledIntent(Rule):
    """## What it does
    Finds dispatch on the tool or next step the model chose that has no fallback:
    - `TOOLS[call.function.name]` (a lookup by the tool name the model asked for) with no
      `name in TOOLS` check, no `.get(...)` and no enclosing `try/except KeyError`;
    - an `if/elif` chain comparing that name, or a typed reply's `intent` / `action` / `type`, to
      two or more string literals with no final `else` (and no statement after a chain whose
      branches all leave);
    - a `match` on it with only literal `case`s and no `case _:`.

    The key is followed from the model call: a tool call's name (`tool_calls[i].function.name`,
    an Anthropic `tool_use` block's `.name`, a LangChain tool call's `["name"]`), or the
    discriminator of a structured reply (BAML, instructor, `parse`, `with_structured_output`, or
    a wrapper of your own such as `determine_next_step`).

    ## Why is this bad?
    Factor 1 (natural language to tool calls): the model can name a tool that does not exist, an
    old tool, or a misspelled one. Without a fallback the agent crashes with a `KeyError`, or
    silently does nothing and loops. An explicit fallback turns it into an event the model can
    read and correct (factor 9), or a clear error.

    ## Example
    ```python
    for call in msg.tool_calls:
        result = TOOLS[call.function.name](**json.loads(call.function.arguments))
    ```

    ## Use instead
    ```python
    for call in msg.tool_calls:
        fn = TOOLS.get(call.function.name)
        if fn is None:
            thread.append(error_event(f"unknown tool {call.function.name!r}; valid: {sorted(TOOLS)}"))
            continue
        result = fn(**json.loads(call.function.arguments))
    ```

    ## Fix safety
    No automatic fix yet; adding `else: raise ValueError(f"unknown intent: {x!r}")` only changes
    what happens for names that were silently ignored or crashed.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-01-natural-language-to-tool-calls.md
    """

    meta = RuleMeta(
        code="TFA0103",
        name="unhandled-intent",
        factor=1,
        severity="warning",
        confidence="high",
        summary="Dispatch on the model's chosen tool or intent has no fallback for unknown names",
        fix_advice=(
            "Add a fallback: `fn = TOOLS.get(name)` and, when it is None, append an error event "
            "naming the valid tools (or raise); give if/elif chains an `else` and `match` a `case _:`."
        ),
    )

    invalid = [
        """
import json
from openai import OpenAI

client = OpenAI()
TOOLS = {"search": search, "lookup": lookup}

def step(messages, tools):
    resp = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
    for call in resp.choices[0].message.tool_calls or []:
        result = TOOLS[call.function.name](**json.loads(call.function.arguments))  # expect: TFA0103 @18-43 | `TOOLS[call.function.name]` looks up the tool the model chose with no fallback: an unknown name raises KeyError instead of becoming an error the model can read
        messages.append({"role": "tool", "tool_call_id": call.id, "content": str(result)})
""",
        """
import anthropic

client = anthropic.Anthropic()

def act(history, tools):
    msg = client.messages.create(model="m", max_tokens=512, messages=history, tools=tools)
    for block in msg.content:
        if block.type != "tool_use":
            continue
        if block.name == "deploy":  # expect: TFA0103 @9-13:36 | if/elif chain on `block.name` (2 names) has no `else`: a tool the code does not know is silently ignored
            deploy(**block.input)
        elif block.name == "rollback":
            rollback(**block.input)
""",
        # factor 8's own loop: a typed next step from a wrapper, dispatched with match.
        {
            "llm.py": """
from baml_client import b

def determine_next_step(thread):
    return b.DetermineNextStep(thread)
""",
            "agent.py": """
from llm import determine_next_step

def handle(thread):
    step = determine_next_step(thread)
    match step.intent:  # expect: TFA0103 @5-9:31 | `match step.intent` has no `case _:`: a next step the code does not know is silently ignored
        case "request_clarification":
            return ask_human(step)
        case "fetch_open_issues":
            return fetch(step)
""",
        },
        # LangChain tool calls are dicts.
        """
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o").bind_tools([add, multiply])
tools_by_name = {"add": add, "multiply": multiply}

def run(messages):
    ai = llm.invoke(messages)
    for tool_call in ai.tool_calls:
        tool = tools_by_name[tool_call["name"]]  # expect: TFA0103 @16-48 | `tools_by_name[tool_call["name"]]` looks up the tool the model chose with no fallback: an unknown name raises KeyError instead of becoming an error the model can read
        messages.append(tool.invoke(tool_call))
""",
    ]
    valid = [
        """
import json
from openai import OpenAI

client = OpenAI()
TOOLS = {"search": search}

def step(messages, tools):
    resp = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
    for call in resp.choices[0].message.tool_calls or []:
        fn = TOOLS.get(call.function.name)
        if fn is None:
            messages.append({"role": "tool", "tool_call_id": call.id, "content": f"unknown tool {call.function.name}"})
            continue
        messages.append({"role": "tool", "tool_call_id": call.id, "content": str(fn(**json.loads(call.function.arguments)))})
""",
        """
from baml_client import b

def handle(thread):
    step = b.DetermineNextStep(thread)
    match step.intent:
        case "request_clarification":
            return ask_human(step)
        case "done_for_now":
            return step
        case _:
            raise ValueError(f"unknown intent: {step.intent!r}")
""",
        # Membership check first, and a try/except KeyError.
        """
from openai import OpenAI

client = OpenAI()

def step(messages, tools, registry):
    resp = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
    for call in resp.choices[0].message.tool_calls or []:
        name = call.function.name
        if name not in registry:
            raise ValueError(f"unknown tool {name}")
        registry[name](call.function.arguments)
    try:
        first = registry[resp.choices[0].message.tool_calls[0].function.name]
    except KeyError:
        first = None
    return first
""",
        # Every branch leaves, and the statement after the chain is the fallback.
        """
from baml_client import b

def handle(thread):
    step = b.DetermineNextStep(thread)
    if step.intent == "done_for_now":
        return step
    elif step.intent == "request_more_information":
        return ask_human(step)
    raise ValueError(step.intent)
""",
    ]
    near_miss = [
        # Keys that the model did not choose.
        """
HANDLERS = {"GET": get, "POST": post}

def route(request):
    if request.method == "GET":
        return get(request)
    elif request.method == "POST":
        return post(request)
    return HANDLERS[request.method](request)
""",
        # Storing results by tool name is not a lookup.
        """
from openai import OpenAI

client = OpenAI()

def step(messages, tools):
    results = {}
    resp = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
    for call in resp.choices[0].message.tool_calls or []:
        results[call.function.name] = call.function.arguments
    return results
""",
        # A single comparison is a special case, not a dispatch.
        """
from openai import OpenAI

client = OpenAI()

def step(messages, tools):
    resp = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
    for call in resp.choices[0].message.tool_calls or []:
        if call.function.name == "finish":
            return call
""",
        # Stream events from a wrapper: ignoring unknown event types is normal.
        {
            "llm.py": """
from openai import OpenAI
client = OpenAI()

def stream_reply(messages):
    return client.responses.create(model="m", input=messages, stream=True)
""",
            "ui.py": """
from llm import stream_reply

def show(messages):
    for event in stream_reply(messages):
        if event.type == "response.output_text.delta":
            print(event.delta, end="")
        elif event.type == "response.completed":
            print()
""",
        },
        # A defaultdict never raises KeyError.
        """
from collections import defaultdict
from openai import OpenAI

client = OpenAI()
counts = defaultdict(int)

def step(messages, tools):
    resp = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
    for call in resp.choices[0].message.tool_calls or []:
        print(counts[call.function.name])
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._stores: set[int] = set()  # subscripts written to, not looked up
        self._protected: set[int] = set()  # subscripts inside a try that catches KeyError

    # -- lookups -------------------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._mark_store(target.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._mark_store(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._mark_store(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._mark_store(node.target)

    def _mark_store(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Subscript):
            self._stores.add(id(target))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._mark_store(element.value)

    def visit_Try(self, node: cst.Try) -> None:
        if any(catches_lookup(self.ctx, h) for h in node.handlers):
            run_visitor(node.body, _Subscripts(self._protected))
    def visit_Subscript(self, node: cst.Subscript) -> None:
        if id(node) in self._stores or id(node) in self._protected or len(node.slice) != 1:
            return
        index = node.slice[0].slice
        if not isinstance(index, cst.Index) or literal_string(index.value) is not None:
            return
        mapping = dotted_name(node.value)
        if mapping is None or safe_mapping(self.ctx, node.value):
            return
        key = tracker(self.ctx).dispatch_key(index.value)
        if key is None:
            return
        origin, kind = key
        key_code = self._code(index.value)
        if guarded(self.ctx, mapping, key_code):
            return
        what = "tool" if kind == "tool" else "next step"
        self.report(
            node,
            f"`{self._code(node)}` looks up the {what} the model chose with no fallback: an unknown "
            "name raises KeyError instead of becoming an error the model can read",
            requires_llm=origin.requires,
            fix_message=(
                f"Use `{mapping}.get({key_code})` and, when it is None, append an error naming the "
                f"valid choices (`sorted({mapping})`) to the history, or raise a clear error."
            ),
        )

    # -- if/elif chains and match --------------------------------------------------------------

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._chains(list(node.body))

    def visit_Module(self, node: cst.Module) -> None:
        self._chains(list(node.body))

    def _chains(self, statements: list) -> None:
        for position, statement in enumerate(statements):
            if isinstance(statement, cst.If):
                self._check_chain(statement, has_next=position + 1 < len(statements))

    def _check_chain(self, node: cst.If, has_next: bool) -> None:
        keys: list[str] = []
        literals = 0
        bodies = []
        first_key: cst.BaseExpression | None = None
        current: cst.BaseNode | None = node
        while isinstance(current, cst.If):
            compared = literal_comparison(current.test)
            if compared is None:
                return
            key, count = compared
            keys.append(self._code(key))
            first_key = first_key or key
            literals += count
            bodies.append(current.body)
            current = current.orelse
        if current is not None or literals < 2 or len(set(keys)) != 1:
            return  # an else, too few names, or different keys
        if has_next and all(leaves(body) for body in bodies):
            return  # the statement after the chain is the fallback
        found = tracker(self.ctx).dispatch_key(first_key)
        if found is None:
            return
        origin, kind = found
        self.report(
            node,
            f"if/elif chain on `{keys[0]}` ({literals} names) has no `else`: a "
            f"{'tool' if kind == 'tool' else 'next step'} the code does not know is silently ignored",
            requires_llm=origin.requires,
            fix_message=(
                f"Add `else:` that records an error event naming `{keys[0]}` and the valid "
                "choices (or raises), so an unknown choice never passes silently."
            ),
        )

    def visit_Match(self, node: cst.Match) -> None:
        if not node.cases or any(irrefutable(case.pattern) for case in node.cases):
            return
        if not all(literal_pattern(case.pattern) for case in node.cases):
            return
        found = tracker(self.ctx).dispatch_key(node.subject)
        if found is None:
            return
        origin, kind = found
        self.report(
            node,
            f"`match {self._code(node.subject)}` has no `case _:`: a "
            f"{'tool' if kind == 'tool' else 'next step'} the code does not know is silently ignored",
            requires_llm=origin.requires,
            fix_message=(
                "Add `case _:` that records an error event naming the unknown choice and the valid "
                "ones (or raises)."
            ),
        )

    def _code(self, node: cst.CSTNode) -> str:
        return " ".join(self.ctx.code_for(node).split())


class _Subscripts(cst.CSTVisitor):
    """Notes every subscript of a block, by id, in ``protected``."""

    def __init__(self, protected: set[int]) -> None:
        self.protected = protected

    def visit_Subscript(self, sub: cst.Subscript) -> None:
        self.protected.add(id(sub))
