from __future__ import annotations

import re

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.semantic.names import dotted_name

_THREAD_NAME = re.compile(
    r"(?i)(messages?|history|thread|conversation|chat|turns?|transcript|memory|memories|context"
    r"|events?|log|manager|state|scratchpad|steps?|dialog(ue)?)s?$"
)
# Plain containers: a thread kept in one of these on ``self`` is what this rule is about.
_CONTAINERS = frozenset(
    {"builtins.list", "builtins.dict", "builtins.set", "collections.deque", "collections.defaultdict",
     "collections.OrderedDict", "typing.List", "typing.Dict"}
)
_MUTATORS = frozenset({"append", "extend", "insert", "update", "add", "setdefault", "appendleft"})


class StatefulAgentObject(Rule):
    """## What it does
    Finds agent classes that keep the conversation on `self`: a method calls a model with
    `self.messages` (or another attribute) and a method other than `__init__` appends to it, so
    every call changes the object instead of returning a new thread. Reported as a warning when
    an instance lives at module level (shared by every request), else as advice.

    ## Why is this bad?
    Factor 12 (make your agent a stateless reducer): the step function should take the thread and
    return the next one. State hidden in a long-lived object cannot be saved, resumed, forked or
    replayed, and leaks between users when the object is shared.

    ## Example
    ```python
    class Bot:
        def __init__(self):
            self.messages = []

        def ask(self, text):
            self.messages.append({"role": "user", "content": text})
            return client.chat.completions.create(model=M, messages=self.messages)
    ```

    ## Use instead
    ```python
    def ask(thread: Thread, text: str) -> Thread:
        thread = thread.with_event(Event("user", text))
        reply = client.chat.completions.create(model=M, messages=render(thread))
        return thread.with_event(Event("assistant", reply.choices[0].message.content))
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-12-stateless-reducer.md
    """

    meta = RuleMeta(
        code="TFA1202",
        name="stateful-agent-object",
        factor=12,
        severity="advice",
        confidence="medium",
        summary="The agent object mutates its own conversation state across calls",
        fix_advice=(
            "Make the step a function of the thread: take the thread (or load it by id), return a "
            "new one, and persist it outside the object."
        ),
    )

    invalid = [
        """
from openai import OpenAI

class Bot:
    def __init__(self):
        self.client = OpenAI()
        self.messages = []

    def ask(self, text):
        self.messages.append({"role": "user", "content": text})  # expect: TFA1202 @9-64 | `Bot` keeps agent state in `self.messages` and changes it across calls (the object carries it between calls)
        return self.client.chat.completions.create(model="m", messages=self.messages)
""",
        """
import anthropic

client = anthropic.Anthropic()

class Agent:
    def __init__(self):
        self.history = []

    def step(self):
        reply = client.messages.create(model="m", max_tokens=50, messages=self.history)
        self.history += [{"role": "assistant", "content": reply.content}]  # expect: TFA1202 @9-74 | `Agent` keeps agent state in `self.history` and changes it across calls (a module-level instance shares it across requests)
        return reply

agent = Agent()
""",
        {
            "llm.py": """
from openai import OpenAI
client = OpenAI()

def complete(messages):
    return client.chat.completions.create(model="m", messages=messages)
""",
            "assistant.py": """
from llm import complete

class Assistant:
    def __init__(self):
        self.turns = []

    def reply(self, text):
        self.turns.append(text)  # expect: TFA1202 @9-32 | `Assistant` keeps agent state in `self.turns` and changes it across calls (the object carries it between calls)
        return complete(self.turns)
""",
        },
    ]
    valid = [
        """
from openai import OpenAI

class Bot:
    def __init__(self):
        self.client = OpenAI()

    def ask(self, thread, text):
        thread = [*thread, {"role": "user", "content": text}]
        reply = self.client.chat.completions.create(model="m", messages=thread)
        return thread + [reply.choices[0].message]
""",
        # Initialising state in __init__ only.
        """
from openai import OpenAI

class Bot:
    def __init__(self, system):
        self.client = OpenAI()
        self.messages = [{"role": "system", "content": system}]

    def ask(self, text):
        return self.client.chat.completions.create(model="m", messages=self.messages + [text])
""",
        """
from openai import OpenAI

class Recorder:
    def __init__(self):
        self.client = OpenAI()
        self.log = []

    def ask(self, text):
        answer = self.client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
        return answer
""",
    ]
    near_miss = [
        # A memory inherited from a framework base class defined elsewhere (metagpt's Role).
        """
from openai import OpenAI
from metagpt.roles import Role
client = OpenAI()

class Searcher(Role):
    async def _act(self):
        msg = client.chat.completions.create(model="m", messages=self.rc.history)
        self.rc.memory.add(msg)
        return msg
""",
        # A memory object of its own class (a framework's memory, metagpt's ``Memory``) decides
        # what the model sees: factor 3, not this rule.
        """
from openai import OpenAI
client = OpenAI()

class Memory:
    def __init__(self):
        self.items = []

    def add(self, item):
        self.items.append(item)

class Bot:
    def __init__(self):
        self.memory: Memory = Memory()

    def ask(self, text):
        self.memory.add({"role": "user", "content": text})
        return client.chat.completions.create(model="m", messages=self.memory.items)
""",
        # Mutates an attribute that never reaches the model (a metrics list).
        """
from openai import OpenAI

class Bot:
    def __init__(self):
        self.client = OpenAI()
        self.latencies = []

    def ask(self, text):
        answer = self.client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
        self.latencies.append(1.0)
        return answer
""",
        # A class that keeps a list but calls no model.
        """
class Stack:
    def __init__(self):
        self.items = []

    def push(self, x):
        self.items.append(x)
        return self.render(self.items)

    def render(self, items):
        return str(items)
""",
        # A wrapper that looks like a model call but reaches none.
        {
            "helpers.py": """
def complete(messages):
    return len(messages)
""",
            "assistant.py": """
from helpers import complete

class Counter:
    def __init__(self):
        self.turns = []

    def reply(self, text):
        self.turns.append(text)
        return complete(self.turns)
""",
        },
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._classes: list[dict] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        # attribute -> the calls it is passed to: None once one of them is a certain model call,
        # else the project functions that must reach a model for it to count as agent state.
        self._classes.append({"fed": {}, "mutations": []})

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        state = self._classes.pop()
        fed_by: dict[str, set[str] | None] = state["fed"]
        if not fed_by:
            return
        class_qn = f"{self.ctx.module_name}.{node.name.value}"
        shared = class_qn in self.ctx.module_bindings.values()
        reported: set[str] = set()
        for path, target in state["mutations"]:
            fed = next((f for f in fed_by if path == f or path.startswith(f + ".")), None)
            if fed is None or fed in reported:
                continue
            candidates = fed_by[fed]
            if candidates is not None and not any(_THREAD_NAME.search(p) for p in path.split(".")[1:]):
                # Handed to a project function, only what is named as the conversation counts:
                # a TUI's ``self._confirmed_urls`` reaches the model's turn too.
                continue
            reported.add(fed)
            where = "a module-level instance shares it across requests" if shared else "the object carries it between calls"
            self.report(
                target,
                f"`{node.name.value}` keeps agent state in `{fed}` and changes it across calls ({where})",
                requires_llm=() if candidates is None else tuple(sorted(candidates)),
                severity="warning" if shared else None,
            )

    def _in_method(self) -> bool:
        return bool(self._classes) and bool(self.ctx.function_stack) and self.ctx.current_class_qualname() is not None

    def visit_Call(self, node: cst.Call) -> None:
        if not self._in_method():
            return
        state = self._classes[-1]
        llm = self.ctx.recognise.llm_call(node)
        if llm is not None:
            for path in {p for arg in node.args for p in _self_paths(arg.value)}:
                if llm.certain:
                    state["fed"][path] = None
                elif state["fed"].get(path, set()) is not None:
                    state["fed"].setdefault(path, set()).update(llm.requires)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _MUTATORS:
            self._mutation(node.func.value, node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self._in_method():
            target = node.target.value if isinstance(node.target, cst.Subscript) else node.target
            self._mutation(target, node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._in_method():
            for target in node.targets:
                if isinstance(target.target, cst.Subscript):
                    self._mutation(target.target.value, target.target)

    def _mutation(self, target: cst.BaseExpression, node: cst.CSTNode) -> None:
        path = dotted_name(target)
        function = self.ctx.function_stack[-1]
        if path and path.startswith("self.") and function.name.value != "__init__":
            if self._memory_object(target):
                return
            self._classes[-1]["mutations"].append((path, node))

    def _memory_object(self, target: cst.BaseExpression) -> bool:
        """Is the receiver typed as an object of some class rather than a plain list or dict
        (metagpt's ``self.rc.memory: Memory``)? A memory object decides what the model sees:
        factor 3's business, not this rule's (docs/violations.md, factor 12)."""
        type_qn = self.ctx.instance_type_of(target)
        if type_qn is None:
            # Typed in another file (an attribute inherited from a framework's base class, such
            # as metagpt's ``Role.rc.memory``): a receiver named as a memory is one.
            name = target.attr.value if isinstance(target, cst.Attribute) else ""
            return name.lower().endswith("memory")
        return type_qn not in _CONTAINERS


def _self_paths(expr: cst.BaseExpression) -> set[str]:
    collect = _SelfPaths()
    run_visitor(expr, collect)
    return collect.found


class _SelfPaths(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: set[str] = set()

    def visit_Attribute(self, attr: cst.Attribute) -> bool:
        path = dotted_name(attr)
        if path and path.startswith("self.") and path.count(".") >= 1:
            self.found.add(".".join(path.split(".")[:2]))
            return False
        return True
