from __future__ import annotations

import re
from typing import Optional

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine import retries
from factorlint.engine.entrypoints import body_statements, entry_points, is_console_input, record_call
from factorlint.engine.loops import BodyScan, paths_in
from factorlint.engine.names import dotted_name, literal_string
from factorlint.engine.recognisers import keyword_arg

_SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "trio.sleep", "anyio.sleep", "gevent.sleep"})
_EVENT_WAITS = frozenset(
    {"threading.Event().wait", "asyncio.Event().wait", "multiprocessing.Event().wait",
     "threading.Condition().wait", "asyncio.Condition().wait"}
)
_QUEUE_GETS = frozenset(
    {"queue.Queue().get", "queue.SimpleQueue().get", "queue.LifoQueue().get",
     "queue.PriorityQueue().get", "asyncio.Queue().get", "asyncio.LifoQueue().get",
     "asyncio.PriorityQueue().get", "multiprocessing.Queue().get"}
)
# What a polling loop waits on: a status, an approval, a result.
_STATUS = re.compile(
    r"(?i)status|state|approv|done|complete|finish|ready|pending|waiting|running|queued|progress"
    r"|result|response|answer|reply|decision|confirm"
)


class _Waits(cst.CSTVisitor):
    """Calls in a block with where they sit: under a condition, in an except, in which while."""

    def __init__(self) -> None:
        self.found: list[tuple[cst.Call, bool, bool, Optional[cst.While]]] = []
        self._conditional = 0
        self._handlers = 0
        self._whiles: list[cst.While] = []

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_If(self, node) -> None:
        self._conditional += 1

    def leave_If(self, node) -> None:
        self._conditional -= 1

    def visit_For(self, node) -> None:
        self._conditional += 1

    def leave_For(self, node) -> None:
        self._conditional -= 1

    def visit_While(self, node) -> None:
        self._conditional += 1
        self._whiles.append(node)

    def leave_While(self, node) -> None:
        self._conditional -= 1
        self._whiles.pop()

    def visit_ExceptHandler(self, node) -> None:
        self._handlers += 1

    def leave_ExceptHandler(self, node) -> None:
        self._handlers -= 1

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append((node, self._conditional > 0, self._handlers > 0, self._whiles[-1] if self._whiles else None))


def _scan(block: cst.CSTNode) -> list:
    waits = _Waits()
    block.visit(waits)
    return waits.found


