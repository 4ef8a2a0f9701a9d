from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.edits import approval_call
from factorlint.checks.f06._waits import (
    EVENT_WAITS,
    QUEUE_GETS,
    SLEEPS,
    blocks_forever,
    model_run_names,
    polled,
    scan_calls,
    short_name,
)
from factorlint.engine.agents.entrypoints import (
    body_statements,
    entry_points,
    is_console_input,
    repeated_prompts,
)
from factorlint.engine.recognise import retries

_WAITS = SLEEPS | EVENT_WAITS | QUEUE_GETS


class InProcessWait(Rule):
    """## What it does
    Finds an agent that waits inside the running process: a `time.sleep`/`asyncio.sleep` polling
    loop (`while run.status != "completed"`, `while not approved(step)`), an `input()` prompt, a
    `threading.Event().wait()` or a `queue.get()` without a timeout, inside an agent loop or in a
    function of the same file that the loop calls. It also finds sleep-polling on a model run
    (`while run.status in ("queued", "in_progress")` after `runs.create`).

    A console prompt that starts every turn of a chat loop is the loop's input, not a pause; it
    is only reported when it waits for one step (under a condition, or in a helper the loop
    calls) after the model has answered. Sleeps in `except` handlers and in retry loops are backoff (factor 9), not waits.

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
    Unsafe (`--fix --unsafe-fixes`), for a console prompt, when the `approval-function` setting
    names your approval function: the prompt becomes a call of it, as for TFA0701. Otherwise no
    fix: pausing needs a place to store the thread and an entry point to resume it.

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
        fix="sometimes",
    )

    fixes = [
        (
            """
import click
from openai import OpenAI

client = OpenAI()

def agent(messages, tools, run_tool):
    for _ in range(20):
        reply = client.chat.completions.create(model="m", messages=messages, tools=tools).choices[0].message
        messages.append(reply)
        for call in reply.tool_calls or []:
            if call.function.name == "delete_account" and not click.confirm("Delete the account?"):
                return messages
            messages.append(run_tool(call))
""",
            """
import click
from openai import OpenAI
from ops.approvals import ask_owner

client = OpenAI()

def agent(messages, tools, run_tool):
    for _ in range(20):
        reply = client.chat.completions.create(model="m", messages=messages, tools=tools).choices[0].message
        messages.append(reply)
        for call in reply.tool_calls or []:
            if call.function.name == "delete_account" and not ask_owner("Delete the account?"):
                return messages
            messages.append(run_tool(call))
""",
            {"approval_function": "ops.approvals.ask_owner"},
        ),
    ]

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
                time.sleep(30)  # expect: TFA0601 @17-31 | `time.sleep()` polls `ticket.approved` inside the agent loop: the process holds the run while it waits, so a restart loses it and nothing outside can resume it
        thread.append({"role": "tool", "tool_call_id": call.id, "content": execute(call)})
""",
        # The loop calls a helper of the same file that asks at the console.
        """
from openai import OpenAI
client = OpenAI()

def confirm(action):
    return input(f"Run {action}? [y/N] ") == "y"  # expect: TFA0601 @12-42 | `input()` waits for a person at the console in `confirm()`, which an agent loop calls: the process holds the run while it waits, so a restart loses it and nothing outside can resume it

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
        time.sleep(1)  # expect: TFA0601 @9-22 | `time.sleep()` polls `run.status` of a model run: the process holds the run while it waits, so a restart loses it and nothing outside can resume it
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
                approved.wait()  # expect: TFA0601 @17-32 | `Event.wait()` blocks until another thread signals inside the agent loop: the process holds the run while it waits, so a restart loses it and nothing outside can resume it
""",
        # One pause, one finding: the same approval worded for two displays in the two branches
        # of one `if`, and an optional question answered before it, are reported at the approval.
        """
import subprocess
from openai import OpenAI
client = OpenAI()

def run(messages, plain, careful, lint):
    while True:
        reply = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
        messages.append({"role": "assistant", "content": reply})
        if reply.startswith("```"):
            scan = False
            if careful:
                scan = input("Scan this code first? (y/n) ") == "y"
            if scan:
                lint(reply)
            if plain:
                answer = input("Run this code? (y/n) ")  # expect: TFA0601 @26-56 | `input()` waits for a person at the console inside the agent loop: the process holds the run while it waits, so a restart loses it and nothing outside can resume it
            else:
                answer = input("  Run this code? (y/n)\\n  ")
            if answer == "y":
                messages.append({"role": "user", "content": subprocess.run(reply, shell=True, capture_output=True, text=True).stdout})
        else:
            return reply
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
        # A developer script polling an uploaded file: a client call, but no agent run.
        """
