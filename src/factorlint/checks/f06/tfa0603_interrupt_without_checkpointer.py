from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.recognisers import is_none, keyword_arg
from factorlint.engine.recognise.retries import calls_in
from factorlint.engine.semantic.names import dotted_name


@dataclass
class _Graph:
    """A graph-producing call: ``builder.compile(...)`` or ``create_react_agent(...)``."""

    call: cst.Call
    label: str
    keywords: list[str]  # checkpointer keywords
    interrupt_keywords: list[str]
    builder: tuple | None = None  # (scope, receiver path) of the builder it compiles
    tools: list[str] = field(default_factory=list)  # qualnames of the functions given as tools
    approval: str | None = None  # an approval middleware given to it


def _empty(value: cst.BaseExpression) -> bool:
    return is_none(value) or (isinstance(value, (cst.List, cst.Tuple)) and not value.elements)


class InterruptWithoutCheckpointer(Rule):
    """## What it does
    Finds LangGraph graphs and agents that pause without a checkpointer: a graph compiled with
    `interrupt_before=`/`interrupt_after=`, or whose nodes (or the tools of a prebuilt agent) call
    `interrupt()`, or a `create_agent(...)` with `HumanInTheLoopMiddleware`, while the
    `compile(...)` / `create_*_agent(...)` / `@entrypoint(...)` call has no `checkpointer=`.
    Subgraphs (a compiled graph added as a node of another graph) inherit the parent's
    checkpointer and are not reported, nor is a graph compiled into a module-level name that
    its module never runs: that is how LangGraph Platform and `langgraph dev` load a graph, and
    they compile it with their own persistent checkpointer.

    ## Why is this bad?
    Factor 6 (launch / pause / resume): LangGraph pauses a run by saving a checkpoint and resumes
    it from that checkpoint with `Command(resume=...)` and the same `thread_id`. Without a
    checkpointer there is nothing to resume from: `interrupt()` fails at run time, and a run
    stopped by `interrupt_before` can never be continued. The human-in-the-loop step you designed
    silently does not exist.

    ## Example
    ```python
    app = builder.compile(interrupt_before=["deploy"])
    app.invoke(inputs)
    ```

    ## Use instead
    ```python
    app = builder.compile(checkpointer=SqliteSaver.from_conn_string("state.db"),
                          interrupt_before=["deploy"])
    app.invoke(inputs, config={"configurable": {"thread_id": thread_id}})
    ```

    ## Fix safety
    No automatic fix: the checkpointer's store is a deployment decision.

    ## Options
    - `langgraph-platform`: set to true when LangGraph Platform / `langgraph dev` compiles the graph
      and injects its own checkpointer; the rule is then silent.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-06-launch-pause-resume.md
    - langchain-ai/langchain-skills `langchain-middleware`: "Requirements: Checkpointer + thread_id
      config for all HITL workflows"
    """

    meta = RuleMeta(
        code="TFA0603",
        name="interrupt-without-checkpointer",
        factor=6,
        severity="error",
        confidence="high",
        summary="The graph pauses for a person but has no checkpointer to resume from",
        fix_advice=(
            "Pass a persistent `checkpointer=` (SqliteSaver, PostgresSaver, RedisSaver) to the "
            "compile/create call and invoke with `config={\"configurable\": {\"thread_id\": ...}}`."
        ),
    )

    invalid = [
        """
from langgraph.graph import StateGraph

builder = StateGraph(dict)
app = builder.compile(interrupt_before=["deploy"])  # expect: TFA0603 @7-51 | `interrupt_before=` pauses the graph, but `compile(...)` has no checkpointer: the run cannot be paused and resumed
app.invoke({"change": "v2"})
""",
        """
from langgraph.graph import StateGraph, START
from langgraph.types import interrupt

def review(state):
    return {"approved": interrupt({"question": "Deploy?"}) == "yes"}

def build():
    graph = StateGraph(dict)
    graph.add_node("review", review)
    graph.add_edge(START, "review")
    return graph.compile()  # expect: TFA0603 @12-27 | node `review` calls `interrupt()`, but `compile(...)` has no checkpointer: the run cannot be paused and resumed
""",
        """
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent
from langgraph.types import interrupt

@tool
def ask_human(question: str) -> str:
    \"\"\"Ask the operator.\"\"\"
    return interrupt(question)

agent = create_react_agent("openai:gpt-4.1", tools=[ask_human])  # expect: TFA0603 @9-64 | tool `ask_human` calls `interrupt()`, but `create_react_agent(...)` has no checkpointer: the run cannot be paused and resumed
agent.invoke({"messages": [("user", "Deploy v2?")]})
""",
        """
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware

agent = create_agent(  # expect: TFA0603 @9-8:2 | `HumanInTheLoopMiddleware` pauses for approval, but `create_agent(...)` has no checkpointer: the run cannot be paused and resumed
    "openai:gpt-4.1",
    tools=[],
    middleware=[HumanInTheLoopMiddleware(interrupt_on={"send_email": True})],
)

def answer(question):
    return agent.invoke({"messages": [("user", question)]})
""",
    ]
    valid = [
        """
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import StateGraph

builder = StateGraph(dict)
with SqliteSaver.from_conn_string("state.db") as saver:
    app = builder.compile(checkpointer=saver, interrupt_before=["deploy"])
""",
        # The interrupting node lives in a subgraph; the parent graph has the checkpointer.
        """
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import StateGraph
from langgraph.types import interrupt

def review(state):
    return {"ok": interrupt("approve?")}

sub = StateGraph(dict)
sub.add_node("review", review)
review_graph = sub.compile()

parent = StateGraph(dict)
parent.add_node("review", review_graph)
app = parent.compile(checkpointer=PostgresSaver.from_conn_string("postgresql://db"))
""",
        """
from langgraph.func import entrypoint
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import interrupt

@entrypoint(checkpointer=InMemorySaver())
def workflow(topic):
    return interrupt({"draft": topic})
""",
    ]
    near_miss = [
        # No pause at all: a graph without a checkpointer is fine.
        """
from langgraph.graph import StateGraph

def step(state):
    return state

g = StateGraph(dict)
g.add_node("step", step)
app = g.compile()
""",
        # interrupt() is in a graph built elsewhere (compiled in another module): nothing to link.
        """
from langgraph.types import interrupt

def review(state):
    return {"approved": interrupt("ok?")}
""",
        # A graph compiled at module level and run nowhere in its module: the way LangGraph
        # Platform and `langgraph dev` load a graph, and they supply the checkpointer.
        """
from langgraph.graph import StateGraph, START
from langgraph.types import interrupt

def review(state):
    return {"feedback": interrupt("Approve the plan?")}

builder = StateGraph(dict)
builder.add_node("review", review)
builder.add_edge(START, "review")
graph = builder.compile()
""",
        # An empty interrupt list, and a checkpointer passed through a variable.
        """
from langgraph.graph import StateGraph

def build(checkpointer):
    g = StateGraph(dict)
    plain = g.compile(interrupt_before=[])
    return g.compile(checkpointer=checkpointer, interrupt_after=["tools"])
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._graphs: list[_Graph] = []
        self._nodes: dict[tuple, list[str]] = {}  # builder -> qualnames of node/tool functions
        self._subgraph_calls: set[int] = set()
        self._subgraph_names: set[tuple] = set()
        self._assigned: dict[int, tuple] = {}  # id(compile call) -> (scope, name)
        self._interrupting: set[str] = set()
        self._callees: dict[str, set[str]] = {}
        self._entrypoints: list[tuple[cst.Decorator, str]] = []
        self._decorator_calls: set[int] = set()
        self._run_names: set[str] = set()  # names a method is called on in this module

    def _scope(self):
        return id(self.ctx.function_stack[-1]) if self.ctx.function_stack else 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for decorator in node.decorators:
            expr = decorator.decorator
            call = expr if isinstance(expr, cst.Call) else None
            construct = self.ctx.recognise.agent_construct(call) if call is not None else None
            if construct is None or not construct.spec.checkpointer_keywords:
                continue
            self._decorator_calls.add(id(call))
            if not self._has_checkpointer(call, construct.spec.checkpointer_keywords):
                self._entrypoints.append((decorator, self.ctx.function_qualname(node)))

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if isinstance(value, cst.Call) and len(node.targets) == 1:
            name = dotted_name(node.targets[0].target)
            if name is not None:
                self._assigned[id(value)] = (self._scope(), name)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name):
            self._run_names.add(node.func.value.value)  # ``graph.invoke(...)``, ``graph.stream(...)``
        qualname = self.ctx.qualname(node.func)
        if qualname is None:
            return
        current = self.ctx.current_function_qualname()
        if current is not None and qualname.startswith(self.ctx.module_name + "."):
            self._callees.setdefault(current, set()).add(qualname)
        if any(c.role == "interrupt" for c in self.ctx.knowledge.components.get(qualname)) and current:
            self._interrupting.add(current)
            return
        construct = self.ctx.recognise.agent_construct(node)
        if construct is not None:
            spec = construct.spec
            if spec.checkpointer_keywords and spec.checkpointer_method is None and id(node) not in self._decorator_calls:
                label = f"`{qualname.rsplit('.', 1)[-1]}(...)`"
                graph = _Graph(node, label, spec.checkpointer_keywords, spec.interrupt_keywords)
                graph.tools, graph.approval = self._tools_and_approval(node, spec.tools_keywords)
                self._graphs.append(graph)
            return
        if "()." not in qualname:
            return
        receiver_type, member = qualname.rsplit("().", 1)
        found = self.ctx.knowledge.agent_constructors.first(receiver_type)
        if found is None or found[1].checkpointer_method is None:
            return
        spec = found[1]
        receiver = dotted_name(node.func.value) if isinstance(node.func, cst.Attribute) else None
        builder = (self._scope(), receiver) if receiver else None
        if member == spec.checkpointer_method:
            self._graphs.append(_Graph(node, f"`{member}(...)`", spec.checkpointer_keywords,
                                       spec.interrupt_keywords, builder))
        elif builder is not None:
            for arg in node.args:  # add_node("review", review) / add_node(review_graph)
                if isinstance(arg.value, cst.Call):
                    self._subgraph_calls.add(id(arg.value))
                target = dotted_name(arg.value)
                if target is not None:
                    self._subgraph_names.add((self._scope(), target))
                    resolved = self.ctx.qualname(arg.value)
                    if resolved is not None:
                        self._nodes.setdefault(builder, []).append(resolved)

    def leave_Module(self, node: cst.Module) -> None:
        if getattr(self.settings, "langgraph_platform", False):
            return
        interrupting = set(self._interrupting)
        for caller, callees in self._callees.items():
            if callees & self._interrupting:
                interrupting.add(caller)
        for graph in self._graphs:
            if self._has_checkpointer(graph.call, graph.keywords) or self._is_subgraph(graph):
                continue
            if self._served(graph):
                continue
            reason = self._reason(graph, interrupting)
            if reason is not None:
                self.report(
                    graph.call,
                    f"{reason}, but {graph.label} has no checkpointer: the run cannot be paused "
                    "and resumed",
                )
        for decorator, function in self._entrypoints:
            if function in interrupting:
                self.report(
                    decorator,
                    f"`{function.rsplit('.', 1)[-1]}` calls `interrupt()`, but its `@entrypoint` "
                    "has no checkpointer: the run cannot be paused and resumed",
                )

    def _served(self, graph: _Graph) -> bool:
        """A graph bound to a module-level name and run nowhere in the module is loaded by
        LangGraph Platform or `langgraph dev` (its `langgraph.json` names `module:graph`), which
        compile it with their own persistent checkpointer."""
        assigned = self._assigned.get(id(graph.call))
        return assigned is not None and assigned[0] == 0 and assigned[1] not in self._run_names

    def _is_subgraph(self, graph: _Graph) -> bool:
        if id(graph.call) in self._subgraph_calls:
            return True
        assigned = self._assigned.get(id(graph.call))
        return assigned is not None and assigned in self._subgraph_names

    def _reason(self, graph: _Graph, interrupting: set[str]) -> str | None:
        for keyword in graph.interrupt_keywords:
            arg = keyword_arg(graph.call, keyword)
            if arg is not None and not _empty(arg.value):
                return f"`{keyword}=` pauses the graph"
        nodes = self._nodes.get(graph.builder, []) if graph.builder else []
        for name in nodes:
            if name in interrupting:
                return f"node `{name.rsplit('.', 1)[-1]}` calls `interrupt()`"
        for name in graph.tools:
            if name in interrupting:
                return f"tool `{name.rsplit('.', 1)[-1]}` calls `interrupt()`"
        if graph.approval is not None:
            return f"`{graph.approval}` pauses for approval"
        return None

    def _tools_and_approval(self, call: cst.Call, tools_keywords: list[str]) -> tuple[list[str], str | None]:
        """Resolved now, in the call's own scope: the tool functions and an approval middleware."""
        tools = []
        for keyword in tools_keywords:
            arg = keyword_arg(call, keyword)
            if arg is not None and isinstance(arg.value, (cst.List, cst.Tuple)):
                for element in arg.value.elements:
                    name = self.ctx.qualname(element.value)
                    if name is not None and not isinstance(element.value, cst.Call):
                        tools.append(name)
        for inner in calls_in(call):
            if inner is call:
                continue
            qualname = self.ctx.qualname(inner.func) or ""
            if any(c.role == "approval" for c in self.ctx.knowledge.components.get(qualname)):
                return tools, qualname.rsplit(".", 1)[-1]
        return tools, None

    @staticmethod
    def _has_checkpointer(call: cst.Call, keywords: list[str]) -> bool:
        if any(a.star == "**" for a in call.args):
            return True  # passed through **kwargs: cannot tell
        for keyword in keywords:
            arg = keyword_arg(call, keyword)
            if arg is not None and not is_none(arg.value) and not (
                isinstance(arg.value, cst.Name) and arg.value.value == "False"
            ):
                return True
        return False
