from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.recognise.responses import STR_METHODS, tracker

# Calls that only keep, show or log the reply: they do not act on it.
_PASSIVE_METHODS = frozenset(
    {"append", "extend", "insert", "add", "update", "add_message", "add_messages", "put", "write",
     "debug", "info", "warning", "error", "exception", "critical", "log", "print"}
) | STR_METHODS
_PASSIVE_FUNCTIONS = frozenset({"builtins.print", "builtins.len", "builtins.str", "builtins.repr", "builtins.dict", "builtins.list"})
_LOGGING_ROOTS = frozenset({"logging", "loguru", "structlog", "rich"})


class ProseEachTurn(Rule):
    """## What it does
    Finds agent loops (a loop that calls a model and feeds the result back into the next call)
    whose model calls all ask for free text: no tools, no response schema, not a typed call such
    as BAML or instructor, and no receiver built with `with_structured_output` / `bind_tools`.
    A wrapper of your own counts when it is defined in the same file and returns such a reply,
    or when the loop clearly uses its result as a string (`if "DONE" in text`, `text.strip()`).
    The loop must act on the reply's text: test it (`if`, `while`, `match`) or hand it to
    something other than a model, a list or a logger (a parser, a shell, a tool). Chat loops that
    wait for a person at the console every turn are left alone.

    ## Why is this bad?
    Factor 1 (natural language to tool calls) and factor 8 (own your control flow): each turn of
    an agent should end in a structured next step that your code switches on. A loop that gets
    prose each turn has to guess what the model wants to do (scrape a command, look for "DONE"),
    and every guess is a way for the loop to misfire or never end.

    ## Example
    ```python
    while True:
        text = chat(history)  # wraps chat.completions.create, no tools
        history.append({"role": "assistant", "content": text})
        if "DONE" in text:
            break
    ```

    ## Use instead
    ```python
    for _ in range(MAX_STEPS):
        step = determine_next_step(thread)  # -> NextStep (tools or structured output)
        thread.append(step)
        if step.intent == "done_for_now":
            break
        thread.append(execute(step))
    ```

    ## Fix safety
    No automatic fix: it needs a schema for the next step.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-01-natural-language-to-tool-calls.md
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-08-own-your-control-flow.md
    """

    meta = RuleMeta(
        code="TFA0104",
        name="prose-each-turn",
        factor=1,
        severity="advice",
        confidence="medium",
        summary="Agent loop gets free text from the model each turn, not a structured next step",
        fix_advice=(
            "Make each turn return a typed next step: pass tools, or a response schema "
            "(`response_format=NextStep`, `with_structured_output(NextStep)`, a BAML function), "
            "and switch on its intent."
        ),
    )

    invalid = [
        {
            "llm.py": """
from openai import OpenAI
client = OpenAI()

def chat(history):
    return client.chat.completions.create(model="m", messages=history).choices[0].message.content
""",
            "agent.py": """
from llm import chat

def run(history):
    while True:  # expect: TFA0104 @5-8:18 | Agent loop asks `chat(...)` for free text each turn: no tools and no response schema, so the next step has to be guessed from prose
        text = chat(history)
        history.append({"role": "assistant", "content": text})
        if "DONE" in text:
            break
""",
        },
        """
import litellm

def solve(messages, max_steps=30):
    for _ in range(max_steps):  # expect: TFA0104 @5-8:72 | Agent loop asks `litellm.completion(...)` for free text each turn: no tools and no response schema, so the next step has to be guessed from prose
        response = litellm.completion(model="gpt-4o", messages=messages)
        content = response.choices[0].message.content
        messages.append({"role": "assistant", "content": content})
        messages.append({"role": "user", "content": run_bash(content)})
""",
        """
import anthropic

class Researcher:
    def __init__(self):
        self.client = anthropic.Anthropic()
        self.notes = []

    def research(self, topic):
        while len(self.notes) < 10:  # expect: TFA0104 @9-11:64 | Agent loop asks `self.client.messages.create(...)` for free text each turn: no tools and no response schema, so the next step has to be guessed from prose
            msg = self.client.messages.create(model="m", max_tokens=800, messages=self.render(self.notes))
            self.notes.append(self.search(msg.content[0].text))
""",
    ]
    valid = [
        # Tools each turn.
        """
from openai import OpenAI
client = OpenAI()

def run(messages, tools):
    for _ in range(10):
        resp = client.chat.completions.create(model="m", messages=messages, tools=tools)
        messages.append(resp.choices[0].message)
        if not resp.choices[0].message.tool_calls:
            break
""",
        # A typed next step from BAML.
        """
from baml_client import b

def handle(thread):
    for _ in range(12):
        step = b.DetermineNextStep(thread)
        thread.append(step)
        if step.intent == "done_for_now":
            return thread
""",
        # LangChain structured output.
        """
from langchain_openai import ChatOpenAI
planner = ChatOpenAI(model="gpt-4o").with_structured_output(NextStep)

def run(thread):
    for _ in range(12):
        step = planner.invoke(thread)
        thread.append(step)
""",
    ]
    near_miss = [
        # Iterative writing: the reply is only kept and fed back, nothing is decided from it.
        """
from openai import OpenAI
client = OpenAI()

def draft(messages):
    for _ in range(3):
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append({"role": "assistant", "content": reply.choices[0].message.content})
        messages.append({"role": "user", "content": "Improve it."})
""",
        # A chat REPL: a person writes every turn.
        """
from openai import OpenAI
client = OpenAI()

def repl(messages):
    while True:
        messages.append({"role": "user", "content": input("> ")})
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append({"role": "assistant", "content": reply.choices[0].message.content})
""",
        # A map-style loop: each document is summarised on its own.
        """
from openai import OpenAI
client = OpenAI()

def summarise(docs):
    out = []
    for doc in docs:
        out.append(client.chat.completions.create(model="m", messages=[{"role": "user", "content": doc}]))
    return out
""",
        # A wrapper from another file whose result is used as an object: its shape is unknown.
        {
            "llm.py": """
from openai import OpenAI
client = OpenAI()

def determine_next_step(thread):
    return client.chat.completions.parse(model="m", messages=thread, response_format=NextStep).choices[0].message.parsed
""",
            "agent.py": """
from llm import determine_next_step

def run(thread):
    for _ in range(10):
        step = determine_next_step(thread)
        thread.append(step)
        if step.intent == "done":
            break
""",
        },
        # Options in **kwargs may carry tools or a schema.
        """
import litellm

def run(messages, **options):
    for _ in range(10):
        resp = litellm.completion(model="m", messages=messages, **options)
        messages.append(resp.choices[0].message)
""",
    ]

    def visit_While(self, node: cst.While) -> None:
        self._check(node)

    def visit_For(self, node: cst.For) -> None:
        self._check(node)

    def _check(self, loop) -> None:
        info = self.ctx.loops.analyse(loop)
        if not info.llm_calls or info.human_gated:
            return
        track = tracker(self.ctx)
        labels: list[str] = []
        requires: set[str] = set()
        certain = False
        for llm in info.llm_calls:
            mode, origin = track.call_mode(llm.node, llm)
            if origin is None:
                return
            if origin.wrapper:
                name = track.assigned_name(llm.node)
                if name is None or not track.used_as_text(name):
                    return
            elif mode != "prose":
                return
            labels.append(" ".join(self.ctx.code_for(llm.node.func).split())[:60])
            if origin.requires:
                requires.update(origin.requires)
            else:
                certain = True
        if not self._acts_on_reply(loop, {id(llm.node) for llm in info.llm_calls}):
            return
        calls = ", ".join(f"`{label}(...)`" for label in dict.fromkeys(labels))
        self.report(
            loop,
            f"Agent loop asks {calls} for free text each turn: no tools and no response schema, "
            "so the next step has to be guessed from prose",
            requires_llm=() if certain else tuple(sorted(requires)),
            unless_human=info.may_ask,
        )

    def _acts_on_reply(self, loop, calls: set[int]) -> bool:
        """Does the loop decide or do something from the reply's text (a test, a parse, a tool)?"""
        mention = _ReplyMention(tracker(self.ctx), calls)
        scan = _ActsOnReply(self.ctx, calls, mention)
        run_visitor(loop.body, scan)
        if isinstance(loop, cst.While) and not scan.acted and mention.found_in(loop.test):
            return True
        return scan.acted


