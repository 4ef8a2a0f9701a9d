from __future__ import annotations

import re

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.agents.entrypoints import body_statements, entry_points, loops_in
from factorlint.engine.recognise.errors import feedback_path
from factorlint.engine.semantic.names import dotted_name

# A parameter that carries prior state: the function can resume.
_STATE_PARAM = re.compile(r"(?i)thread|histor|messages|state|session|memory|checkpoint|resume|conversation|context|run_id")
# A single free-text parameter.
_MESSAGE_PARAM = re.compile(
    r"(?i)^(question|query|task|prompt|message|msg|user_message|user_msg|user_input|input|text|goal"
    r"|request|instruction|instructions|problem|topic|objective)$"
)
# Functions and calls that load prior state (catalog FA604).
_LOADS = re.compile(
    r"(?i)^a?(load|restore|resume)($|_)|(^|_)(get|aget|fetch|read)_(thread|state|history|session|conversation|checkpoint)"
    r"|^(from_json|from_string|from_dict|model_validate_json)$"
)


class NoResumeEntryPoint(Rule):
    """## What it does
    Finds agent entry functions that can only start from scratch: the function runs an agent
    loop, takes one free-text message (`def run_agent(question: str)`), builds a fresh history list
    for the loop, and nothing in the module loads prior state (`load_thread`, `get_state`,
    `from_json`, `resume`).

    ## Why is this bad?
    Factor 6 (launch / pause / resume with simple APIs): an agent should be launchable, and
    resumable from where it stopped, with one call each. A function that only accepts a new
    question has no way to continue a paused thread after a person answers or a long job
    finishes, so every interruption restarts the work (or the process must never stop).

    ## Example
    ```python
    def run_agent(question: str) -> str:
        messages = [{"role": "user", "content": question}]
        for _ in range(10):
            reply = client.chat.completions.create(model=M, messages=messages)
            ...
    ```

    ## Use instead
    ```python
    def run_agent(thread: Thread) -> Thread: ...

    def launch(message: str) -> str:
        thread = Thread.from_message(message)
        store.save(thread.id, run_agent(thread))
        return thread.id

    def resume(thread_id: str, event: Event) -> Thread:
        thread = store.load(thread_id)
        thread.append(event)
        return run_agent(thread)
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None. Opt-in (low confidence): one-shot agents legitimately start fresh.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-06-launch-pause-resume.md
    """

    meta = RuleMeta(
        code="TFA0604",
        name="no-resume-entry-point",
        factor=6,
        severity="advice",
        confidence="low",
        summary="The agent can only start from a new message: there is no way to resume a thread",
        fix_advice=(
            "Make the loop take a thread (`run_agent(thread) -> thread`) and add `launch(message)` and "
            "`resume(thread_id, event)` functions that load and save it."
        ),
    )

    invalid = [
        """
from openai import OpenAI
client = OpenAI()

def run_agent(question: str) -> str:  # expect: TFA0604 @5-14 | `run_agent(question)` starts every run from a new `messages` list: a paused or failed run cannot be resumed
    messages = [{"role": "user", "content": question}]
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
    return messages[-1].content
""",
        """
import anthropic

class Helper:
    def __init__(self):
        self.client = anthropic.Anthropic()

    def solve(self, task, model="claude"):  # expect: TFA0604 @9-14 | `solve(task)` starts every run from a new `history` list: a paused or failed run cannot be resumed
        history = [{"role": "user", "content": task}]
        while len(history) < 20:
            msg = self.client.messages.create(model=model, max_tokens=512, messages=history)
            history.append({"role": "assistant", "content": msg.content})
""",
        """
import litellm

async def research(topic: str):  # expect: TFA0604 @11-19 | `research(topic)` starts every run from a new `thread` list: a paused or failed run cannot be resumed
    thread = []
    thread.append({"role": "user", "content": topic})
    for _ in range(5):
        r = await litellm.acompletion(model="gpt-4o", messages=thread)
        thread.append(r.choices[0].message)
""",
    ]
    valid = [
        # The loop takes the thread: it can be resumed.
        """
from openai import OpenAI
client = OpenAI()

def run_agent(thread: list) -> list:
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=thread)
        thread.append(reply.choices[0].message)
    return thread
""",
        # A fresh start, but the module can load a saved thread.
        """
from openai import OpenAI
client = OpenAI()

def load_thread(thread_id):
    return []

def run_agent(question: str):
    messages = [{"role": "user", "content": question}]
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
""",
        """
from openai import OpenAI
client = OpenAI()

def run_agent(question: str, history=None):
    messages = [{"role": "user", "content": question}]
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
""",
    ]
    near_miss = [
        # One model call, no agent loop.
        """
from openai import OpenAI
client = OpenAI()

def answer(question: str) -> str:
    messages = [{"role": "user", "content": question}]
    return client.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message.content
""",
        # Two required inputs: not a bare message entry point.
        """
from openai import OpenAI
client = OpenAI()

def run(question: str, documents: list):
    messages = [{"role": "user", "content": question}]
    for _ in range(3):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
""",
        # A map-style loop over documents with a fresh list per item.
        """
from openai import OpenAI
client = OpenAI()

def summarise(text: str):
    out = []
    for chunk in text.split("\\n\\n"):
        messages = [{"role": "user", "content": chunk}]
        out.append(client.chat.completions.create(model="gpt-4o", messages=messages))
    return out
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._loads = any(_LOADS.search(q.rsplit(".", 1)[-1]) for q in ctx.scan.function_qualnames.values())

    def visit_Call(self, node: cst.Call) -> None:
        if not self._loads:
            name = dotted_name(node.func)
            if name is not None and _LOADS.search(name.rsplit(".", 1)[-1]):
                self._loads = True

    def leave_Module(self, node: cst.Module) -> None:
        if self._loads:
            return
        ep = entry_points(self.ctx)
        for info in ep.functions:
            message = self._message_param(info.node)
            if message is None:
                continue
            with ep.scope(info.chain):
                fresh = _fresh_lists(info.node)
                for loop in loops_in(body_statements(info.node)):
                    loop_info = self.ctx.loops.analyse(loop)
                    path = feedback_path(loop_info) if loop_info.llm_calls else None
                    root = path.split(".", 1)[0] if path else None
                    if root in fresh and root != message:
                        self.report(
                            info.node.name,
                            f"`{info.node.name.value}({message})` starts every run from a new "
                            f"`{root}` list: a paused or failed run cannot be resumed",
                            requires_llm=loop_info.requires,
                        )
                        break

    @staticmethod
    def _message_param(function: cst.FunctionDef) -> str | None:
        params = function.params
        if params.star_kwarg is not None or isinstance(params.star_arg, cst.Param):
            return None
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        if every and every[0].name.value in ("self", "cls"):
            every = every[1:]
        if any(_STATE_PARAM.search(p.name.value) for p in every):
            return None
        required = [p for p in every if p.default is None]
        if len(required) != 1:
            return None
        param = required[0]
        annotation = param.annotation.annotation if param.annotation is not None else None
        if annotation is not None:
            return param.name.value if isinstance(annotation, cst.Name) and annotation.value == "str" else None
        return param.name.value if _MESSAGE_PARAM.match(param.name.value) else None


def _fresh_lists(function: cst.FunctionDef) -> set[str]:
    """Names the function binds to a new list outside its loops: ``messages = [...]``."""
    names = set()
    for statement in body_statements(function):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                value = small.value
                if isinstance(value, cst.List) or (
                    isinstance(value, cst.Call) and dotted_name(value.func) == "list" and not value.args
                ):
                    targets = small.targets if isinstance(small, cst.Assign) else [small]
                    for target in targets:
                        if isinstance(target.target, cst.Name):
                            names.add(target.target.value)
    return names
