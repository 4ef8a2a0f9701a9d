from __future__ import annotations

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, Rule, RuleMeta
from factorlint.engine.agents.loop_body import paths_in
from factorlint.engine.parse.walk import find_all
from factorlint.engine.semantic.names import dotted_name

_MUTABLE_FACTORIES = frozenset(
    {"builtins.list", "builtins.dict", "builtins.set", "collections.deque", "collections.defaultdict",
     "collections.OrderedDict", "collections.Counter", "queue.Queue", "asyncio.Queue"}
)
_MUTATORS = frozenset(
    {"append", "extend", "insert", "update", "pop", "popleft", "clear", "add", "remove", "discard",
     "setdefault", "appendleft", "extendleft", "put", "put_nowait", "__setitem__"}
)


def _is_set_up(value: cst.BaseExpression, name: str) -> bool:
    if isinstance(value, cst.Name):
        return value.value in ("True", "False", "None")
    if isinstance(value, (cst.Integer, cst.Float, cst.SimpleString)):
        return True
    if isinstance(value, cst.Call):
        return not any(
            isinstance(arg.value, cst.Name) and arg.value.value == name for arg in value.args
        )
    return False


def _argument_uses(module: cst.Module, name: str) -> list[cst.Name] | None:
    """Every read of the module-level ``name``, when each is an argument of a call inside a
    module-level function that binds no ``name`` of its own; else None (another use, a use at
    module level or in a class body, or none at all)."""
    uses: list[cst.Name] = []
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            found = _arguments_in(statement, name)
            if found is None:
                return None
            uses.extend(found)
        elif _reads(statement, name):
            if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
                    and isinstance(statement.body[0], cst.Assign)
                    and any(isinstance(t.target, cst.Name) and t.target.value == name for t in statement.body[0].targets)):
                return None  # the name is read (or bound again) outside a function
    return uses or None


def _reads(node: cst.CSTNode, name: str) -> list[cst.Name]:
    """The names ``name`` in ``node`` that stand for a variable (not a keyword of a call, an
    attribute after a dot or a parameter's own name, which are other things spelled the same)."""
    other = {id(a.keyword) for a in find_all(node, cst.Arg) if a.keyword is not None}
    other |= {id(a.attr) for a in find_all(node, cst.Attribute)}
    return [n for n in find_all(node, cst.Name) if n.value == name and id(n) not in other]


def _arguments_in(function: cst.FunctionDef, name: str) -> list[cst.Name] | None:
    names = _reads(function, name)
    arguments = {id(arg.value) for arg in find_all(function, cst.Arg)}
    if any(id(n) not in arguments for n in names):
        return None  # bound, declared global, read in another way, or a parameter of that name
    return names


