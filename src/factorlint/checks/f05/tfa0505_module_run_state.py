from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.semantic.names import dotted_name

_MUTABLE_FACTORIES = frozenset(
    {"builtins.list", "builtins.dict", "builtins.set", "collections.deque", "collections.defaultdict",
     "collections.OrderedDict", "collections.Counter", "queue.Queue", "asyncio.Queue",
     "weakref.WeakValueDictionary", "weakref.WeakKeyDictionary"}
)
_KEYED = frozenset({"add", "setdefault"})  # the methods whose first argument is the entry's key


def _is_id(name: str) -> bool:
    """``id``, ``sid``, ``call_id``, ``conversation_id``, ``agentId``: the identity of a run, a
    conversation, a session, a job or a call."""
    lowered = name.lower()
    return lowered == "id" or lowered.endswith("_id") or (len(name) > 2 and name.endswith(("id", "Id")) and
                                                          not lowered.endswith(("void", "valid", "paid", "grid")))


def _id_key(key: cst.BaseExpression) -> str | None:
    """The key as written when it is the identity of something (a name, an attribute, or a tuple
    holding one), else None."""
    if isinstance(key, cst.Name) and _is_id(key.value):
        return key.value
    if isinstance(key, cst.Attribute) and _is_id(key.attr.value):
        return dotted_name(key) or key.attr.value
    if isinstance(key, cst.Tuple):
        for element in key.elements:
            found = _id_key(element.value)
            if found is not None:
                return found
    return None


def _counts(value: cst.BinaryOperation, name: str) -> bool:
    """``name + 1``: a counter moved (a set grown with ``|`` is a log of what was seen)."""
    sides = (value.left, value.right)
    return any(isinstance(s, cst.Name) and s.value == name for s in sides) and any(
        isinstance(s, cst.Integer) for s in sides
    )


def _subscript_key(target: cst.Subscript) -> str | None:
    if len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
        return _id_key(target.slice[0].slice.value)
    return None


@dataclass
class _Container:
    """A module-level mutable container and what the functions of the module do with it."""

    name: str
    node: cst.CSTNode  # its definition
    # (function, key) of each entry a function adds under the id of a run, a conversation, a
    # session, a job or a call: ``_pending[call_id] = ...``, ``_seen.add(session.id)``
    keyed: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Frame:
    name: str
    node: cst.FunctionDef
    locals: set[str]
    declared: set[str] = field(default_factory=set)  # ``global`` names
    globals: list[cst.Global] = field(default_factory=list)
    rebound: dict[str, bool] = field(default_factory=dict)  # global name -> carries state
    keyed: list[tuple[str, str]] = field(default_factory=list)  # (container, the id it is filled under)


