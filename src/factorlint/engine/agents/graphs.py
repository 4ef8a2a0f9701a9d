"""Graphs wired node by node (LangGraph's ``StateGraph``) and the agent loops their cycles make.

A builder is a variable bound to a graph constructor of the knowledge tables (``[[graphs]]``).
Its routes come from ``add_edge(a, b)``, ``add_conditional_edges(a, router, path_map)`` (the path
map, else the strings the router returns or its ``Literal[...]`` annotation) and from what each
node function returns: ``Command(goto="b")``, ``Send("b", ...)``, a ``Command[Literal["b"]]``
annotation. A cycle is a set of nodes that reach each other (a strongly connected component, or
a node that routes to itself); it is an agent loop when one of its nodes calls a model.

A cycle is bounded when one of its nodes leaves it (to ``END`` or a node outside the cycle) under
a test that reads a counter or a budget (``if iterations > max_iterations: return
Command(goto=END)``); a node that calls ``interrupt()`` hands each turn to a person. Otherwise
only the framework's recursion limit stops it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.agents.loop_body import paths_in
from factorlint.engine.agents.loops import DEFAULT_BUDGET_PATTERN
from factorlint.engine.parse.walk import find_all, run_visitor
from factorlint.engine.semantic.names import dotted_name, literal_string
from factorlint.knowledge_schema import GraphSpec

_MAX_NODES = 200
_END = "__end__"
_START = "__start__"


@dataclass
class GraphCycle:
    builder: cst.Call  # the constructor call, where the inventory places the loop
    builder_name: str
    nodes: tuple[str, ...]  # the nodes of the cycle, in the order they were added
    requires: tuple[str, ...]  # () when a node certainly calls a model
    bounded: bool
    bound: str
    human_gated: bool


@dataclass
class _Graph:
    call: cst.Call
    spec: GraphSpec
    framework: str
    nodes: dict[str, cst.FunctionDef | None] = field(default_factory=dict)
    edges: dict[str, set[str]] = field(default_factory=dict)

    def route(self, source: str, target: str) -> None:
        self.edges.setdefault(source, set()).add(target)


def graph_cycles(ctx) -> list[GraphCycle]:
    """The module's graph cycles that call a model, found on first use."""
    return ctx.analysis(find_graph_cycles)


def find_graph_cycles(ctx) -> list[GraphCycle]:
    index = ctx.knowledge.graph_builders
    roots = {pattern.split(".", 1)[0] for pattern in (*index.exact, *(p for _, p, _ in index.globs))}
    # Only a module that imports a graph library can build a graph: the others are not walked.
    builds = any(module.split(".", 1)[0] in roots for module in ctx.scan.imported_modules)
    return _GraphScan(ctx).cycles() if builds else []


