from __future__ import annotations

import re

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.agents.entrypoints import entry_points
from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.semantic.names import dotted_name, literal_string

_MEMORY = ":memory:"  # SQLite's in-memory database
_SQLITE_CONNECT = frozenset({"sqlite3.connect", "aiosqlite.connect"})
_CONTAINERS = frozenset(
    {"builtins.dict", "builtins.list", "collections.defaultdict", "collections.OrderedDict",
     "collections.deque"}
)
_WRITES = frozenset({"append", "extend", "insert", "update", "setdefault", "appendleft", "add"})
# Module-level containers that hold conversations or runs, by name.
_THREAD_STORE = re.compile(
    r"(?i)thread|session|conversation|histor|chat|memor|checkpoint|run_state|agent_state|states$"
)


class EphemeralCheckpointerInService(Rule):
    """## What it does
    Finds agent state kept only in process memory: LangGraph's `InMemorySaver()` / `MemorySaver()`,
    a SQLite checkpointer or OpenAI Agents `SQLiteSession` on `":memory:"` (the session's default
    when no `db_path` is given), and a module-level dict that route handlers use as the thread
    store. It is a warning in a module that serves routes, chat events, queue tasks or schedules,
    and advice elsewhere (a script or a demo may not need to survive a restart).

    ## Why is this bad?
    Factor 6 (launch / pause / resume): pausing an agent is only useful if it can be resumed,
    possibly by another worker, after a deploy or a crash. A checkpointer in memory loses every
    paused run when the process stops, and a second worker behind the load balancer has never seen
    the thread the webhook asks it to resume.

    ## Example
    ```python
    graph = builder.compile(checkpointer=MemorySaver())

    @app.post("/threads/{thread_id}/resume")
    def resume(thread_id: str, answer: Answer):
        return graph.invoke(Command(resume=answer.text), {"configurable": {"thread_id": thread_id}})
    ```

    ## Use instead
    ```python
    graph = builder.compile(checkpointer=PostgresSaver.from_conn_string(DB_URL))
    ```

    ## Fix safety
    No automatic fix: choosing a store (SQLite file, Postgres, Redis) is a deployment decision.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-06-launch-pause-resume.md
    """

    meta = RuleMeta(
        code="TFA0602",
        name="ephemeral-checkpointer-in-service",
        factor=6,
        severity="warning",
        confidence="high",
        summary="Agent state is kept in process memory: a restart loses every paused run",
        fix_advice=(
            "Use a persistent store: `SqliteSaver.from_conn_string(\"state.db\")`, `PostgresSaver`, "
            "`RedisSaver`, or `SQLiteSession(session_id, db_path=...)`; keep threads in a database."
        ),
    )

    invalid = [
        """
from fastapi import FastAPI
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import StateGraph
from langgraph.types import Command

app = FastAPI()
builder = StateGraph(dict)
graph = builder.compile(checkpointer=MemorySaver())  # expect: TFA0602 @38-51 | `MemorySaver()` keeps agent state in a module that serves requests: a restart or a second worker loses every paused run

@app.post("/threads/{thread_id}/resume")
def resume(thread_id: str, answer: str):
    return graph.invoke(Command(resume=answer), {"configurable": {"thread_id": thread_id}})
""",
        # Outside a service it is advice, still reported.
        """
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt import create_react_agent

agent = create_react_agent("openai:gpt-4.1", tools=[], checkpointer=InMemorySaver())  # expect: TFA0602 @69-84 | `InMemorySaver()` keeps agent state in process memory: a restart or a second worker loses every paused run
""",
        """
from flask import Flask, request
from agents import Agent, Runner, SQLiteSession

app = Flask(__name__)
agent = Agent(name="support", instructions="Help.")

@app.post("/chat/<user_id>")
def chat(user_id):
    session = SQLiteSession(user_id)  # expect: TFA0602 @15-37 | `SQLiteSession()` keeps agent state in a module that serves requests: a restart or a second worker loses every paused run
    return Runner.run_sync(agent, request.json["text"], session=session).final_output
""",
        # SQLite in memory, spelled out.
        """
import sqlite3
from langgraph.checkpoint.sqlite import SqliteSaver
from agents import SQLiteSession

saver = SqliteSaver(sqlite3.connect(":memory:"))  # expect: TFA0602 @9-49 | `SqliteSaver` on ":memory:" keeps agent state in process memory: a restart or a second worker loses every paused run
session = SQLiteSession("user-42", ":memory:")  # expect: TFA0602 @11-47 | `SQLiteSession` on ":memory:" keeps agent state in process memory: a restart or a second worker loses every paused run
""",
        # A module-level dict as the thread store, written by route handlers.
        """
from fastapi import FastAPI
from openai import OpenAI

app = FastAPI()
client = OpenAI()
THREADS = {}  # expect: TFA0602 @1-13 | `THREADS` is a module-level container that the route handler `POST /threads` uses as the thread store: a restart or a second worker loses it

@app.post("/threads")
def create(text: str):
    thread_id = str(len(THREADS))
    THREADS[thread_id] = [{"role": "user", "content": text}]
    return {"id": thread_id}
""",
    ]
    valid = [
        """
from fastapi import FastAPI
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import StateGraph

app = FastAPI()
graph = StateGraph(dict).compile(checkpointer=PostgresSaver.from_conn_string("postgresql://db"))
""",
        """
from agents import Agent, Runner, SQLiteSession

agent = Agent(name="support", instructions="Help.")

def chat(user_id, text):
    return Runner.run_sync(agent, text, session=SQLiteSession(user_id, "sessions.db"))
""",
        """
from langgraph.checkpoint.sqlite import SqliteSaver

with SqliteSaver.from_conn_string("checkpoints.sqlite") as saver:
    pass
""",
        # A session id that is a literal: the file path is what makes it persistent.
        """
from agents import SQLiteSession

session = SQLiteSession("user-42", db_path="state/sessions.db")
""",
    ]
    near_miss = [
        # A cache dict in a service, not a thread store.
        """
from fastapi import FastAPI

app = FastAPI()
_embedding_cache = {}

@app.post("/embed")
def embed(text: str):
    _embedding_cache[text] = len(text)
    return _embedding_cache[text]
""",
        # A project class that happens to be called MemorySaver.
        """
class MemorySaver:
    pass

saver = MemorySaver()
""",
        # A sessions dict in a module with no routes (a CLI): factor 12 territory, not this rule.
        """
from openai import OpenAI
client = OpenAI()
sessions = {}

def chat(user, text):
    sessions.setdefault(user, []).append({"role": "user", "content": text})
    return client.chat.completions.create(model="m", messages=sessions[user])
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._sites: list[tuple[cst.Call, str]] = []

    def visit_Call(self, node: cst.Call) -> None:
        name = self._ephemeral(node)
        if name is not None:
            self._sites.append((node, name))

    def _ephemeral(self, call: cst.Call) -> str | None:
        qualname = self.ctx.qualname(call.func)
        if qualname is None:
            return None
        components = [c for c in self.ctx.knowledge.components.get(qualname) if c.role == "checkpointer"]
        if not components and "." in qualname:
            # A classmethod constructor: SqliteSaver.from_conn_string(":memory:")
            owner = qualname.rsplit(".", 1)[0]
            components = [
                c for c in self.ctx.knowledge.components.get(owner)
                if c.role == "checkpointer" and c.persistent
            ]
            qualname = owner if components else qualname
        if not components:
            return None
        component = components[0]
        name = qualname.rsplit(".", 1)[-1]
        if component.persistent:
            # Persistent by design, unless pointed at SQLite's in-memory database.
            return f'`{name}` on ":memory:"' if any(self._in_memory(a.value) for a in call.args) else None
        location = None
        for keyword in component.persistent_keywords:
            location = location or keyword_arg(call, keyword)
        if location is None and component.persistent_positional is not None:
            location = positional_arg(call, component.persistent_positional)
        if location is not None:
            return f'`{name}` on ":memory:"' if self._in_memory(location.value) else None
        if any(a.star for a in call.args):
            return None  # the location may come through *args / **kwargs
        return f"`{name}()`"

    def _in_memory(self, value: cst.BaseExpression) -> bool:
        """``":memory:"`` or ``sqlite3.connect(":memory:")``."""
        if literal_string(value) == _MEMORY:
            return True
        if isinstance(value, cst.Call) and (self.ctx.qualname(value.func) or "") in _SQLITE_CONNECT:
            return any(literal_string(a.value) == _MEMORY for a in value.args)
        return False

    def leave_Module(self, node: cst.Module) -> None:
        ep = entry_points(self.ctx)
        service = ep.serves()
        where = "in a module that serves requests" if service else "in process memory"
        for call, name in self._sites:
            self.report(
                call,
                f"{name} keeps agent state {where}: a restart or a second worker loses every "
                "paused run",
                severity=None if service else "advice",
            )
        if service:
            self._thread_stores(ep)

    def _thread_stores(self, ep) -> None:
        stores = {
            name: value for name, value in self.ctx.scan.module_constants.items()
            if _THREAD_STORE.search(name) and "cache" not in name.lower() and self._container(value)
        }
        if not stores:
            return
        for info, trigger in ep.handlers("http", "websocket", "event"):
            runs_agent = self.ctx.relevant or bool(ep.agent_runs(info))
            if not runs_agent:
                continue
            for name in _written(info.node, stores):
                statement = self._definition(name)
                if statement is not None:
                    self.report(
                        statement,
                        f"`{name}` is a module-level container that the route handler "
                        f"{trigger.label(info.node)} uses as the thread store: a restart or a "
                        "second worker loses it",
                    )
                stores.pop(name)

    def _container(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, (cst.Dict, cst.List, cst.DictComp)):
            return True
        return isinstance(value, cst.Call) and (self.ctx.qualname(value.func) or "") in _CONTAINERS

    def _definition(self, name: str) -> cst.CSTNode | None:
        for statement in self.ctx.module.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    targets = small.targets if isinstance(small, cst.Assign) else (
                        [small] if isinstance(small, cst.AnnAssign) else []
                    )
                    if any(dotted_name(t.target) == name for t in targets):
                        return statement
        return None


def _written(function: cst.FunctionDef, stores: dict) -> list[str]:
    """Module-level stores that a function writes: ``S[k] = v``, ``S.append(v)``, ``S[k].append(v)``."""
    writes = _Writes(function, stores)
    run_visitor(function, writes)
    return writes.found


class _Writes(cst.CSTVisitor):
    def __init__(self, function: cst.FunctionDef, stores: dict) -> None:
        self.function = function
        self.stores = stores
        self.found: list[str] = []

    def visit_FunctionDef(self, node) -> bool:
        return node is self.function

    def _root(self, expr) -> str | None:
        while isinstance(expr, (cst.Subscript, cst.Call)):
            expr = expr.value if isinstance(expr, cst.Subscript) else (
                expr.func.value if isinstance(expr.func, cst.Attribute) else expr.func
            )
        name = dotted_name(expr)
        return name if name in self.stores and name not in self.found else None

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Subscript):
                root = self._root(target.target.value)
                if root:
                    self.found.append(root)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _WRITES:
            root = self._root(node.func.value)
            if root:
                self.found.append(root)
