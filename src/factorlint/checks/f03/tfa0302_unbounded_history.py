from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.f03._history import Compaction, history_growth


class UnboundedHistory(Rule):
    """## What it does
    Finds conversations whose history (the list passed to the model as `messages=` / `input=` or
    rendered into the prompt) only ever grows: a loop a person answers every turn (a chat REPL)
    appends or extends it, and
    nothing trims it (`messages[-20:]`, `del messages[:k]`, `messages.pop(0)`), calls a function
    whose name says it trims, truncates, compacts, summarises, windows, prunes, squashes or
    filters it (`trim_messages`, `self._summarize_history()`), or counts tokens (`tiktoken`,
    `count_tokens`). The function around the loop, the class for `self.` histories, and
    functions of the same file that the loop calls (one call deep) are searched.

    An agent loop's history is not reported: a step bound limits its growth, and a loop with no
    bound is TFA0802's finding (docs/violations.md, factor 3).

    ## Why is this bad?
    Factor 3 (own your context window): every turn re-sends the whole history. Left to grow,
    tool output and retries crowd out the instructions, cost and latency climb with each step,
    and the run finally fails on the model's context limit, usually in the longest, most
    valuable runs.

    ## Example
    ```python
    while True:
        messages.append({"role": "user", "content": input("> ")})
        resp = client.chat.completions.create(model=M, messages=messages)
        messages.append(resp.choices[0].message)
    ```

    ## Use instead
    ```python
    while True:
        messages.append({"role": "user", "content": input("> ")})
        messages = compact(messages, max_tokens=8000)  # keep the instructions, summarise the rest
        resp = client.chat.completions.create(model=M, messages=messages)
        messages.append(resp.choices[0].message)
    ```

    ## Fix safety
    No automatic fix: what to keep is a product decision.

    ## Options
    - `compaction-functions`: more functions that keep a history in check (names or qualified
      name globs: `["shrink_context", "myapp.context.*"]`), added to the built-in name fragments.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-03-own-your-context-window.md
    """

    meta = RuleMeta(
        code="TFA0302",
        name="unbounded-history",
        factor=3,
        severity="warning",
        confidence="medium",
        summary="A conversation grows its history every turn and never trims or compacts it",
        fix_advice=(
            "Keep the context in budget: trim or window the history, summarise old turns, cap "
            "tool output, or count tokens before each call (`compaction-functions` names your own "
            "helpers)."
        ),
    )

    invalid = [
        """
from openai import OpenAI
client = OpenAI()

def chat():
    messages = [{"role": "system", "content": "You help with orders."}]
    while True:  # expect: TFA0302 @5-10:48 | `messages` grows every turn of the conversation (.append()) and is sent back to the model whole, but nothing trims, compacts or summarises it: the longer the conversation, the more of the context it takes
        messages.append({"role": "user", "content": input("> ")})
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        print(reply.choices[0].message.content)
""",
        """
import anthropic

class Assistant:
    def __init__(self):
        self.client = anthropic.Anthropic()
        self.history = []

    def repl(self):
        while True:  # expect: TFA0302 @9-12:76 | `self.history` grows every turn of the conversation (+=) and is sent back to the model whole, but nothing trims, compacts or summarises it: the longer the conversation, the more of the context it takes
            self.history += [{"role": "user", "content": input("you: ")}]
            msg = self.client.messages.create(model="m", max_tokens=1024, messages=self.history)
            self.history += [{"role": "assistant", "content": msg.content}]
""",
    ]
    valid = [
        # A window: only the last 20 messages are sent.
        """
from openai import OpenAI
client = OpenAI()

def run(messages):
    while True:
        resp = client.chat.completions.create(model="m", messages=messages[-20:])
        messages.append(resp.choices[0].message)
""",
        # A summarising helper of the class keeps self.history in check.
        """
import anthropic

class Agent:
    def __init__(self):
        self.client = anthropic.Anthropic()
        self.history = []

    def _summarize_history(self):
        self.history = [{"role": "user", "content": summarise(self.history)}]

    def run(self):
        while True:
            msg = self.client.messages.create(model="m", max_tokens=1024, messages=self.history)
            self.history.append({"role": "assistant", "content": msg.content})
            if len(self.history) > 30:
                self._summarize_history()
""",
        # Token counting before each call.
        """
import tiktoken
from openai import OpenAI
client = OpenAI()
enc = tiktoken.encoding_for_model("gpt-4o")

def run(messages):
    while True:
        while sum(len(enc.encode(m["content"])) for m in messages) > 6000:
            messages.pop(1)
        resp = client.chat.completions.create(model="m", messages=messages)
        messages.append({"role": "assistant", "content": resp.choices[0].message.content})
""",
        # A short, plainly bounded loop.
        """
from openai import OpenAI
client = OpenAI()

def refine(messages):
    for _ in range(5):
        resp = client.chat.completions.create(model="m", messages=messages)
        messages.append(resp.choices[0].message)
""",
    ]
    near_miss = [
        # Agent loops: a step bound limits the growth, and a missing one is TFA0802's finding.
        """
from openai import OpenAI
client = OpenAI()

def run(messages, tools):
    while True:
        resp = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
        messages.append(resp.choices[0].message)
        for call in resp.choices[0].message.tool_calls or []:
            messages.append({"role": "tool", "tool_call_id": call.id, "content": execute(call)})
        if not resp.choices[0].message.tool_calls:
            return messages
""",
        """
import anthropic

class Agent:
    def __init__(self):
        self.client = anthropic.Anthropic()
        self.history = []

    def run(self, task):
        self.history.append({"role": "user", "content": task})
        for _ in range(200):
            msg = self.client.messages.create(model="m", max_tokens=1024, messages=self.history)
            self.history += [{"role": "assistant", "content": msg.content}]
""",
        {
            "llm.py": """
import litellm

def complete(messages):
    return litellm.completion(model="gpt-4o", messages=messages)
""",
            "agent.py": """
from llm import complete

MAX_TURNS = 100

def solve(task):
    messages = [{"role": "user", "content": task}]
    turn = 0
    while turn < MAX_TURNS:
        reply = complete(messages)
        messages = messages + [reply.choices[0].message]
        turn += 1
""",
        },
        # The prompt is rebuilt from the last result each turn: nothing accumulates.
        """
from openai import OpenAI
client = OpenAI()

def improve(draft):
    while True:
        resp = client.chat.completions.create(model="m", messages=[{"role": "user", "content": draft}])
        draft = resp.choices[0].message.content
        if len(draft) < 100:
            return draft
""",
        # A trimming helper of the project, recognised by its name.
        """
from openai import OpenAI
client = OpenAI()

def run(messages, tools):
    while True:
        messages = trim_messages(messages, max_tokens=8000)
        resp = client.chat.completions.create(model="m", messages=messages, tools=tools)
        messages.append(resp.choices[0].message)
""",
        # Old screenshots are filtered out of the history before each call.
        """
import anthropic

def sampling_loop(messages, keep_images):
    client = anthropic.Anthropic()
    while True:
        _maybe_filter_to_n_most_recent_images(messages, keep_images)
        resp = client.messages.create(model="m", max_tokens=1024, messages=messages)
        messages.append({"role": "assistant", "content": resp.content})
        if resp.stop_reason == "end_turn":
            break
""",
        # Bounded by a limit whose value the code does not show.
        """
from openai import OpenAI
client = OpenAI()

def run(messages, limit):
    for _ in range(limit):
        resp = client.chat.completions.create(model="m", messages=messages)
        messages.append(resp.choices[0].message)
""",
    ]

    def visit_While(self, node: cst.While) -> None:
        self._check(node)

    def visit_For(self, node: cst.For) -> None:
        self._check(node)

    def _check(self, loop) -> None:
        info = self.ctx.loops.analyse(loop)
        # A conversation a person drives turn after turn is what keeps growing: an agent loop's
        # history is limited by its step bound, or its missing bound is TFA0802's finding
        # (docs/violations.md, factor 3).
        if not info.llm_calls or not info.human_gated:
            return
        function = self.ctx.function_stack[-1] if self.ctx.function_stack else None
        compaction = Compaction(self.ctx)
        for growth in history_growth(info):
            if growth.shrinks or growth.rebuilt:
                continue
            if compaction.bounded_nearby(info, growth.path, function):
                continue
            how = ", ".join(dict.fromkeys(growth.grows))
            self.report(
                loop,
                f"`{growth.path}` grows every turn of the conversation ({how}) and is sent back to "
                "the model whole, but nothing trims, compacts or summarises it: the longer the "
                "conversation, the more of the context it takes",
                requires_llm=info.requires,
                unless_human=info.may_ask,
            )
            return