class _GraphScan:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.graphs: dict[str, _Graph] = {}
        self.budget = re.compile(getattr(ctx.settings, "budget_name_pattern", None) or DEFAULT_BUDGET_PATTERN)

    def cycles(self) -> list[GraphCycle]:
        run_visitor(self.ctx.module, _Wiring(self))
        found = []
        for name, graph in self.graphs.items():
            if len(graph.nodes) > _MAX_NODES:
                continue  # no hand-wired agent graph is this large; keep the search cheap
            for node, function in graph.nodes.items():
                if function is not None:
                    for target in self._routes_of(function, graph.spec):
                        graph.route(node, target)
            for component in _cycles(graph):
                cycle = self._judge(name, graph, component)
                if cycle is not None:
                    found.append(cycle)
        return found

    # -- wiring ------------------------------------------------------------------------------

    def _builder(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.value, cst.Call):
            return
        name = dotted_name(node.targets[0].target)
        qualname = self.ctx.qualname(node.value.func)
        matched = self.ctx.knowledge.graph_builders.first(qualname) if qualname else None
        if name and matched is not None:
            framework, spec = matched
            self.graphs[name] = _Graph(node.value, spec, framework.title)

    def _wiring(self, call: cst.Call) -> None:
        if not isinstance(call.func, cst.Attribute):
            return
        graph = self.graphs.get(dotted_name(call.func.value) or "")
        if graph is None:
            return
        method = call.func.attr.value
        args = [a.value for a in call.args if a.keyword is None]
        spec = graph.spec
        if method == spec.add_node and args:
            function = args[1] if len(args) >= 2 else args[0]
            if len(args) >= 2:
                node_name = self._node_name(args[0], spec)
            else:
                node_name = function.value if isinstance(function, cst.Name) else None
            if node_name is not None:
                graph.nodes[node_name] = self._function(function)
        elif method == spec.add_edge and len(args) >= 2:
            first = args[0]
            sources = [e.value for e in first.elements] if isinstance(first, (cst.List, cst.Tuple)) else [first]
            target = self._node_name(args[1], spec)
            for source in sources:
                source_name = self._node_name(source, spec)
                if source_name is not None and target is not None:
                    graph.route(source_name, target)
        elif method == spec.conditional_edges and len(args) >= 2:
            router_source = self._node_name(args[0], spec)
            path_map = args[2] if len(args) >= 3 else next(
                (a.value for a in call.args if a.keyword is not None and a.keyword.value == "path_map"), None)
            targets = self._targets(path_map, spec) if path_map is not None else set()
            if not targets:
                router = self._function(args[1])
                targets = self._routes_of(router, spec) if router is not None else set()
            for target in targets:
                if router_source is not None:
                    graph.route(router_source, target)

    def _node_name(self, value: cst.BaseExpression, spec: GraphSpec) -> str | None:
        text = literal_string(value)
        if text is not None:
            return text
        qualname = self.ctx.qualname(value) or ""
        if qualname in spec.end or (isinstance(value, cst.Name) and value.value == "END"):
            return _END
        if qualname in spec.start or (isinstance(value, cst.Name) and value.value == "START"):
            return _START
        return None

    def _function(self, value: cst.BaseExpression) -> cst.FunctionDef | None:
        if not isinstance(value, cst.Name):
            return None
        return self.ctx.scan.module_functions.get(value.value)

    # -- what a node or a router routes to ---------------------------------------------------

    def _targets(self, value: cst.BaseExpression, spec: GraphSpec) -> set[str]:
        """Node names in a route expression: a string, END, a list, a dict's values, Send(...)."""
        found: set[str] = set()
        if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            for element in value.elements:
                found |= self._targets(element.value, spec)
        elif isinstance(value, cst.Dict):
            for entry in value.elements:
                if isinstance(entry, cst.DictElement):
                    found |= self._targets(entry.value, spec)
        elif isinstance(value, (cst.ListComp, cst.GeneratorExp)):
            found |= self._targets(value.elt, spec)
        elif isinstance(value, cst.Call) and (self.ctx.qualname(value.func) or "") in spec.sends and value.args:
            found |= self._targets(value.args[0].value, spec)
        else:
            name = self._node_name(value, spec)
            if name is not None:
                found.add(name)
        return found

    def _routes_of(self, function: cst.FunctionDef, spec: GraphSpec) -> set[str]:
        """Where a node or router sends the run: its ``Command(goto=...)``, its returned names and
        sends, and the ``Literal[...]`` of its return annotation."""
        found = self._gotos(function, spec)
        for returned in find_all(function, cst.Return, into_scopes=False):
            value = returned.value
            # A returned call routes only when it is a Send; Command(...) is read by _gotos.
            if value is not None and (
                not isinstance(value, cst.Call) or (self.ctx.qualname(value.func) or "") in spec.sends
            ):
                found.update(self._targets(value, spec))
        if function.returns is not None:
            for text in re.findall(r"""["']([^"']+)["']""", self.ctx.code_for(function.returns.annotation)):
                found.add(text)
        return found

    # -- the verdict on one cycle ----------------------------------------------------------

    def _judge(self, name: str, graph: _Graph, component: list[str]) -> GraphCycle | None:
        from factorlint.engine.recognise.retries import combine, llm_in_function

        functions = [graph.nodes[n] for n in component if graph.nodes.get(n) is not None]
        requires = combine(llm_in_function(self.ctx, f) for f in functions if f is not None)
        if requires is None:
            return None
        members = set(component)
        human = any(self._interrupts(f, graph.spec) for f in functions if f is not None)
        bound = next((b for f in functions if f is not None for b in [self._exit_bound(f, graph.spec, members)] if b), "")
        if human:
            reason = "a node waits for a person (`interrupt()`) every turn"
        elif bound:
            reason = bound
        else:
            reason = f"only {graph.framework}'s recursion limit stops it"
        return GraphCycle(
            graph.call, name, tuple(component), requires, bounded=bool(bound) or human,
            bound=reason, human_gated=human,
        )

    def _gotos(self, node: cst.CSTNode, spec: GraphSpec) -> set[str]:
        """The targets of the ``Command(goto=...)`` calls in ``node`` (nested functions aside)."""
        found: set[str] = set()
        for call in find_all(node, cst.Call, into_scopes=False):
            if (self.ctx.qualname(call.func) or "") in spec.commands:
                for arg in call.args:
                    if arg.keyword is not None and arg.keyword.value == spec.goto_keyword:
                        found |= self._targets(arg.value, spec)
        return found

    def _interrupts(self, function: cst.FunctionDef, spec: GraphSpec) -> bool:
        return any((self.ctx.qualname(c.func) or "") in spec.interrupts for c in find_all(function, cst.Call))

    def _exit_bound(self, function: cst.FunctionDef, spec: GraphSpec, members: set[str]) -> str:
        """A way out of the cycle under a test that reads a counter or a budget."""
        ifs = _BudgetExits(self, spec, members)
        run_visitor(function, ifs)
        return ifs.found


