from __future__ import annotations

import re

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.agents.loop_body import related
from factorlint.engine.semantic.names import dotted_name

_APPENDS = frozenset({"append", "extend", "insert", "appendleft", "extendleft"})
# Calls that write a value somewhere that outlives the process (by the callee's name).
_PERSIST = re.compile(
    r"(?i)^a?(save|store|persist|dump|dumps|write|put|hset|set|insert|insert_one|insert_many|upsert)($|_)"
    r"|(^|_)(save|store|persist)($|_)"
)


def _result_path(expr: cst.BaseExpression) -> tuple[str, str] | None:
    """``r.choices[0].message`` -> ("r", "choices[].message"); a bare name -> (name, "")."""
    parts: list[str] = []
    while True:
        if isinstance(expr, cst.Attribute):
            parts.append(expr.attr.value)
            expr = expr.value
        elif isinstance(expr, cst.Subscript):
            parts.append("[]")
            expr = expr.value
        elif isinstance(expr, cst.Name):
            path = ".".join(reversed(parts)).replace(".[]", "[]")
            return expr.value, path
        else:
            return None


class SdkObjectsInThread(Rule):
    """## What it does
    Finds model responses stored as SDK objects in a thread that is persisted: a function appends
    `resp.choices[0].message` (OpenAI), `resp.content` (Anthropic content blocks), `resp.output`
    (Responses API) or a LangChain `AIMessage` to a list, and the same function (or, for a
    `self.` list, another method of the class) passes that list to a save/store/dump call.

    ## Why is this bad?
    Factor 5 (unify execution state and business state): the thread is the record of the run and
    must stay readable. SDK classes change between versions; a thread serialised with them cannot be
    loaded after an upgrade, cannot be read by another service or language, and drags along
    fields you never meant to keep. Store plain data you own: `model_dump()`, a dict, your own
    `Event`.

    ## Example
    ```python
    reply = client.chat.completions.create(model=M, messages=thread)
    thread.append(reply.choices[0].message)
    store.save(thread_id, thread)
    ```

    ## Use instead
    ```python
    reply = client.chat.completions.create(model=M, messages=thread)
    thread.append(reply.choices[0].message.model_dump(exclude_none=True))
    store.save(thread_id, thread)
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None. Opt-in (low confidence): whether a call persists is read from its name.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-05-unify-execution-state.md
    """

    meta = RuleMeta(
        code="TFA0504",
        name="sdk-objects-in-thread",
        factor=5,
        severity="advice",
        confidence="low",
        summary="SDK response objects are stored in a persisted thread",
        fix_advice=(
            "Append plain data: `message.model_dump(exclude_none=True)`, a dict with role and "
            "content, or your own Event type; keep SDK objects out of what you save."
        ),
    )

    invalid = [
        """
from openai import OpenAI
client = OpenAI()

def step(thread_id, thread, store):
    reply = client.chat.completions.create(model="gpt-4o", messages=thread)
    thread.append(reply.choices[0].message)  # expect: TFA0504 @5-44 | `reply.choices[0].message` is an SDK object appended to `thread`, which is saved: the stored thread depends on the SDK's classes and version
    store.save(thread_id, thread)
""",
        """
import joblib
import anthropic
client = anthropic.Anthropic()

def step(history, path):
    msg = client.messages.create(model="m", max_tokens=512, messages=history)
    history.append({"role": "assistant", "content": msg.content})  # expect: TFA0504 @5-66 | `msg.content` is an SDK object appended to `history`, which is saved: the stored thread depends on the SDK's classes and version
    joblib.dump(history, path)
""",
        """
from langchain_openai import ChatOpenAI

class Chat:
    def __init__(self, db):
        self.llm = ChatOpenAI(model="gpt-4o")
        self.messages = []
        self.db = db

    def ask(self, text):
        self.messages.append(self.llm.invoke(self.messages + [text]))  # expect: TFA0504 @9-70 | the `invoke()` result is an SDK object appended to `self.messages`, which is saved: the stored thread depends on the SDK's classes and version

    def persist(self, chat_id):
        self.db.save_messages(chat_id, self.messages)
""",
    ]
    valid = [
        """
from openai import OpenAI
client = OpenAI()

def step(thread_id, thread, store):
    reply = client.chat.completions.create(model="gpt-4o", messages=thread)
    thread.append(reply.choices[0].message.model_dump(exclude_none=True))
    store.save(thread_id, thread)
""",
        """
import anthropic
client = anthropic.Anthropic()

def step(history, store):
    msg = client.messages.create(model="m", max_tokens=512, messages=history)
    history.append({"role": "assistant", "content": msg.content[0].text})
    store.save(history)
""",
        # The list is never saved: SDK objects in an in-memory loop are fine.
        """
from openai import OpenAI
client = OpenAI()

def run(messages):
    for _ in range(5):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
    return messages[-1].content
""",
    ]
    near_miss = [
        # Text content only.
        """
from openai import OpenAI
client = OpenAI()

def step(thread, store):
    reply = client.chat.completions.create(model="gpt-4o", messages=thread)
    thread.append({"role": "assistant", "content": reply.choices[0].message.content})
    store.save(thread)
""",
        # A structured-output model is the application's own type.
        """
import instructor
from openai import OpenAI
client = instructor.from_openai(OpenAI())

def step(thread, store, Step):
    step = client.chat.completions.create(model="gpt-4o", messages=thread, response_model=Step)
    thread.append(step)
    store.save(thread)
""",
        # Another list is saved.
        """
from openai import OpenAI
client = OpenAI()

def step(thread, log, store):
    reply = client.chat.completions.create(model="gpt-4o", messages=thread)
    thread.append(reply.choices[0].message)
    store.save(log)
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._frames: list[dict] = []
        self._classes: list[dict] = []

    def visit_ClassDef(self, node) -> None:
        self._classes.append({"pending": [], "persisted": set()})

    def leave_ClassDef(self, node) -> None:
        frame = self._classes.pop()
        for container, call, label, requires in frame["pending"]:
            if any(related(container, p) for p in frame["persisted"]):
                self._report(call, container, label, requires)

    def visit_FunctionDef(self, node) -> None:
        self._frames.append({"results": {}, "appends": [], "persisted": set()})

    def leave_FunctionDef(self, node) -> None:
        frame = self._frames.pop()
        for container, call, label, requires in frame["appends"]:
            if any(related(container, p) for p in frame["persisted"]):
                self._report(call, container, label, requires)
            elif container.startswith("self.") and self._classes:
                self._classes[-1]["pending"].append((container, call, label, requires))
        if self._classes:
            self._classes[-1]["persisted"].update(p for p in frame["persisted"] if p.startswith("self."))

    def visit_Assign(self, node: cst.Assign) -> None:
        if not self._frames or len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        value = node.value.expression if isinstance(node.value, cst.Await) else node.value
        if isinstance(value, cst.Call):
            llm = self.ctx.recognise.llm_call(value)
            if llm is not None and llm.spec is not None and llm.spec.sdk_object_paths:
                self._frames[-1]["results"][node.targets[0].target.value] = llm

    def visit_Call(self, node: cst.Call) -> None:
        if not self._frames:
            return
        frame = self._frames[-1]
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _APPENDS:
            container = dotted_name(func.value)
            if container is not None:
                for arg in node.args:
                    found = self._sdk_object(arg.value, frame)
                    if found is not None:
                        frame["appends"].append((container, node, found[0], found[1]))
                        break
        name = dotted_name(func)
        if name is not None and _PERSIST.search(name.rsplit(".", 1)[-1]):
            for arg in node.args:
                path = dotted_name(arg.value)
                if path is not None:
                    frame["persisted"].add(path)

    def _sdk_object(self, expr: cst.BaseExpression, frame) -> tuple[str, tuple[str, ...]] | None:
        """(label, requires) when the expression is, or holds, an SDK response object."""
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            for element in expr.elements:
                found = self._sdk_object(element.value, frame)
                if found:
                    return found
            return None
        if isinstance(expr, cst.Dict):
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    found = self._sdk_object(element.value, frame)
                    if found:
                        return found
            return None
        if isinstance(expr, cst.Call):
            llm = self.ctx.recognise.llm_call(expr)
            if llm is not None and llm.spec is not None and "" in llm.spec.sdk_object_paths:
                return f"the `{llm.qualname.rsplit('.', 1)[-1]}()` result", llm.requires
            return None
        found = _result_path(expr)
        if found is None:
            return None
        root, path = found
        llm = frame["results"].get(root)
        if llm is not None and path in llm.spec.sdk_object_paths:
            return f"`{self.ctx.code_for(expr)}`", llm.requires
        return None

    def _report(self, call: cst.Call, container: str, label: str, requires) -> None:
        self.report(
            call,
            f"{label} is an SDK object appended to `{container}`, which is saved: the stored thread "
            "depends on the SDK's classes and version",
            requires_llm=requires,
        )