class ModuleRunState(Rule):
    """## What it does
    Finds the state of runs kept in module globals, at its definition: a module-level dict or set
    that functions fill at run time under the identity of a run, a conversation, a session, a job
    or a call (`_pending[call_id] = ...`, `_seen.add(session.id)`: pending approvals, running
    jobs, per-conversation counters, what was already done), and a counter a function moves
    through `global`. A container filled at import (a registry a decorator fills) or keyed by
    anything else (a model name, a path: process-wide caches), flags and lazily built clients set
    through `global`, and names containing `cache` are left alone.

    ## Why is this bad?
    Factor 5 (unify execution state and business state): what a run is waiting for, what it has
    done and how far it got should be read from the thread. State kept beside it in a module is
    lost on a restart or a deploy, is shared by every run and every user of the process, cannot
    be seen by whoever reads the thread, and breaks as soon as there are two worker processes.

    ## Example
    ```python
    _pending: dict[str, Approval] = {}

    def request_approval(call_id, call):
        _pending[call_id] = Approval(call)

    def resolve(call_id, answer):
        _pending.pop(call_id).answer = answer
    ```

    ## Use instead
    ```python
    def request_approval(thread: Thread, call) -> Thread:
        return thread.with_event(Event("approval_requested", call))

    def pending_approval(thread: Thread) -> Event | None:
        last = thread.events[-1]
        return last if last.type == "approval_requested" else None
    ```

    ## Fix safety
    No automatic fix: the state belongs in the thread or a store keyed by thread id.

    ## Options
    None. Opt-in (low confidence): an id-keyed container may hold live handles (subprocesses,
    threads, locks) that die with the process by design, and the rule cannot yet tell those from
    the state of a run. On gptme, 5 of its 12 findings were judged true (docs/precision.md).

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-05-unify-execution-state.md
    """

    meta = RuleMeta(
        code="TFA0505",
        name="module-run-state",
        factor=5,
        severity="warning",
        confidence="low",
        summary="The state of runs is kept in a module global, outside the thread",
        fix_advice=(
            "Record it as events in the thread (and derive the status from them), or keep it in "
            "a store keyed by the thread id that every worker shares."
        ),
    )

    invalid = [
        """
import threading
from .events import emit

_pending: dict[str, dict] = {}  # expect: TFA0505 @1-31 | `_pending` keeps the state of runs at module level, by `call_id` (filled in `request_approval()`): it lives outside the thread, is lost on a restart and is shared by every run in the process

def request_approval(call_id, call):
    _pending[call_id] = {"call": call, "event": threading.Event()}

def resolve(call_id, answer):
    entry = _pending.pop(call_id)
    entry["answer"] = answer
    entry["event"].set()
""",
        """
from .events import emit
_notified = set()  # expect: TFA0505 @1-18 | `_notified` keeps the state of runs at module level, by `order_id` (filled in `notify()`): it lives outside the thread, is lost on a restart and is shared by every run in the process

def notify(order_id, send):
    if order_id in _notified:
        return
    send(order_id)
    _notified.add(order_id)
""",
        """
from .events import emit
_attempts = {}  # expect: TFA0505 @1-15 | `_attempts` keeps the state of runs at module level, by `conversation_id` (filled in `on_failure()`): it lives outside the thread, is lost on a restart and is shared by every run in the process

def on_failure(conversation_id):
    _attempts[conversation_id] = _attempts.get(conversation_id, 0) + 1
    return _attempts[conversation_id] > 3
""",
        """
from .events import emit
_next_id = 0

def new_job(command):
    global _next_id  # expect: TFA0505 @5-20 | `global _next_id` in `new_job()`: the state of runs kept in a module global, outside the thread, lost on a restart and shared by every run in the process
    _next_id += 1
    return _next_id, command
""",
    ]
    valid = [
        # The run's state lives in the thread it is handed.
        """
from .events import emit
def request_approval(thread, call):
    return [*thread, {"type": "approval_requested", "call": call}]
""",
        # A registry filled once at import by a decorator.
        """
from .events import emit
TOOLS = {}

def tool(fn):
    TOOLS[fn.__name__] = fn
    return fn

@tool
def search(query):
    return query
""",
        # A lazily built client.
        """
from .events import emit
from openai import OpenAI
_client = None

def client():
    global _client
    if _client is None:
        _client = OpenAI()
    return _client
""",
    ]
    near_miss = [
        # Memoisation, named as such.
        """
from .events import emit
_model_cache = {}

def model_info(name, fetch):
    if name not in _model_cache:
        _model_cache[name] = fetch(name)
    return _model_cache[name]
""",
        # Only read at run time, filled at import.
        """
from .events import emit
PROVIDERS = {}
PROVIDERS["openai"] = "https://api.openai.com"

def base_url(name):
    if name in PROVIDERS:
        return PROVIDERS[name]
""",
        # A parameter of the same name shadows the global.
        """
from .events import emit
messages = []

def run(messages, text):
    messages.append(text)
    messages.pop(0)
""",
        # Reading a global flag another thread sets keeps nothing here.
        """
from .events import emit
stop = False

def worker(step):
    global stop
    while not stop:
        step()
""",
        # A flag set through `global`: as often set-up (telemetry on, a hook installed) as the
        # state of a run.
        """
from .events import emit
_restart_requested = False

def confirm_restart():
    global _restart_requested
    _restart_requested = True
""",
        # A process-wide table keyed by a name, not by a run.
        """
from .events import emit
_encodings = {}

def encoding(encoding_name, load):
    if encoding_name not in _encodings:
        _encodings[encoding_name] = load(encoding_name)
    return _encodings[encoding_name]
""",
        # A memo dict filled and read in one function.
        """
from .events import emit
_seen_models = {}

def resolve(name, load):
    found = _seen_models.get(name)
    if found is None:
        found = _seen_models[name] = load(name)
    return found
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._containers: dict[str, _Container] = {}
        self._frames: list[_Frame] = []
        self._module_calls: set[str] = set()  # functions called at import time
        self._globals: list[tuple[_Frame, cst.Global, list[str]]] = []
        self._all_frames: list[_Frame] = []

    # -- the module's own definitions ------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        for statement in node.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                    targets = small.targets if isinstance(small, cst.Assign) else [small]
                    for target in targets:
                        if isinstance(target.target, cst.Name):
                            self._define(target.target.value, small.value, statement)
                elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                    callee = dotted_name(small.value.func)
                    if callee is not None:
                        self._module_calls.add(callee)

    def _define(self, name: str, value: cst.BaseExpression, statement: cst.CSTNode) -> None:
        if "cache" in name.lower():
            return  # memoisation, named as such
        qualname = self.ctx.qualname(value.func) if isinstance(value, cst.Call) else None
        mutable = isinstance(value, (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)) or (
            qualname in _MUTABLE_FACTORIES
        )
        if mutable:
            self._containers[name] = _Container(name, statement)

    # -- what functions do with them -------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params
        names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
        names |= {p.name.value for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)}
        frame = _Frame(node.name.value, node, names)
        self._frames.append(frame)
        self._all_frames.append(frame)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        frame = self._frames.pop()
        for statement in frame.globals:
            names = [n.name.value for n in statement.names
                     if frame.rebound.get(n.name.value) and "cache" not in n.name.value.lower()]
            if names:
                self._globals.append((frame, statement, names))

    def visit_Global(self, node: cst.Global) -> None:
        if self._frames:
            self._frames[-1].declared.update(n.name.value for n in node.names)
            self._frames[-1].globals.append(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if not self._frames:
            return
        frame = self._frames[-1]
        for target in node.targets:
            self._target(frame, target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self._frames and node.value is not None:
            self._target(self._frames[-1], node.target, node.value)

    def _target(self, frame: _Frame, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            name = target.value
            if name in frame.declared:
                # A counter moved (``_seq = _seq + 1``) is the state of runs. A flag or an object
                # set through ``global`` is as often set-up (telemetry switched on, a hook
                # installed, a client built lazily) and is left alone.
                moved = isinstance(value, cst.BinaryOperation) and _counts(value, name)
                frame.rebound[name] = frame.rebound.get(name, False) or moved
            else:
                frame.locals.add(name)
        elif isinstance(target, cst.Subscript):
            container = dotted_name(target.value)
            if container is not None:
                self._event(frame, container, _subscript_key(target))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(frame, element.value, value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if not self._frames:
            return
        frame = self._frames[-1]
        if isinstance(node.target, cst.Name) and node.target.value in frame.declared:
            if isinstance(node.value, cst.Integer):
                frame.rebound[node.target.value] = True  # ``_seq += 1``
        elif isinstance(node.target, cst.Subscript):
            name = dotted_name(node.target.value)
            if name is not None:
                self._event(frame, name, _subscript_key(node.target))

    def visit_Call(self, node: cst.Call) -> None:
        if not self._frames or not isinstance(node.func, cst.Attribute):
            return
        name = dotted_name(node.func.value)
        if name is None:
            return
        if node.func.attr.value in _KEYED and node.args:
            self._event(self._frames[-1], name, _id_key(node.args[0].value))

    def _event(self, frame: _Frame, name: str, key: str | None) -> None:
        if key is not None and name in self._containers and (name not in frame.locals or name in frame.declared):
            frame.keyed.append((name, key))

    # -- the verdict -------------------------------------------------------------------------------

    def leave_Module(self, node: cst.Module) -> None:
        for frame in self._all_frames:
            if self._at_import(frame):
                continue
            for name, key in frame.keyed:
                self._containers[name].keyed.append((frame.name, key))
        for container in self._containers.values():
            if container.keyed:
                function, key = container.keyed[0]
                self.report(
                    container.node,
                    f"`{container.name}` keeps the state of runs at module level, by `{key}` (filled in "
                    f"`{function}()`): it lives outside the thread, is lost on a restart and is shared "
                    "by every run in the process",
                )
        for frame, statement, names in self._globals:
            if self._at_import(frame):
                continue
            self.report(
                statement,
                f"`global {', '.join(names)}` in `{frame.name}()`: the state of runs kept in a module "
                "global, outside the thread, lost on a restart and shared by every run in the process",
            )

    def _at_import(self, frame: _Frame) -> bool:
        """A decorator (it hands back the function it was given) or a function the module calls
        at import fills a registry once; that is set-up, not a run."""
        if frame.name in self._module_calls:
            return True
        params = {p.name.value for p in frame.node.params.params}
        returns = _OwnReturns(frame.node)
        run_visitor(frame.node, returns)
        return any(isinstance(r.value, cst.Name) and r.value.value in params for r in returns.found) and bool(
            frame.node.decorators or len(params) == 1
        )


class _OwnReturns(cst.CSTVisitor):
    """The ``return`` statements of one function, not of the functions nested in it."""

    def __init__(self, function: cst.FunctionDef) -> None:
        self.function = function
        self.found: list[cst.Return] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.function

    def visit_Return(self, node: cst.Return) -> None:
        self.found.append(node)