class _Wiring(cst.CSTVisitor):
    """Hands every assignment (a graph builder) and call (a node or an edge) to the scan."""

    def __init__(self, scan: _GraphScan) -> None:
        self.scan = scan

    def visit_Assign(self, node: cst.Assign) -> None:
        self.scan._builder(node)

    def visit_Call(self, node: cst.Call) -> None:
        self.scan._wiring(node)


class _BudgetExits(cst.CSTVisitor):
    """The first ``if`` on a budget whose body goes to a node outside the cycle's ``members``."""

    def __init__(self, scan: _GraphScan, spec: GraphSpec, members: set[str]) -> None:
        self.scan = scan
        self.spec = spec
        self.members = members
        self.found = ""

    def visit_If(self, node: cst.If) -> None:
        if self.found:
            return
        budget = next((p for p in _names_read(node.test) if self.scan.budget.search(p.rsplit(".", 1)[-1])), None)
        if budget is None:
            return
        leaves = self.scan._gotos(node.body, self.spec) - self.members
        if leaves:
            self.found = f"a node leaves the cycle on a budget check (`{budget}`)"


def _names_read(test: cst.BaseExpression) -> list[str]:
    """Paths and the string keys of state lookups (``state["steps"]``, ``state.get("steps")``)."""
    keys = _StateKeys(sorted(paths_in(test)))
    run_visitor(test, keys)
    return keys.names


class _StateKeys(cst.CSTVisitor):
    """Appends to ``names`` the string keys of subscripts and ``.get(...)`` calls."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def visit_SubscriptElement(self, node: cst.SubscriptElement) -> None:
        if isinstance(node.slice, cst.Index):
            key = literal_string(node.slice.value)
            if key is not None:
                self.names.append(key)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "get" and node.args:
            key = literal_string(node.args[0].value)
            if key is not None:
                self.names.append(key)


def _cycles(graph: _Graph) -> list[list[str]]:
    """Strongly connected components with a cycle (Tarjan), nodes in the order they were added."""
    order = {name: i for i, name in enumerate(graph.nodes)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        # Iterative enough for real graphs (tens of nodes); depth is the longest simple path.
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.edges.get(node, ())):
            if nxt not in order:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.edges.get(node, ()):
                found.append(sorted(component, key=order.__getitem__))

    for name in graph.nodes:
        if name not in index:
            visit(name)
    return found