class _ReplyMention(cst.CSTVisitor):
    """Whether an expression reads the text of a reply of one of ``calls`` (by id)."""

    def __init__(self, track, calls: set[int]) -> None:
        self.track = track
        self.calls = calls
        self.found = False

    def found_in(self, expr: cst.BaseExpression) -> bool:
        self.found = False
        run_visitor(expr, self)
        return self.found

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.found:
            return False
        if isinstance(node, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)) and self._is_reply(node):
            self.found = True
            return False
        return not isinstance(node, cst.Lambda)

    def _is_reply(self, expr: cst.BaseExpression) -> bool:
        origin = self.track.reply_text(expr)
        return origin is not None and id(origin.source) in self.calls


class _ActsOnReply(cst.CSTVisitor):
    """Finds a test, a parse or a call in a loop body (not in nested functions) that reads the reply."""

    def __init__(self, ctx, calls: set[int], mention: _ReplyMention) -> None:
        self.ctx = ctx
        self.calls = calls
        self.mention = mention
        self.acted = False

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_If(self, node: cst.If) -> None:
        if not self.acted and self.mention.found_in(node.test):
            self.acted = True

    def visit_While(self, node: cst.While) -> None:
        if not self.acted and self.mention.found_in(node.test):
            self.acted = True

    def visit_Match(self, node: cst.Match) -> None:
        if not self.acted and self.mention.found_in(node.subject):
            self.acted = True

    def visit_Call(self, node: cst.Call) -> None:
        if self.acted or id(node) in self.calls or self.ctx.recognise.llm_call(node) is not None:
            return
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _PASSIVE_METHODS:
            return
        qualname = self.ctx.qualname(func) or ""
        if qualname in _PASSIVE_FUNCTIONS or qualname.split(".", 1)[0] in _LOGGING_ROOTS:
            return
        if any(self.mention.found_in(arg.value) for arg in node.args):
            self.acted = True