class InProcessWait(Rule):
    """## What it does
    Finds an agent that waits inside the running process: a `time.sleep`/`asyncio.sleep` polling
    loop (`while run.status != "completed"`, `while not approved(step)`), an `input()` prompt, a
    `threading.Event().wait()` or a `queue.get()` without a timeout, inside an agent loop or in a
    function of the same file that the loop calls. It also finds sleep-polling on a model run
    (`while run.status in ("queued", "in_progress")` after `runs.create`).

    A console prompt that starts every turn of a chat loop is the loop's input, not a pause; it
    is only reported when it waits for one step (under a condition, or in a helper the loop
    calls). Sleeps in `except` handlers and in retry loops are backoff (factor 9), not waits.

    ## Why is this bad?
    Factor 6 (launch / pause / resume with simple APIs): an agent that needs a person, or a long
    job, should save its thread and stop; a webhook or queue message resumes it later. A process
    that sleeps or blocks instead holds the run in memory: a deploy, a crash or a scale-down loses
    it, each waiting run pins a worker, and nothing outside the process can see or resume it.

    ## Example
    ```python
    request_approval(step)
    while not approval_granted(step.id):
        time.sleep(30)
    execute(step)
    ```

    ## Use instead
    ```python
    thread.append(Event("approval_requested", step))
    store.save(thread_id, thread)
    notify_approver(step, thread_id)
    return thread  # resumed later by POST /threads/{id}/approval
    ```

    ## Fix safety
    No automatic fix: pausing needs a place to store the thread and an entry point to resume it.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-06-launch-pause-resume.md
    """

    meta = RuleMeta(
        code="TFA0601",
        name="in-process-wait",
        factor=6,
        severity="warning",
        confidence="high",
        summary="The agent waits inside the process instead of pausing and being resumed",
        fix_advice=(
            "Save the thread with the pending step and return; resume it from a webhook or queue "
            "handler (`resume(thread_id, event)`). With LangGraph, use `interrupt()` and a "
            "persistent checkpointer."
        ),
    )

    invalid = [
        """
import time
from openai import OpenAI
client = OpenAI()

def run(thread, tools):
    for _ in range(20):
        reply = client.chat.completions.create(model="gpt-4o", messages=thread, tools=tools)
        thread.append(reply.choices[0].message)
        call = reply.choices[0].message.tool_calls[0]
        if call.function.name == "deploy":
            ticket = request_approval(call)
            while not ticket.approved():
                time.sleep(30)  # expect: TFA0601
        thread.append({"role": "tool", "tool_call_id": call.id, "content": execute(call)})
""",
        # The loop calls a helper of the same file that asks at the console.
        """
from openai import OpenAI
client = OpenAI()

def confirm(action):
    return input(f"Run {action}? [y/N] ") == "y"  # expect: TFA0601

def run(messages):
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        if confirm(reply.choices[0].message.content):
            messages.append({"role": "user", "content": "approved"})
""",
        # Polling the Assistants API run in process.
        """
import time
from openai import OpenAI
client = OpenAI()

def ask(thread_id, assistant_id):
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    while run.status in ("queued", "in_progress"):
        time.sleep(1)  # expect: TFA0601
        run = client.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run.id)
    return run
""",
        """
import threading
import anthropic

approved = threading.Event()

class Agent:
    def __init__(self):
        self.client = anthropic.Anthropic()

    def loop(self, history):
        while len(history) < 30:
            msg = self.client.messages.create(model="m", max_tokens=512, messages=history)
            history.append({"role": "assistant", "content": msg.content})
            if msg.stop_reason == "tool_use":
                approved.wait()  # expect: TFA0601
""",
    ]
    valid = [
        # factor 6: save and return; a webhook resumes the thread.
        """
from openai import OpenAI
client = OpenAI()

def run_until_pause(thread, store, thread_id):
    for _ in range(20):
        reply = client.chat.completions.create(model="gpt-4o", messages=thread)
        thread.append(reply.choices[0].message)
        if reply.choices[0].message.tool_calls:
            thread.append({"role": "user", "content": "approval requested"})
            store.save(thread_id, thread)
            return thread
""",
        # LangGraph's interrupt(): the graph pauses and the checkpointer keeps the state.
        """
from langgraph.types import interrupt

def review(state):
    answer = interrupt({"question": "Deploy?"})
    return {"approved": answer == "yes"}
""",
        # A timeout on the wait and a non-blocking queue read.
        """
import queue
from openai import OpenAI
client = OpenAI()
events = queue.Queue()

def run(messages):
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        if reply.choices[0].finish_reason == "tool_calls":
            messages.append(events.get(timeout=5))
        else:
            messages.append(events.get_nowait())
""",
    ]
    near_miss = [
        # A chat REPL: the prompt at the top of each turn is the loop's input (factor 11 matter).
        """
from openai import OpenAI
client = OpenAI()

def chat():
    messages = []
    while True:
        messages.append({"role": "user", "content": input("> ")})
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
""",
        # Backoff in an except handler and a sleep between batch items are not waits.
        """
import time
from openai import OpenAI, RateLimitError
client = OpenAI()

def run(messages):
    for _ in range(10):
        try:
            reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        except RateLimitError:
            time.sleep(5)
            continue
        messages.append(reply.choices[0].message)
        time.sleep(0.5)
""",
        # A polling loop outside any agent, on something that is not a model run.
        """
import time
import requests

def wait_for_build(build_id):
    status = requests.get(f"/builds/{build_id}").json()["status"]
    while status != "done":
        time.sleep(10)
        status = requests.get(f"/builds/{build_id}").json()["status"]
""",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        record_call(self.ctx, node)

    def leave_Module(self, node: cst.Module) -> None:
        self._reported: set[int] = set()
        ep = entry_points(self.ctx)
        for loop, chain in ep.loops:
            with ep.scope(chain):
                requires = self._drives_model(loop)
                if requires is not None:
                    self._agent_loop(ep, loop, chain, requires)
                elif isinstance(loop, cst.While):
                    self._model_run_polling(loop, chain)

    def _drives_model(self, loop) -> Optional[tuple[str, ...]]:
        """An agent loop, or a ``while`` loop that calls a model each turn (not a retry loop):
        the state an agent keeps may be updated inside the functions it calls."""
        info = self.ctx.loops.analyse(loop)
        if info.llm_calls:
            return info.requires
        if not isinstance(loop, cst.While) or retries.retry_loop(self.ctx, loop) is not None:
            return None
        return retries.llm_in(self.ctx, loop.body)

    # -- waits inside an agent loop and the helpers it calls ---------------------------------

    def _agent_loop(self, ep, loop, chain, requires) -> None:
        callees = []
        for call, conditional, in_handler, inner_while in _scan(loop.body):
            if in_handler:
                continue
            what = self._wait(call, conditional, inner_while, loop)
            if what is not None:
                self._report(call, f"{what} inside the agent loop", requires)
                continue
            callee = ep.local_callee(call)
            if callee is not None and callee.node is not (chain[-1] if chain else None):
                callees.append((callee, conditional))
        for callee, conditional in callees:
            with ep.scope(callee.chain):
                for call, inner_conditional, in_handler, inner_while in _scan(callee.node.body):
                    if in_handler:
                        continue
                    what = self._wait(call, conditional or inner_conditional, inner_while, None)
                    if what is not None:
                        self._report(
                            call, f"{what} in `{callee.node.name.value}()`, which an agent loop calls", requires
                        )

    def _wait(self, call: cst.Call, conditional: bool, inner_while, agent_loop) -> Optional[str]:
        qualname = self.ctx.qualname(call.func) or ""
        if qualname in _SLEEPS:
            if inner_while is None or inner_while is agent_loop:
                return None
            polled = self._polled(inner_while)
            return f"`{_short(qualname)}()` polls `{polled}`" if polled else None
        if not conditional:
            return None  # once per turn: the loop's own input, not a pause for one step
        if is_console_input(self.ctx, call):
            return f"`{_short(qualname)}()` waits for a person at the console"
        if qualname in _EVENT_WAITS and not call.args:
            return f"`{_short(qualname)}()` blocks until another thread signals"
        if qualname in _QUEUE_GETS and self._blocks_forever(call):
            return f"`{_short(qualname)}()` blocks until a message arrives"
        return None

    @staticmethod
    def _blocks_forever(call: cst.Call) -> bool:
        if keyword_arg(call, "timeout") is not None:
            return False
        block = keyword_arg(call, "block") or (call.args[0] if call.args and call.args[0].keyword is None else None)
        if block is not None and isinstance(block.value, cst.Name) and block.value.value == "False":
            return False
        return len([a for a in call.args if a.keyword is None]) < 2

    def _polled(self, loop: cst.While) -> Optional[str]:
        """What a while loop polls (a status-like name or value), or None."""
        if retries.retry_loop(self.ctx, loop) is not None or self.ctx.loops.analyse(loop).llm_calls:
            return None
        scan = BodyScan()
        loop.body.visit(scan)
        for test in (loop.test, *scan.exit_guards):
            if isinstance(test, cst.Name) and test.value == "True":
                continue
            for path in sorted(paths_in(test), key=len, reverse=True):
                if _STATUS.search(path.rsplit(".", 1)[-1]):
                    return path
            for text in _strings(test):
                if _STATUS.search(text):
                    return dotted_name(test) or repr(text)
        return None

    # -- polling a model run outside an agent loop -----------------------------------------

    def _model_run_polling(self, loop: cst.While, chain: tuple) -> None:
        polled = self._polled(loop)
        if polled is None:
            return
        scope = body_statements(chain[-1]) if chain else list(self.ctx.module.body)
        runs = _model_run_names(self.ctx, scope)
        if polled.split(".", 1)[0] not in runs:
            return
        for call, _, in_handler, inner_while in _scan(loop.body):
            if in_handler or inner_while is not None:
                continue
            qualname = self.ctx.qualname(call.func) or ""
            if qualname in _SLEEPS:
                self._report(call, f"`{_short(qualname)}()` polls `{polled}` of a model run", ())

    def _report(self, call: cst.Call, what: str, requires) -> None:
        if id(call) in self._reported:
            return
        self._reported.add(id(call))
        self.report(
            call,
            f"{what}: the process holds the run while it waits, so a restart loses it and "
            "nothing outside can resume it",
            requires_llm=requires,
        )


def _short(qualname: str) -> str:
    return ".".join(qualname.replace("()", "").split(".")[-2:])


def _strings(node: cst.CSTNode) -> list[str]:
    found = []

    class _Collect(cst.CSTVisitor):
        def visit_SimpleString(self, s: cst.SimpleString) -> None:
            text = literal_string(s)
            if text:
                found.append(text)

    node.visit(_Collect())
    return found


def _model_run_names(ctx, statements: list) -> set[str]:
    """Names assigned from a model call, a hand-off, or another call on a model client."""
    names: set[str] = set()

    class _Assigns(cst.CSTVisitor):
        def visit_FunctionDef(self, node) -> bool:
            return False

        def visit_Assign(self, node: cst.Assign) -> None:
            value = node.value.expression if isinstance(node.value, cst.Await) else node.value
            if not isinstance(value, cst.Call) or not _is_model_run(ctx, value):
                return
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    names.add(target.target.value)

    visitor = _Assigns()
    for statement in statements:
        statement.visit(visitor)
    return names


def _is_model_run(ctx, call: cst.Call) -> bool:
    if ctx.recognise.llm_call(call) is not None and ctx.recognise.llm_call(call).certain:
        return True
    if ctx.recognise.handoff(call) is not None:
        return True
    qualname = ctx.qualname(call.func) or ""
    if "()." in qualname:
        return ctx.knowledge_client(qualname.split("().", 1)[0]) is not None
    return False
