from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.f04._flow import body_of, last_attribute, propagate, root_name, subscript_key
from factorlint.engine.agents.loops import LoopInfo
from factorlint.engine.recognise import errors
from factorlint.engine.semantic.names import literal_string

# Response fields that say whether the model asked for a tool, and the values that mean it did
# (Chat Completions `finish_reason`, Anthropic `stop_reason`) or that it answered in text.
_TOOL_CALL_FIELDS = frozenset({"tool_calls", "function_call"})
_REASON_FIELDS = frozenset({"finish_reason", "stop_reason"})
_TOOL_REASONS = frozenset({"tool_calls", "tool_use", "function_call"})
_TEXT_REASONS = frozenset({"stop", "end_turn"})


class PlaintextFinalAnswer(Rule):
    """## What it does
    Finds agent loops that end when the model answers in plain text instead of calling a tool:
    `if not msg.tool_calls: return msg.content`, `if resp.choices[0].finish_reason == "stop":
    break`, `if resp.stop_reason == "end_turn"`, an `if msg.tool_calls: ... else: return`, or a
    `while response.stop_reason == "tool_use":` loop. The field must come from a model reply in
    the same function.

    Off by default (select `TFA0702`): ending a tool loop on a plain answer is how the SDKs
    document it, and docs/violations.md does not count it as a violation. Select it to hold your
    loops to the guide's stricter "done" intent.

    ## Why is this bad?
    Factor 7 (contact humans with tool calls): "done" and "I need a person" are intents like any
    other. When the exit is "the model did not call a tool", the first token decides between a
    structured action and free text, the final answer has no schema, and there is no way to tell a
    finished task from a question, a refusal or a truncated reply. The factor frames this as an
    experiment worth trying, hence advice.

    ## Example
    ```python
    msg = resp.choices[0].message
    if not msg.tool_calls:
        return msg.content
    ```

    ## Use instead
    ```python
    step = determine_next_step(thread)          # union incl. DoneForNow, RequestHumanInput
    if isinstance(step, DoneForNow):
        return reply_to_human(step.message, thread)
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-07-contact-humans-with-tools.md
    """

    meta = RuleMeta(
        code="TFA0702",
        name="plaintext-final-answer",
        factor=7,
        severity="advice",
        confidence="high",
        summary="The agent loop ends when the model answers in plain text, not with a 'done' intent",
        # Opt-in: the definition (docs/violations.md, factor 7) counts a tool loop ending on a
        # plain answer as the normal end of a tool loop, not a violation.
        status="preview",
        fix_advice=(
            "Give the model explicit `done_for_now` and `request_human_input` tools (or a structured "
            "next-step union) and require a tool call (`tool_choice=\"required\"`), then end the loop "
            "on that intent."
        ),
    )

    invalid = [
        """
from openai import OpenAI

client = OpenAI()

def run(messages, tools, execute):
    for _ in range(10):
        resp = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
        msg = resp.choices[0].message
        messages.append(msg)
        if not msg.tool_calls:  # expect: TFA0702 @12-30 | `not msg.tool_calls`: the loop ends when the model answers without a tool call, so the final answer is untyped free text
            return msg.content
        for call in msg.tool_calls:
            messages.append(execute(call))
""",
        """
import anthropic

client = anthropic.Anthropic()

def run(messages, execute):
    response = client.messages.create(model="m", max_tokens=1024, messages=messages)
    while response.stop_reason == "tool_use":  # expect: TFA0702 @11-45 | `response.stop_reason == "tool_use"`: the loop runs only while the model asks for tools, so the final answer is untyped free text
        messages.append({"role": "assistant", "content": response.content})
        messages.append({"role": "user", "content": execute(response)})
        response = client.messages.create(model="m", max_tokens=1024, messages=messages)
    return response.content[0].text
""",
        """
import litellm

def agent(messages, execute):
    turns = 0
    while turns < 20:
        turns += 1
        reply = litellm.completion(model="gpt-4o", messages=messages)
        choice = reply.choices[0]
        messages.append(choice.message)
        if choice.finish_reason == "stop":  # expect: TFA0702 @12-42 | `choice.finish_reason == "stop"`: the loop ends when the model answers without a tool call, so the final answer is untyped free text
            break
        if choice.message.tool_calls:  # expect: TFA0702 @12-37 | `choice.message.tool_calls`: the `else` ends the loop when the model answers in text, so the final answer is untyped free text
            messages.append(execute(choice.message))
        else:
            return choice.message.content
""",
        """
from openai import OpenAI

client = OpenAI()

def run(messages, execute):
    for _ in range(8):
        response = client.chat.completions.create(model="gpt-4o", messages=messages)
        message = response.choices[0].message
        tool_calls = message.tool_calls
        messages.append(message)
        if not tool_calls:  # expect: TFA0702 @12-26 | `not tool_calls`: the loop ends when the model answers without a tool call, so the final answer is untyped free text
            return message.content
        messages.extend(execute(call) for call in tool_calls)
""",
    ]
    valid = [
        """
from openai import OpenAI

client = OpenAI()

def run(thread, execute, reply_to_human):
    for _ in range(10):
        step = client.chat.completions.parse(model="gpt-4o", messages=thread, response_format=dict)
        thread.append(step)
        if step.intent == "done_for_now":
            return reply_to_human(step.message, thread)
        thread.append(execute(step))
""",
        # tool_choice="required" loop that ends on a `done` tool.
        """
from openai import OpenAI

client = OpenAI()

def run(messages, tools, execute):
    for _ in range(10):
        resp = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools, tool_choice="required")
        call = resp.choices[0].message.tool_calls[0]
        if call.function.name == "done_for_now":
            return call.function.arguments
        messages.append(execute(call))
""",
        # Checking tool calls without leaving the loop, through a name.
        """
from openai import OpenAI

client = OpenAI()

def run(messages, execute):
    for _ in range(10):
        resp = client.chat.completions.create(model="gpt-4o", messages=messages)
        msg = resp.choices[0].message
        messages.append(msg)
        calls = msg.tool_calls
        if calls:
            messages.append(execute(msg))
""",
    ]
    near_miss = [
        # A single call (no loop): a plain question and answer.
        """
from openai import OpenAI

client = OpenAI()

def ask(messages):
    resp = client.chat.completions.create(model="gpt-4o", messages=messages)
    if not resp.choices[0].message.tool_calls:
        return resp.choices[0].message.content
""",
        # A field of the same name on something that is not a model reply.
        """
from openai import OpenAI

client = OpenAI()

def run(messages, job):
    for _ in range(5):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        if job.finish_reason == "stop":
            break
""",
        # A map loop over documents (no feedback): not an agent loop.
        """
from openai import OpenAI

client = OpenAI()

def summarise(docs, out):
    for doc in docs:
        resp = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": doc}])
        if not resp.choices[0].message.tool_calls:
            out.append(resp.choices[0].message.content)
            continue
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._loop_depth: list[int] = [0]
        self._reply_names: dict[int, dict[str, tuple[str, ...]]] = {}  # id(def) -> names

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._loop_depth.append(len(self.ctx.loop_stack))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._loop_depth.pop()

    def visit_While(self, node: cst.While) -> None:
        info = self.ctx.loops.analyse(node)
        if not info.llm_calls:
            return
        found = self._classify(node.test)
        if found is not None and found[0] == "tool":
            self._report(node.test, found[1], info, "the loop runs only while the model asks for tools")

    def visit_If(self, node: cst.If) -> None:
        info = self._agent_loop()
        if info is None:
            return
        found = self._classify(node.test)
        if found is None:
            return
        kind, requires = found
        if kind == "text" and errors.leaves(node.body):
            self._report(node.test, requires, info, "the loop ends when the model answers without a tool call")
        elif kind == "tool" and isinstance(node.orelse, cst.Else) and errors.leaves(node.orelse.body):
            self._report(node.test, requires, info, "the `else` ends the loop when the model answers in text")

    def _report(self, node, requires, info: LoopInfo, what: str) -> None:
        test = " ".join(self.ctx.code_for(node).split())
        if len(test) > 60:
            test = test[:57] + "..."
        self.report(
            node,
            f"`{test}`: {what}, so the final answer is untyped free text",
            requires_llm=requires or info.requires,
        )

    def _agent_loop(self) -> LoopInfo | None:
        for loop in reversed(self.ctx.loop_stack[self._loop_depth[-1]:]):
            info = self.ctx.loops.analyse(loop)
            if info.llm_calls:
                return info
        return None

    # -- what a test checks ---------------------------------------------------------------------

    def _classify(self, test: cst.BaseExpression) -> tuple[str, tuple[str, ...]] | None:
        """("text" | "tool", requires): the test holds when the model answered in text / asked for
        a tool; None when it checks neither on a model reply."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self._classify(test.expression)
            return (_flip(inner[0]), inner[1]) if inner else None
        replies = self._replies()
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            left, item = test.left, test.comparisons[0]
            right = item.comparator
            if self._tool_calls(left, replies) is not None and isinstance(right, cst.Name) and right.value == "None":
                kind = "text" if isinstance(item.operator, (cst.Is, cst.Equal)) else "tool"
                return kind, self._tool_calls(left, replies)
            if self._is_len(left) and self._tool_calls(left.args[0].value, replies) is not None:
                if isinstance(right, cst.Integer) and right.value == "0":
                    kind = "text" if isinstance(item.operator, (cst.Equal, cst.LessThanEqual)) else "tool"
                    return kind, self._tool_calls(left.args[0].value, replies)
            reason = self._reason(left, replies)
            value = literal_string(right)
            if reason is not None and value is not None:
                equal = isinstance(item.operator, cst.Equal)
                if not equal and not isinstance(item.operator, cst.NotEqual):
                    return None
                if value in _TEXT_REASONS:
                    return ("text" if equal else "tool"), reason
                if value in _TOOL_REASONS:
                    return ("tool" if equal else "text"), reason
            return None
        requires = self._tool_calls(test, replies)
        return ("tool", requires) if requires is not None else None

    def _replies(self) -> dict[str, tuple[str, ...]]:
        """Names holding a model reply or a part of one, in the current function."""
        function = self.ctx.function_stack[-1] if self.ctx.function_stack else None
        if function is None:
            return {}
        cache = self._reply_names
        if id(function) in cache:
            return cache[id(function)]
        body = body_of(self.ctx, function)
        seeds = {}
        for names, value in body.assigns:
            call = value.expression if isinstance(value, cst.Await) else value
            if isinstance(call, cst.Call):
                llm = self.ctx.recognise.llm_call(call)
                if llm is not None:
                    for name in names:
                        seeds[name] = llm.requires

        def carries(expr, tainted):
            root = root_name(expr)
            return tainted.get(root) if root is not None else None

        found = cache[id(function)] = propagate(body, seeds, carries, hops=3)
        return found

    def _tool_calls(self, expr, replies, _seen: frozenset = frozenset()) -> tuple[str, ...] | None:
        """``<reply>.tool_calls`` (or a name assigned from it): the requires of the reply."""
        if isinstance(expr, cst.Name) and expr.value in replies:
            if expr.value in _seen:
                return None  # ``a = b`` / ``b = a`` cycles
            function = self.ctx.function_stack[-1] if self.ctx.function_stack else None
            for names, value in body_of(self.ctx, function).assigns if function is not None else ():
                if expr.value in names and self._tool_calls(value, replies, _seen | {expr.value}) is not None:
                    return replies[expr.value]
            return None
        if last_attribute(expr) in _TOOL_CALL_FIELDS or (
            isinstance(expr, cst.Subscript) and subscript_key(expr) in _TOOL_CALL_FIELDS
        ):
            root = root_name(expr)
            return replies.get(root) if root is not None else None
        return None

    def _is_len(self, expr) -> bool:
        return (
            isinstance(expr, cst.Call)
            and len(expr.args) == 1
            and self.ctx.qualname(expr.func) == "builtins.len"
        )

    def _reason(self, expr, replies) -> tuple[str, ...] | None:
        if last_attribute(expr) in _REASON_FIELDS or (
            isinstance(expr, cst.Subscript) and subscript_key(expr) in _REASON_FIELDS
        ):
            root = root_name(expr)
            return replies.get(root) if root is not None else None
        return None


def _flip(kind: str) -> str:
    return "tool" if kind == "text" else "text"