class ModuleGlobalAgentState(Rule):
    """## What it does
    Finds module-level mutable objects (`HISTORY = []`, `SESSIONS = {}`, a `deque()`) changed by
    a function that calls a model and hands them to it (the thread or the working context), `global` statements in such functions, and framework memory
    (`ConversationBufferMemory()`) built at module level, which every run of the agent shares.

    ## Why is this bad?
    Factor 12 (make your agent a stateless reducer) and factor 5 (unify execution state): the
    conversation lives beside the thread instead of in it. It cannot be saved, resumed, replayed
    or tested step by step, and in a server it leaks between users and breaks as soon as there
    are two worker processes.

    ## Example
    ```python
    HISTORY: list[dict] = []

    def chat(user_msg: str) -> str:
        HISTORY.append({"role": "user", "content": user_msg})
        reply = client.chat.completions.create(model=M, messages=HISTORY)
        ...
    ```

    ## Use instead
    ```python
    def step(thread: Thread, event: Event) -> Thread:
        thread = thread.with_event(event)
        next_step = determine_next_step(render(thread))
        return thread.with_event(next_step)
    ```

    ## Fix safety
    Unsafe, for framework memory built at module level (`memory = ConversationBufferMemory(...)`)
    that the module only hands to calls inside its functions
    (`ConversationChain(llm=llm, memory=memory)`): the construction becomes a function
    (`def new_memory(): return ConversationBufferMemory(...)`) and each of those arguments calls
    it, so every run starts from its own memory. It changes behaviour on purpose: runs no longer
    see each other's history, so carry the thread in explicitly where a conversation must go on.
    Module-level mutable state changed by functions has no automatic fix: where the thread should
    live is a design decision.

    ## Options
    None. Names containing `cache` are left alone (memoisation is not agent state).

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-12-stateless-reducer.md
    """

    meta = RuleMeta(
        code="TFA1201",
        name="module-global-agent-state",
        factor=12,
        severity="warning",
        confidence="high",
        summary="Module-level state is changed by agent code: hidden state outside the thread",
        fix_advice=(
            "Pass the thread (messages, events) in and return the new one; persist it by id "
            "(a database, a file) instead of keeping it in a module global."
        ),
        fix="sometimes",
    )

    fixes = [
        (
            """
from langchain.chains import ConversationChain
from langchain.memory import ConversationBufferMemory
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o")
memory = ConversationBufferMemory(memory_key="history")  # one history for every caller


def answer(question):
    chain = ConversationChain(llm=llm, memory=memory)
    return chain.predict(input=question)
""",
            """
from langchain.chains import ConversationChain
from langchain.memory import ConversationBufferMemory
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o")
def new_memory():
    return ConversationBufferMemory(memory_key="history")  # one history for every caller


def answer(question):
    chain = ConversationChain(llm=llm, memory=new_memory())
    return chain.predict(input=question)
""",
        ),
    ]

    invalid = [
        """
from openai import OpenAI
client = OpenAI()
HISTORY: list[dict] = []

def chat(user_msg):
    HISTORY.append({"role": "user", "content": user_msg})  # expect: TFA1201 @5-58 | `HISTORY` is module-level state changed by a function that calls a model
    reply = client.chat.completions.create(model="m", messages=HISTORY)
    return reply
""",
        """
import anthropic as ant
from collections import defaultdict
sessions = defaultdict(list)
client = ant.Anthropic()

def answer(user, text):
    sessions[user] += [text]  # expect: TFA1201 @5-29 | `sessions` is module-level state changed by a function that calls a model
    return client.messages.create(model="m", max_tokens=10, messages=sessions[user])
""",
        {
            "llm.py": """
from openai import OpenAI
client = OpenAI()

def complete(messages):
    return client.chat.completions.create(model="m", messages=messages)
""",
            "bot.py": """
from llm import complete
turns = 0
memory = {}

def respond(user, text):
    global turns  # expect: TFA1201 @5-17 | `global turns` in a function that calls a model: agent state kept in a module global (it also changes `memory`)
    turns += 1
    memory[user] = text
    return complete([{"role": "user", "content": memory[user]}])
""",
        },
        """
from langchain.memory import ConversationBufferMemory as Memory

memory = Memory(memory_key="chat_history")  # expect: TFA1201 @10-43 | `ConversationBufferMemory` built at module level: every run of the agent shares one conversation history, hidden from the thread
""",
    ]
    valid = [
        """
from openai import OpenAI
client = OpenAI()

def chat(thread, user_msg):
    thread = [*thread, {"role": "user", "content": user_msg}]
    reply = client.chat.completions.create(model="m", messages=thread)
    return thread + [reply.choices[0].message]
""",
        # A module-level constant is not state.
        """
from openai import OpenAI
client = OpenAI()
ALLOWED_TOOLS = ("search", "lookup")
DEFAULTS = {"model": "m"}

def chat(messages):
    return client.chat.completions.create(messages=messages, **DEFAULTS)
""",
        # A local list that shadows nothing global.
        """
from openai import OpenAI
client = OpenAI()

def chat(user_msg):
    history = []
    history.append({"role": "user", "content": user_msg})
    return client.chat.completions.create(model="m", messages=history)
""",
    ]
    near_miss = [
        # A ``global`` for a set-up flag and a lazily built client is not conversation state.
        """
from openai import OpenAI
_client = None
_ready = False

def ask(q):
    global _client, _ready
    if _client is None:
        _client = OpenAI()
    _ready = True
    return _client.chat.completions.create(model="m", messages=[{"role": "user", "content": q}])
""",
        # A retry latch and request options spread into the call: module state, but not the
        # thread the model sees (factor 5's business, not this rule's).
        """
from openai import OpenAI
client = OpenAI()
_failures = {}
options = {"temperature": 0}

def summarize(conversation_id, messages, tools):
    options["tools"] = tools
    try:
        return client.chat.completions.create(model="m", messages=messages, **options)
    except Exception:
        _failures[conversation_id] = _failures.get(conversation_id, 0) + 1
        raise
""",
        # A global mutated by a function that never reaches a model.
        """
REGISTRY = {}

def register(name, fn):
    REGISTRY[name] = fn
""",
        # A cache is memoisation, not conversation state.
        """
from openai import OpenAI
client = OpenAI()
_embedding_cache = {}

def ask(q):
    _embedding_cache[q] = len(q)
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": q}])
""",
        # A local variable of the same name as a global list.
        """
from openai import OpenAI
client = OpenAI()
history = []

def chat(user_msg):
    history = [{"role": "user", "content": user_msg}]
    history.append({"role": "system", "content": "x"})
    return client.chat.completions.create(model="m", messages=history)
""",
        """
from langchain.memory import ConversationBufferMemory

def build_memory():
    return ConversationBufferMemory(memory_key="chat_history")

memory_class = ConversationBufferMemory
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._mutable_globals = {
            name for name, value in ctx.scan.module_constants.items()
            if self._is_mutable(value) and "cache" not in name.lower()
        }
        self._frames: list[dict] = []
        self._seen = 0  # visit order: the first statement of a function that keeps state

    def _is_mutable(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)):
            return True
        if isinstance(value, cst.Call):
            return self.ctx.qualname(value.func) in _MUTABLE_FACTORIES
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        if not self._frames:
            self._module_memory(node)
            return
        self._assigned(node)

    def _module_memory(self, node: cst.Assign) -> None:
        """``memory = ConversationBufferMemory()`` at module level: one history for every run."""
        if self.ctx.class_stack or not isinstance(node.value, cst.Call):
            return
        qualname = self.ctx.qualname(node.value.func)
        if qualname and any(c.role == "memory" for c in self.ctx.knowledge.components.get(qualname)):
            name = qualname.rsplit(".", 1)[-1]
            self.report(
                node.value,
                f"`{name}` built at module level: every run of the agent shares one conversation "
                "history, hidden from the thread",
                fix=self._built_per_call(node),
            )

    def _built_per_call(self, node: cst.Assign) -> CodeFix | None:
        """The memory built by a function, called where the module's functions hand it to a
        call: only when that is every use of the name in the module, and the statement is alone
        on its line."""
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return None
        if not any(isinstance(s, cst.SimpleStatementLine) and list(s.body) == [node] for s in self.ctx.module.body):
            return None
        name = node.targets[0].target.value
        uses = _argument_uses(self.ctx.module, name)
        if uses is None:
            return None
        factory = f"new_{name}"
        if any(n.value == factory for n in find_all(self.ctx.module, cst.Name)):
            return None
        edits = [RawEdit(node, f"def {factory}():\n    return {self.ctx.code_for(node.value)}")]
        edits.extend(RawEdit(use, f"{factory}()") for use in uses)
        return CodeFix(tuple(edits), unsafe=True)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # A parameter shadows the module-level name it shares (``def loop(messages): messages.append``).
        params = node.params
        names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
        names |= {p.name.value for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)}
        self._frames.append({"mutations": [], "globals": [], "declared": set(), "locals": names,
                             "llm": [], "certain": False, "set_up": {}, "sent": set()})

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        frame = self._frames.pop()
        if not frame["llm"] and not frame["certain"]:
            return
        requires = () if frame["certain"] else tuple(sorted(set(frame["llm"])))
        # One finding per function, at the first statement that keeps state at module level; the
        # other names it changes are the same finding (violations.md, factor 12).
        entries: list[tuple[int, cst.CSTNode, str, bool]] = []
        for order, statement in frame["globals"]:
            # Only the names the function assigns: ``global exit_flag`` to read a flag another
            # thread sets keeps nothing; a mutation through a method is counted below.
            names = [n.name.value for n in statement.names if n.name.value in frame["set_up"]]
            if all(frame["set_up"][name] for name in names):
                continue  # ``global _init_done`` / ``global _client``: set-up, not the conversation
            entries.append((order, statement, ", ".join(names), True))
        for order, name, target in frame["mutations"]:
            if name in frame["locals"] and name not in frame["declared"]:
                continue
            entries.append((order, target, name, False))
        if not entries:
            return
        # The thread or the working context: state the function hands to the model. A retry
        # latch or a dict of request options spread into the call (``**options``) is not.
        changed = {n for _, _, label, _ in entries for n in label.split(", ")}
        if not changed & frame["sent"]:
            return
        entries.sort(key=lambda entry: entry[0])
        _, where, first, is_global = entries[0]
        named = set(first.split(", "))
        others = [n for _, _, label, _ in entries[1:] for n in label.split(", ") if n not in named]
        also = f" (it also changes {', '.join(f'`{n}`' for n in dict.fromkeys(others))})" if others else ""
        if is_global:
            message = f"`global {first}` in a function that calls a model: agent state kept in a module global{also}"
        else:
            message = f"`{first}` is module-level state changed by a function that calls a model{also}"
        self.report(where, message, requires_llm=requires)

    def visit_Global(self, node: cst.Global) -> None:
        if self._frames:
            self._frames[-1]["declared"].update(n.name.value for n in node.names)
            self._frames[-1]["globals"].append((self._order(), node))

    def visit_Call(self, node: cst.Call) -> None:
        if not self._frames:
            return
        frame = self._frames[-1]
        llm = self.ctx.recognise.llm_call(node)
        if llm is not None:
            if llm.certain:
                frame["certain"] = True
            else:
                frame["llm"].extend(llm.requires)
            frame["sent"].update(p.split(".", 1)[0] for a in node.args if a.star != "**" for p in paths_in(a.value))
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _MUTATORS:
            self._mutation(dotted_name(node.func.value), node)

    def _assigned(self, node: cst.Assign) -> None:
        set_up = self._frames[-1]["set_up"]
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                # A flag or a lazily built object (``_done = True``, ``_client = OpenAI()``) is
                # set-up; one value built from another (``history = history + [m]``) is state.
                name = target.target.value
                set_up[name] = set_up.get(name, True) and _is_set_up(node.value, name)
            if isinstance(target.target, cst.Subscript):
                self._mutation(dotted_name(target.target.value), target.target)
            elif isinstance(target.target, cst.Name):
                self._frames[-1]["locals"].add(target.target.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self._frames and isinstance(node.target, cst.Name):
            self._frames[-1]["set_up"][node.target.value] = False  # ``turns += 1`` carries state
        target = node.target.value if isinstance(node.target, cst.Subscript) else node.target
        self._mutation(dotted_name(target), node)

    def _mutation(self, name, node) -> None:
        if self._frames and name in self._mutable_globals:
            self._frames[-1]["mutations"].append((self._order(), name, node))

    def _order(self) -> int:
        self._seen += 1
        return self._seen
