from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.f05._flags import FlagScan
from factorlint.engine.agents.loop_body import BodyScan, paths_in, related
from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.semantic.names import dotted_name


class ShadowExecutionState(Rule):
    """## What it does
    Finds execution state kept beside the thread: inside an agent loop, a variable such as
    `status`, `current_step`, `phase`, `waiting_for_approval`, `pending_tool` or `retry_count`
    that is set, read again in a later iteration, and never recorded in the history the loop
    sends to the model; in a class whose methods call a model, such a `self.` attribute set in one
    method and read in another. Counters moved with `+=` are bounds (factors 8 and 9) and are not
    reported.

    ## Why is this bad?
    Factor 5 (unify execution state and business state): the thread of events should be the one
    source of truth, and the current step, the waiting status or the retry count derived from its
    last events. A flag kept next to it is lost on a pause or a restart, is invisible to whoever
    reads the thread, and can disagree with it: the thread says the approval was asked, the flag
    says nothing is pending.

    ## Example
    ```python
    self.waiting_for_approval = True      # lives only on this object
    self.messages.append({"role": "assistant", "content": "Asked for approval"})
    ```

    ## Use instead
    ```python
    thread.append(Event("request_approval", step))

    def awaiting_approval(thread) -> bool:
        return thread.events[-1].type == "request_approval"
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None. Opt-in (low confidence): many flags are harmless.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-05-unify-execution-state.md
    """

    meta = RuleMeta(
        code="TFA0503",
        name="shadow-execution-state",
        factor=5,
        severity="advice",
        confidence="low",
        summary="Execution state is kept beside the thread instead of being derived from it",
        fix_advice=(
            "Record the fact as an event in the thread and derive the flag from the last events "
            "with a pure function (`awaiting_approval(thread)`)."
        ),
    )

    invalid = [
        """
from openai import OpenAI
client = OpenAI()

def run(messages):
    status = "running"
    for _ in range(10):
        if status == "waiting_for_approval":
            break
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        if reply.choices[0].message.tool_calls:
            status = "waiting_for_approval"  # expect: TFA0503 @13-44 | `status` tracks execution state beside `messages`: a pause or a restart loses it, and the thread alone cannot say where the run stood
""",
        """
import anthropic

class Agent:
    def __init__(self):
        self.client = anthropic.Anthropic()
        self.messages = []
        self.waiting_for_approval = False

    def step(self):
        msg = self.client.messages.create(model="m", max_tokens=256, messages=self.messages)
        self.messages.append({"role": "assistant", "content": msg.content})
        self.waiting_for_approval = True  # expect: TFA0503 @9-41 | `self.waiting_for_approval` keeps execution state on the object (set in `step`, read in `can_continue`), not in the thread: a pause or a restart loses it

    def can_continue(self):
        return not self.waiting_for_approval
""",
        """
from openai import OpenAI
client = OpenAI()

def run(thread):
    current_step = None
    while len(thread) < 50:
        reply = client.chat.completions.create(model="gpt-4o", messages=thread)
        thread.append(reply.choices[0].message)
        if current_step == "deploy":
            break
        current_step = reply.choices[0].message.content  # expect: TFA0503 @9-56 | `current_step` tracks execution state beside `thread`: a pause or a restart loses it, and the thread alone cannot say where the run stood
""",
    ]
    valid = [
        # The fact is recorded in the thread.
        """
from openai import OpenAI
client = OpenAI()

def run(messages):
    status = "running"
    for _ in range(10):
        if status == "waiting":
            break
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        status = "waiting"
        messages.append({"role": "user", "content": f"status: {status}"})
""",
        # A counter is a bound, not shadow state.
        """
from openai import OpenAI
client = OpenAI()

def run(messages):
    attempts = 0
    while attempts < 5:
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        attempts += 1
""",
        # Derived from the thread each time.
        """
from openai import OpenAI
client = OpenAI()

def awaiting_approval(thread):
    return thread[-1].get("type") == "request_approval"

def run(thread):
    for _ in range(10):
        if awaiting_approval(thread):
            return thread
        reply = client.chat.completions.create(model="gpt-4o", messages=thread)
        thread.append({"role": "assistant", "content": reply.choices[0].message.content})
""",
    ]
    near_miss = [
        # Set but never read again: a result, not state carried between iterations.
        """
from openai import OpenAI
client = OpenAI()

def run(messages):
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        status = reply.choices[0].finish_reason
    return messages
""",
        # A class without a model: an ordinary state machine.
        """
class Job:
    def start(self):
        self.status = "running"

    def done(self):
        return self.status == "finished"
""",
        # A buffer of history items put aside, not a flag about the run.
        """
import anthropic

class Agent:
    def __init__(self):
        self.client = anthropic.Anthropic()
        self.history = []
        self._pending_history_prefix = []

    def start(self, items):
        self._pending_history_prefix = list(items)
        return self.client.messages.create(model="m", max_tokens=10, messages=self.history)

    def finish(self):
        return [*self._pending_history_prefix, *self.history]
""",
        # The thread itself is called state.
        """
from openai import OpenAI
client = OpenAI()

def run(state):
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=state)
        state = state + [reply.choices[0].message]
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._classes: list[dict] = []

    # -- agent loops ------------------------------------------------------------------------

    def visit_For(self, node: cst.For) -> None:
        self._loop(node)

    def visit_While(self, node: cst.While) -> None:
        self._loop(node)

    def _loop(self, node) -> None:
        info = self.ctx.loops.analyse(node)
        if not info.llm_calls:
            return
        threads = self._thread_paths(node, info)
        flags = FlagScan()
        run_visitor(node.body, flags)
        if isinstance(node, cst.While):
            run_visitor(node.test, flags)
        recorded = self._recorded(node, threads)
        seen: set[str] = set()
        for path, assignment in flags.assigned:
            if path in seen or any(related(path, t) for t in threads):
                continue
            seen.add(path)
            if path in flags.reads and path not in recorded:
                thread = f"`{sorted(threads)[0]}`" if threads else "the thread"
                self.report(
                    assignment,
                    f"`{path}` tracks execution state beside {thread}: a pause or a restart loses it, "
                    "and the thread alone cannot say where the run stood",
                    requires_llm=info.requires,
                )

    @staticmethod
    def _thread_paths(node, info) -> set[str]:
        scan = BodyScan()
        run_visitor(node.body, scan)
        read: set[str] = set()
        for llm in info.llm_calls:
            for arg in llm.node.args:
                read |= paths_in(arg.value)
        return {w for w in scan.mutated if any(related(r, w) for r in read)}

    @staticmethod
    def _recorded(node, threads: set[str]) -> set[str]:
        """Paths mentioned in what the body appends to the thread."""
        appends = _ThreadAppends(threads)
        run_visitor(node.body, appends)
        return appends.found

    # -- agent classes ----------------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append({"node": node, "certain": False, "requires": set(), "methods": [],
                              "threads": set()})

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self._classes or not self.ctx.class_stack or self.ctx.class_stack[-1] is not self._classes[-1]["node"]:
            return
        if self.ctx.scan.class_of_function.get(id(node)) is None:
            return  # a nested function, not a method
        self._classes[-1]["methods"].append(node)  # scanned at leave_ClassDef, if it calls a model

    def visit_Call(self, node: cst.Call) -> None:
        if not self._classes or not self.ctx.function_stack:
            return
        llm = self.ctx.recognise.llm_call(node)
        if llm is None:
            return
        frame = self._classes[-1]
        if llm.certain:
            frame["certain"] = True
        else:
            frame["requires"].update(llm.requires)
        for arg in node.args:
            frame["threads"].update(p for p in paths_in(arg.value) if p.startswith("self."))

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        frame = self._classes.pop()
        if not frame["certain"] and not frame["requires"]:
            return
        requires = () if frame["certain"] else tuple(sorted(frame["requires"]))
        assigned, reads = [], {}
        for function in frame["methods"]:
            flags = FlagScan(self_only=True)
            run_visitor(function.body, flags)
            method = function.name.value
            if method != "__init__":
                assigned.extend((method, path, n) for path, n in flags.assigned)
            for path in flags.reads:
                if path.startswith("self."):
                    reads.setdefault(path, set()).add(method)
        seen: set[str] = set()
        for method, path, assignment in assigned:
            if path in seen or any(related(path, t) for t in frame["threads"]):
                continue
            readers = reads.get(path, set()) - {method, "__init__"}
            if readers:
                seen.add(path)
                self.report(
                    assignment,
                    f"`{path}` keeps execution state on the object (set in `{method}`, read in "
                    f"`{sorted(readers)[0]}`), not in the thread: a pause or a restart loses it",
                    requires_llm=requires,
                )


class _ThreadAppends(cst.CSTVisitor):
    """The paths read by the arguments of calls on the threads (``thread.append(x)``)."""

    def __init__(self, threads: set[str]) -> None:
        self.threads = threads
        self.found: set[str] = set()

    def visit_Call(self, call: cst.Call) -> None:
        if isinstance(call.func, cst.Attribute):
            receiver = dotted_name(call.func.value)
            if receiver and any(related(receiver, t) for t in self.threads):
                for arg in call.args:
                    self.found.update(paths_in(arg.value))