import time
from openai import OpenAI
client = OpenAI()

def upload(path):
    f = client.files.create(file=open(path, "rb"), purpose="fine-tune")
    while f.status != "processed":
        time.sleep(1)
        f = client.files.retrieve(f.id)
    return client.fine_tuning.jobs.create(training_file=f.id, model="gpt-4o-mini")
""",
        # A chat REPL's own menu: prompts asked before the model's turn, around a display helper.
        """
from rich import print as rich_print
from openai import OpenAI
client = OpenAI()

def show(text):
    rich_print(text)

def repl(messages):
    while True:
        text = input("> ")
        if text == "d":
            show("Join the waitlist")
            email = input("Email? ")
            continue
        messages.append({"role": "user", "content": text})
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
""",
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
        # A REPL's own commands, asked before the model's turn.
        """
from openai import OpenAI
client = OpenAI()

def chat(messages):
    while True:
        text = input("> ")
        if text == "signup":
            email = input("email: ")
            continue
        messages.append({"role": "user", "content": text})
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

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._reported: set[int] = set()
        # Gathered during the visit so that only loops near a wait are analysed at the end.
        self._waiting_loops: set[int] = set()  # loops with a wait call in them
        self._waiting_functions: set[str] = set()  # functions with a wait call in them
        self._loop_callees: dict[int, set[str]] = {}  # loop -> functions of this file it calls

    def visit_Call(self, node: cst.Call) -> None:
        qualname = self.ctx.qualname(node.func)
        if qualname is None:
            return
        if qualname in _WAITS or is_console_input(self.ctx, node):
            self._waiting_loops.update(id(loop) for loop in self.ctx.loop_stack)
            current = self.ctx.current_function_qualname()
            if current is not None:
                self._waiting_functions.add(current)
        elif self.ctx.loop_stack and qualname.startswith(self.ctx.module_name + "."):
            for loop in self.ctx.loop_stack:
                self._loop_callees.setdefault(id(loop), set()).add(qualname)

    def leave_Module(self, node: cst.Module) -> None:
        ep = entry_points(self.ctx)
        for loop, chain in ep.loops:
            near_wait = id(loop) in self._waiting_loops or bool(
                self._loop_callees.get(id(loop), set()) & self._waiting_functions
            )
            if not near_wait:
                continue
            with ep.scope(chain):
                found = scan_calls(loop.body)
                model_turns = self._model_turns(ep, loop, found)
                if model_turns:
                    self._agent_loop(ep, loop, chain, found, model_turns)
                elif isinstance(loop, cst.While):
                    self._model_run_polling(loop, chain)

    def _model_turns(self, ep, loop, found) -> dict[int, tuple[str, ...]]:
        """Where the loop runs the model: position in ``found`` -> what the project pass must
        confirm (() when certain). The feedback calls of an agent loop; in a ``while`` loop that
        is not a retry loop, also certain model calls, hand-offs and calls to functions of this
        file that run an agent (the state may be updated inside the functions it calls)."""
        info = self.ctx.loops.analyse(loop)
        feedback = {id(c.node): c.requires for c in info.llm_calls}
        loose = isinstance(loop, cst.While) and retries.retry_loop(self.ctx, loop) is None
        turns: dict[int, tuple[str, ...]] = {}
        for index, (call, _, _, _) in enumerate(found):
            if id(call) in feedback:
                turns[index] = feedback[id(call)]
            elif loose:
                llm = self.ctx.recognise.llm_call(call)
                if (llm is not None and llm.certain) or self.ctx.recognise.handoff(call) is not None:
                    turns[index] = ()
                else:
                    helper = ep.local_callee(call)
                    runs = ep.agent_runs(helper, 0) if helper is not None else []
                    if runs:
                        turns[index] = runs[0].requires
        return turns

    # -- waits inside an agent loop and the helpers it calls ---------------------------------

    def _agent_loop(self, ep, loop, chain, found, model_turns) -> None:
        helpers = []
        requires = () if any(not r for r in model_turns.values()) else tuple(
            sorted({q for r in model_turns.values() for q in r})
        )
        # A prompt before the model's turn is the console's own UI (a REPL's commands); only a
        # wait after the model has answered pauses the run in the middle of a step.
        # A certain model call marks the turn; a helper that may not reach a model does not.
        certain = [index for index, needs in model_turns.items() if not needs]
        first_model = min(certain) if certain else min(model_turns)
        for index, (call, conditional, in_handler, inner_while) in enumerate(found):
            if in_handler:
                continue
            after = index > first_model
            what = self._wait(call, conditional and after, inner_while, loop)
            if what is not None:
                self._report(call, f"{what} inside the agent loop", requires)
                continue
            helper = ep.local_callee(call)
            if helper is not None and helper.node is not (chain[-1] if chain else None) and after:
                helpers.append((helper, conditional))
        for helper, conditional in helpers:
            with ep.scope(helper.chain):
                for call, inner_conditional, in_handler, inner_while in scan_calls(helper.node.body):
                    if in_handler:
                        continue
                    what = self._wait(call, conditional or inner_conditional, inner_while, None)
                    if what is not None:
                        self._report(
                            call, f"{what} in `{helper.node.name.value}()`, which an agent loop calls", requires
                        )

    def _wait(self, call: cst.Call, conditional: bool, inner_while, agent_loop) -> str | None:
        qualname = self.ctx.qualname(call.func) or ""
        if qualname in SLEEPS:
            if inner_while is None or inner_while is agent_loop:
                return None
            what = polled(self.ctx, inner_while)
            return f"`{short_name(qualname)}()` polls `{what}`" if what else None
        if not conditional:
            return None  # once per turn: the loop's own input, not a pause for one step
        if is_console_input(self.ctx, call):
            return f"`{short_name(qualname)}()` waits for a person at the console"
        if qualname in EVENT_WAITS and not call.args:
            return f"`{short_name(qualname)}()` blocks until another thread signals"
        if qualname in QUEUE_GETS and blocks_forever(call):
            return f"`{short_name(qualname)}()` blocks until a message arrives"
        return None

    # -- polling a model run outside an agent loop -----------------------------------------

    def _model_run_polling(self, loop: cst.While, chain: tuple) -> None:
        what = polled(self.ctx, loop)
        if what is None:
            return
        scope = body_statements(chain[-1]) if chain else list(self.ctx.module.body)
        runs = model_run_names(self.ctx, scope)
        if what.split(".", 1)[0] not in runs:
            return
        for call, _, in_handler, inner_while in scan_calls(loop.body):
            if in_handler or inner_while is not None:
                continue
            qualname = self.ctx.qualname(call.func) or ""
            if qualname in SLEEPS:
                self._report(call, f"`{short_name(qualname)}()` polls `{what}` of a model run", ())

    def _report(self, call: cst.Call, what: str, requires) -> None:
        if id(call) in self._reported or id(call) in repeated_prompts(self.ctx):
            return
        self._reported.add(id(call))
        self.report(
            call,
            f"{what}: the process holds the run while it waits, so a restart loses it and "
            "nothing outside can resume it",
            requires_llm=requires,
            fix=approval_call(self.ctx, call) if is_console_input(self.ctx, call) else None,
        )
