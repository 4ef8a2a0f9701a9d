from __future__ import annotations

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, Rule, RuleMeta
from factorlint.engine.agents.recursion import onward_agent_loop, recursive_agent_loop


class UnboundedAgentLoop(Rule):
    """## What it does
    Finds hand-written agent loops with no step bound: a loop that calls a model (directly or
    through one of your wrapper functions), feeds the result back into the next call, and can
    only end when the model says so.

    ## Why is this bad?
    Factor 8 (own your control flow) asks you to own the loop, and owning it means bounding it.
    A model that never answers "done", or keeps calling a failing tool, turns the loop into a
    runaway: it burns tokens and money until something outside kills the process. A bound with
    an escalation path turns that into a handled event.

    An agent loop written as recursion counts too: a function that calls a model and calls itself
    again when the reply asks for it (a tool call), with no depth it passes on and compares. So
    does recursion across functions, threads included: a call the reply decides (starting the
    tools it asked for) that leads back to the calling function through your other functions.
    It is reported at that call, once per function.

    A loop counts as bounded when it is a `for` over a finite iterable, a `while` whose test
    compares a counter the body moves, or when a `break`/`return`/`raise` is guarded by a
    counter, a clock or a budget. A break the model decides (`if step.intent == "done": break`)
    ends the loop but does not bound it.

    ## Example
    ```python
    while True:
        step = determine_next_step(thread)
        thread.append(step)
        if step.intent == "done_for_now":
            break
        thread.append(execute(step))
    ```

    ## Use instead
    ```python
    MAX_STEPS = 12
    for _ in range(MAX_STEPS):
        step = determine_next_step(thread)
        thread.append(step)
        if step.intent == "done_for_now":
            break
        thread.append(execute(step))
    else:
        escalate_to_human(thread, reason="step budget exhausted")
    ```

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`), for `while True:` loops: the loop becomes `for _step in
    range(20):` (the `max-steps` setting) with an `else:` that raises `RuntimeError` when the
    budget runs out, for the caller to escalate. The loop now ends, and choosing the budget and
    the escalation is a product decision: review the number and the exception. Other loops
    (`while not done:`, recursion) are not changed automatically.

    ## Options
    - `max-steps`: the budget suggested in the message (default 20).
    - `bounded-by`: functions that enforce a bound inside the loop (`["myapp.guard.step"]`).
    - `budget-name-pattern`: names that count as a budget in a guarded exit.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-08-own-your-control-flow.md
    - OWASP LLM10: Unbounded Consumption
    """

    meta = RuleMeta(
        code="TFA0802",
        name="unbounded-agent-loop",
        factor=8,
        severity="error",
        confidence="high",
        summary="Agent loop has no step bound: only the model decides when it stops",
        fix_advice=(
            "Bound the loop: `for _ in range(MAX_STEPS):` (or a counter checked in the loop) with an "
            "`else:` branch that escalates to a human or raises when the budget is exhausted."
        ),
        fix="sometimes",
    )

    fixes = [
        (
            """
from openai import OpenAI
client = OpenAI()

class Agent:
    def run(self, messages, tools):
        while True:  # until the model stops asking for tools
            reply = client.chat.completions.create(model="m", messages=messages, tools=tools)
            messages.append(reply.choices[0].message)
            if not reply.choices[0].message.tool_calls:
                return reply

    def reset(self):
        self.messages = []
""",
            """
from openai import OpenAI
client = OpenAI()

class Agent:
    def run(self, messages, tools):
        for _step in range(20):  # until the model stops asking for tools
            reply = client.chat.completions.create(model="m", messages=messages, tools=tools)
            messages.append(reply.choices[0].message)
            if not reply.choices[0].message.tool_calls:
                return reply
        else:
            raise RuntimeError("the agent loop did not finish in 20 steps: escalate to a person")

    def reset(self):
        self.messages = []
""",
        ),
    ]

    invalid = [
        # The step limit applies only when an environment variable sets it (gptme's chat loop).
        """
import os
from openai import OpenAI
client = OpenAI()

def run(messages):
    max_steps: int | None = None
    if os.environ.get("MAX_STEPS"):
        max_steps = int(os.environ["MAX_STEPS"])
    steps = 0
    while True:  # expect: TFA0802 @5-15:18 | Agent loop is bounded only when `max_steps` is set, and it is None unless configured: by default only the model decides when it stops
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
        steps += 1
        if max_steps is not None and steps >= max_steps:
            break
""",
        """
from openai import OpenAI
client = OpenAI()

def run(messages):
    while True:  # expect: TFA0802 @5-9:18 | Agent loop has no step bound: only the model decides when it stops
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        if reply.choices[0].finish_reason == "stop":
            break
""",
        """
import anthropic as ant

class Bot:
    def __init__(self):
        self.client = ant.Anthropic()
        self.history = []

    def loop(self):
        while not self.finished():  # expect: TFA0802 @9-11:79 | Agent loop has no step bound: only the model decides when it stops
            msg = self.client.messages.create(model="m", max_tokens=100, messages=self.history)
            self.history.append({"role": "assistant", "content": msg.content})
""",
        {
            "llm.py": """
from openai import OpenAI as Client
client = Client()

def determine_next_step(thread):
    return client.chat.completions.create(model="m", messages=thread)
""",
            "agent.py": """
from llm import determine_next_step

def handle(thread):
    while True:  # expect: TFA0802 @5-8:26 | Agent loop has no step bound: only the model decides when it stops
        step = determine_next_step(thread)
        thread.append(step)
        if step.intent == "done":
            return thread
""",
        },
        """
from langchain_openai import ChatOpenAI
llm = ChatOpenAI(model="gpt-4o")
queue = ["start"]

def crawl():
    for item in queue:  # expect: TFA0802 @5-8:37 | Agent loop has no step bound: only the model decides when it stops
        answer = llm.invoke(item)
        queue.append(answer.content)
""",
        # A console prompt asked only under an option does not gate every turn (rawdog's leash).
        """
from openai import OpenAI
client = OpenAI()

def run(messages, leash=False):
    while True:  # expect: TFA0802 @5-9:18 | Agent loop has no step bound: only the model decides when it stops
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
        if leash and input("Run it? (Y/n)") == "n":
            break
""",
        # Recursion on the model's reply (shell-gpt's tool handling): the same loop, unbounded.
        """
from openai import OpenAI
client = OpenAI()

class Handler:
    def get_completion(self, messages, tools):
        response = client.chat.completions.create(model="m", messages=messages, tools=tools)
        for choice in response.choices:
            if choice.finish_reason == "tool_calls":
                messages.append(run_tool(choice.message))
                yield from self.get_completion(messages, tools)  # expect: TFA0802 @28-64 | `get_completion` calls itself again when the model's reply asks for it, with no depth bound: an agent loop written as recursion, ended only by the model
            else:
                yield choice.message.content
""",
        # Recursion across functions and a thread (gptme's server step): the tools the reply asks
        # for run in a thread that starts the step again.
        """
import threading
from openai import OpenAI
client = OpenAI()

def step(messages):
    reply = client.chat.completions.create(model="m", messages=messages)
    tool_calls = reply.choices[0].message.tool_calls
    if tool_calls:
        start_tools(messages, tool_calls)  # expect: TFA0802 @9-42 | `step` runs again through `start_tools` when the model's reply asks for it, with no depth bound: an agent loop written as recursion across functions, ended only by the model

def start_tools(messages, tool_calls):
    def run():
        for call in tool_calls:
            messages.append(execute(call))
        step(messages)
    threading.Thread(target=run).start()
""",
    ]
    valid = [
        """
from openai import OpenAI
client = OpenAI()

def run(messages, max_steps=10):
    for _ in range(max_steps):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
""",
        """
from openai import OpenAI
client = OpenAI()

def run(messages):
    steps = 0
    while True:
        steps += 1
        if steps > 12:
            raise RuntimeError("step budget exhausted")
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
""",
        """
from openai import OpenAI
client = OpenAI()

def run(messages):
    turn = 0
    while turn < 8:
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        turn += 1
""",
        """
import time
from openai import OpenAI
client = OpenAI()

def run(messages):
    started = time.monotonic()
    while True:
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        if time.monotonic() - started > 60:
            break
""",
    ]
    near_miss = [
        # The loop stops when a review says so, and the review asks a person unless the planner
        # runs on its own: a person (or the code's own check), not the model, ends it.
        """
from openai import OpenAI
client = OpenAI()

def ask_person(question):
    return input(question) in ("y", "yes")

def review(auto):
    if not auto:
        return ask_person("Accept the plan? ")
    return True

def plan(messages, auto):
    confirmed = False
    while not confirmed:
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
        confirmed = review(auto)
""",
        # The same recursion across functions, bounded by a budget kept on the session: each
        # pass spends one auto-approval, and a tool without one waits for a person's request.
        """
import threading
from openai import OpenAI
client = OpenAI()

def step(session, messages):
    reply = client.chat.completions.create(model="m", messages=messages)
    tool_calls = reply.choices[0].message.tool_calls or []
    auto = None
    for tool_call in tool_calls:
        approved = session.auto_approvals > 0
        session.pending.append(tool_call)
        if approved:
            session.auto_approvals -= 1
            auto = tool_call
    if auto is not None:
        start_tools(session, messages, auto)

def start_tools(session, messages, tool_call):
    def run():
        messages.append(execute(tool_call))
        step(session, messages)
    threading.Thread(target=run).start()
""",
        # A cycle through another function that the reply does not decide: the second pass is
        # asked for by the caller's mode, and runs once.
        """
from openai import OpenAI
client = OpenAI()
notes = []

def research(query, mode):
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": query}])
    notes.append(reply.choices[0].message.content)
    if mode == "deep":
        go_deeper(query)

def go_deeper(query):
    research(query + " (details)", "shallow")
""",
        # The same guard, with a limit that is always set.
        """
import os
from openai import OpenAI
client = OpenAI()

def run(messages):
    max_steps = int(os.environ.get("MAX_STEPS", "20"))
    steps = 0
    while True:
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
        steps += 1
        if max_steps and steps >= max_steps:
            break
""",
        # A map-style loop: each call is independent, nothing is fed back.
        """
from openai import OpenAI
client = OpenAI()

def summarise(docs):
    out = []
    while True:
        doc = next_doc()
        if doc is None:
            break
        out.append(client.chat.completions.create(model="m", messages=[{"role": "user", "content": doc}]))
""",
        # A console loop that never calls a model.
        """
def repl(history):
    while True:
        line = input("> ")
        history.append(line)
        if line == "quit":
            break
""",
        # The loop calls a project function that turns out not to reach any model.
        {
            "helpers.py": """
def fetch(page):
    return page + 1
""",
            "crawler.py": """
from helpers import fetch

def crawl(pages):
    while True:
        pages.append(fetch(pages))
        if len(pages) > 3:
            pass
""",
        },
        # A chat REPL: every turn waits for a person, so the model cannot run away.
        """
from openai import OpenAI
client = OpenAI()

def chat(messages):
    while True:
        text = input("> ")
        messages.append({"role": "user", "content": text})
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
""",
        # A value rebuilt in every iteration carries nothing to the next one.
        """
import litellm

def poll(kernel):
    while True:
        params = {"model": "m", "messages": [{"role": "user", "content": kernel.read()}]}
        params["temperature"] = 0
        litellm.completion(**params)
        if kernel.done():
            break
""",
        # A name that merely looks like a client, bound to nothing we know.
        """
def run(client, messages):
    while True:
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply)
""",
        # Recursion over a tree the code walks: the reply does not decide it.
        """
from openai import OpenAI
client = OpenAI()

def summarise(node):
    summary = client.chat.completions.create(model="m", messages=[{"role": "user", "content": node.text}])
    for child in node.children:
        summarise(child)
    return summary
""",
        # Recursion on the reply with a depth the code owns.
        """
from openai import OpenAI
client = OpenAI()

def solve(messages, depth=0):
    if depth >= 5:
        raise RuntimeError("too deep")
    reply = client.chat.completions.create(model="m", messages=messages)
    if reply.choices[0].finish_reason == "tool_calls":
        messages.append(run_tool(reply))
        return solve(messages, depth + 1)
    return reply
""",
    ]

    def visit_While(self, node: cst.While) -> None:
        self._check(node)

    def visit_Call(self, node: cst.Call) -> None:
        recursion = recursive_agent_loop(self.ctx, node)
        if recursion is not None:
            if not recursion.bounded:
                name = recursion.function.name.value
                self.report(
                    node,
                    f"`{name}` calls itself again when the model's reply asks for it, with no depth "
                    "bound: an agent loop written as recursion, ended only by the model",
                    requires_llm=recursion.requires,
                )
            return
        onward = onward_agent_loop(self.ctx, node)
        if onward is None:
            return
        found, step = onward
        if step.bounded:
            return
        name = found.function.name.value
        through = step.callee.rsplit(".", 1)[-1]
        self.report(
            node,
            f"`{name}` runs again through `{through}` when the model's reply asks for it, with no "
            "depth bound: an agent loop written as recursion across functions, ended only by the model",
            requires_llm=step.requires,
            requires_cycle=(step.callee, self.ctx.function_qualname(found.function)),
        )

    def visit_For(self, node: cst.For) -> None:
        self._check(node)

    def _check(self, node) -> None:
        info = self.ctx.loops.analyse(node)
        if not info.llm_calls or info.bounded:
            return
        message = None
        if info.optional_limit:
            message = (
                f"Agent loop is bounded only when `{info.optional_limit}` is set, and it is None "
                "unless configured: by default only the model decides when it stops"
            )
        self.report(node, message, requires_llm=info.requires, unless_human=info.may_ask, fix=self._bound(node))

    def _bound(self, loop) -> CodeFix | None:
        """``while True:`` becomes ``for _step in range(MAX_STEPS):`` with an ``else:`` that
        raises when the budget runs out (the caller escalates): unsafe, the loop now ends."""
        if not isinstance(loop, cst.While) or loop.orelse is not None or not _always_true(loop.test):
            return None
        if self.ctx.function_stack and "_step" in self.ctx.current_flow().bindings:
            return None
        steps = self.ctx.settings.max_steps
        header = RawEdit(loop, f"for _step in range({steps})", until=loop.test)
        unit = loop.body.indent if isinstance(loop.body, cst.IndentedBlock) and loop.body.indent else None
        unit = unit or self.ctx.module.default_indent  # the loop body's own step of indentation
        escalate = RawEdit(
            loop,
            f'\nelse:\n{unit}raise RuntimeError("the agent loop did not finish in {steps} steps: escalate to a person")',
            after=True, indented=True,
        )
        return CodeFix((header, escalate), unsafe=True)


def _always_true(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name):
        return test.value == "True"
    return isinstance(test, cst.Integer) and test.value not in ("0", "00")
