"""The value-flow index of one function: what each name is bound to, where values go, and what
decides whether each call runs.

One walk of a function body (nested functions and classes are their own scopes) records every
binding of a name (assignments, ``for`` targets, ``with ... as``, parameters), the assignments
and loops in source order, the calls with the tests and loops that guard them, and the uses that
tell a string from an object (attributes, subscripts, comparisons, concatenations, returns).

It is built on demand, once per function per file (``FileContext.flow``), and read by every analysis
that follows values inside a function: the model-reply tracker (:mod:`responses`), the tool-call
readers of factor 4, agent loops written as recursion (:mod:`recursion`), and the rules that
trace a name to what it holds. The taint analysis (:mod:`taint_walk`) is the one flow-sensitive
analysis: it interprets statements in order with branch merges, which an index cannot answer.
"""

from __future__ import annotations

import libcst as cst

from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.semantic.names import dotted_name, literal_string, paths_in

Scope = cst.FunctionDef | cst.Module


class FunctionFlow(cst.CSTVisitor):
    """Bindings and uses of names in one function body (or the module's own statements); nested
    functions, lambdas and classes are their own scopes."""

    def __init__(self, root: Scope) -> None:
        self.root = root
        self.bindings: dict[str, list[tuple[str, cst.BaseExpression | None]]] = {}
        self.attributes: list[cst.Attribute] = []  # ``name.attr`` uses
        self.called: set[int] = set()  # id(call.func) of every call
        self.subscripts: list[cst.Subscript] = []
        self.comparisons: list[cst.Comparison] = []
        self.calls: list[cst.Call] = []
        self.concatenations: list[cst.BinaryOperation] = []
        self.returns: list[cst.Return] = []
        self.yields = False
        # ``opts["k"] = v`` / ``opts.update(k=v)``: keys added to a dict later (None: unknown key)
        self.added_keys: dict[str, list[str | None]] = {}
        # In source order: ``(names, value)`` of each assignment with a value (plain names of the
        # targets; ``self.x`` and subscripts give none) and ``(target, iterable)`` of each loop.
        self.assigns: list[tuple[list[str], cst.BaseExpression]] = []
        # The names each assignment (``for`` targets included) binds, with the tests and loops
        # that decide whether it runs: a name set only when the model's reply says so depends on it.
        self.decided: list[tuple[list[str], tuple[cst.CSTNode, ...]]] = []
        self.nested: list[cst.FunctionDef] = []  # functions defined directly in this one
        self.nonlocals: set[str] = set()  # names this function writes in its enclosing one
        self.loops: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        # Attribute paths moved by a step (``session.budget -= 1``): counters that outlive the call.
        self.counted: set[str] = set()
        # id(call) -> what decides whether it runs: the tests of the ``if``/``while`` and the
        # ``for`` statements around it, innermost last.
        self.guards: dict[int, tuple[cst.CSTNode, ...]] = {}
        self._deciding: list[cst.CSTNode] = []
        if isinstance(root, cst.FunctionDef):
            params = root.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                self._bind(param.name.value, "other", None)
            for star in (params.star_arg, params.star_kwarg):
                if isinstance(star, cst.Param):
                    self._bind(star.name.value, "other", None)

    def _bind(self, name: str, kind: str, value: cst.BaseExpression | None) -> None:
        self.bindings.setdefault(name, []).append((kind, value))

    def _bind_target(self, target: cst.BaseExpression, kind: str, value) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, kind, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, "other", None)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, "other", None)

    def visit_FunctionDef(self, node) -> bool:
        if node is self.root:
            return True
        self.nested.append(node)
        return False

    def _decide(self, names: list[str]) -> None:
        if self._deciding and names:
            self.decided.append((names, tuple(self._deciding)))

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        names = [n for t in node.targets for n in target_names(t.target)]
        self.assigns.append((names, node.value))
        self._decide(names)
        for target in node.targets:
            self._bind_target(target.target, "value", node.value)
            sub = target.target
            if isinstance(sub, cst.Subscript) and isinstance(sub.value, cst.Name) and len(sub.slice) == 1:
                index = sub.slice[0].slice
                key = literal_string(index.value) if isinstance(index, cst.Index) else None
                self.added_keys.setdefault(sub.value.value, []).append(key)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.assigns.append((target_names(node.target), node.value))
            self._decide(target_names(node.target))
        self._bind_target(node.target, "value" if node.value is not None else "other", node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        # ``response += chunk_text``: the name holds what is added to it (a streamed reply is
        # built up this way); any other operator makes something else.
        if isinstance(node.operator, cst.AddAssign):
            self._bind_target(node.target, "value", node.value)
        else:
            self._bind_target(node.target, "other", None)
        if isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)) and isinstance(node.target, cst.Attribute):
            path = dotted_name(node.target)
            if path is not None and isinstance(node.value, cst.Integer):
                self.counted.add(path)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.assigns.append((target_names(node.target), node.value))
        self._decide(target_names(node.target))
        self._bind_target(node.target, "value", node.value)

    def _bind_iteration(self, target: cst.BaseExpression, iterable: cst.BaseExpression) -> None:
        # ``for i, call in enumerate(calls)``: ``call`` is an element of ``calls``.
        if (
            isinstance(target, cst.Tuple)
            and len(target.elements) == 2
            and isinstance(iterable, cst.Call)
            and isinstance(iterable.func, cst.Name)
            and iterable.func.value == "enumerate"
            and iterable.args
        ):
            self._bind_target(target.elements[0].value, "other", None)
            self._bind_target(target.elements[1].value, "iter", iterable.args[0].value)
            return
        self._bind_target(target, "iter", iterable)

    def visit_For(self, node: cst.For) -> None:
        self.loops.append((node.target, node.iter))
        self._bind_iteration(node.target, node.iter)
        self._deciding.append(node)
        self._decide(target_names(node.target))

    def leave_For(self, node: cst.For) -> None:
        self._deciding.pop()

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.loops.append((node.target, node.iter))
        self._bind_iteration(node.target, node.iter)

    def visit_If(self, node: cst.If) -> None:
        self._deciding.append(node.test)

    def leave_If(self, node: cst.If) -> None:
        self._deciding.pop()

    def visit_While(self, node: cst.While) -> None:
        self._deciding.append(node.test)

    def leave_While(self, node: cst.While) -> None:
        self._deciding.pop()

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name, "value", node.item)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name, "other", None)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self._bind(item.name.value, "other", None)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for item in node.names:
            self._bind(item.name.value, "other", None)
            self.nonlocals.add(item.name.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name):
            self.attributes.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        self.called.add(id(node.func))
        self.calls.append(node)
        if self._deciding:
            self.guards[id(node)] = tuple(self._deciding)
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and (
            func.attr.value in ("update", "setdefault", "__setitem__")
        ):
            keys = self.added_keys.setdefault(func.value.value, [])
            if func.attr.value == "update":
                for arg in node.args:
                    if arg.keyword is not None:
                        keys.append(arg.keyword.value)
                    elif isinstance(arg.value, cst.Dict) and not arg.star:
                        keys.extend(dict_keys(arg.value) or [None])
                    else:
                        keys.append(None)
            elif node.args:
                keys.append(literal_string(node.args[0].value))

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self.subscripts.append(node)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        self.comparisons.append(node)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Add):
            self.concatenations.append(node)

    def visit_Return(self, node: cst.Return) -> None:
        self.returns.append(node)

    def visit_Yield(self, node) -> None:
        self.yields = True

    def derived(self, names: set[str]) -> set[str]:
        """``names`` and every name whose value depends on them: assigned from an expression
        that reads one (``results = await asyncio.gather(*tasks)``), a ``for`` target over one,
        or assigned only under a test or loop that reads one (``retry = True`` inside ``if
        install(reply).ok:``). Flow-insensitive, over the whole function."""
        found = set(names)
        reads: dict[int, set[str]] = {}

        def read(node: cst.CSTNode) -> set[str]:
            cached = reads.get(id(node))
            if cached is None:
                paths = paths_in(node.iter) | paths_in(node.target) if isinstance(node, cst.For) else paths_in(node)
                reads[id(node)] = cached = {p.split(".", 1)[0] for p in paths}
            return cached

        edges: list[tuple[set[str], tuple[cst.CSTNode, ...]]] = [
            (set(targets), (value,)) for targets, value in self.assigns if targets
        ]
        edges += [(set(target_names(target)), (iterable,)) for target, iterable in self.loops]
        edges += [(set(targets), deciding) for targets, deciding in self.decided]
        changed = True
        while changed:
            changed = False
            for targets, sources in edges:
                if targets and not targets <= found and any(read(node) & found for node in sources):
                    found |= targets
                    changed = True
        return found

    def results(self, call: cst.Call) -> set[str]:
        """The plain names ``call``'s result (awaited or not) is assigned to."""
        names: set[str] = set()
        for targets, value in self.assigns:
            if (value.expression if isinstance(value, cst.Await) else value) is call:
                names.update(targets)
        return names


def target_names(target: cst.BaseExpression) -> list[str]:
    """The plain names an assignment target binds (``a``, ``a, b``, ``[a, *rest]``)."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for element in target.elements for n in target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return []


def build_flow(scope: Scope) -> FunctionFlow:
    """The flow index of ``scope`` (a function, or the module's own statements). Built through
    ``FileContext.flow``, which keeps one per function for every analysis and rule that asks."""
    found = FunctionFlow(scope)
    if isinstance(scope, cst.FunctionDef):
        run_visitor(scope.body, found)
    else:
        for statement in scope.body:
            run_visitor(statement, found)
    return found


def dict_keys(node: cst.Dict) -> list[str] | None:
    keys: list[str] = []
    for element in node.elements:
        if not isinstance(element, cst.DictElement):
            return None  # ``{**base}``
        key = literal_string(element.key)
        if key is None:
            return None
        keys.append(key)
    return keys


def is_placeholder(value: cst.BaseExpression | None) -> bool:
    """``None``, ``""``, ``[]``, ``{}``, ``()``: an initial value, not a source."""
    if value is None:
        return True
    if isinstance(value, cst.Name) and value.value == "None":
        return True
    if isinstance(value, (cst.List, cst.Tuple, cst.Dict, cst.Set)) and not value.elements:
        return True
    return literal_string(value) == ""


def is_identifier_like(text: str) -> bool:
    """``"error"``, ``"tool_calls"``: a literal that reads like a dict key rather than prose."""
    return text.isidentifier() and text == text.lower()


def compares_as_text(compare: cst.Comparison, name: str) -> bool:
    """``name == "yes"``, ``"DONE" in name``, ``name in ("y", "yes")``."""
    operands = [compare.left, *(c.comparator for c in compare.comparisons)]
    for position, target in enumerate(compare.comparisons):
        left, right = operands[position], operands[position + 1]
        op = target.operator
        for mine, other in ((left, right), (right, left)):
            if not (isinstance(mine, cst.Name) and mine.value == name):
                continue
            if isinstance(op, (cst.Equal, cst.NotEqual)) and literal_string(other):
                return True
            if isinstance(op, (cst.In, cst.NotIn)):
                if mine is right:
                    text = literal_string(other)
                    if text and not is_identifier_like(text):
                        return True
                elif isinstance(other, (cst.Tuple, cst.List, cst.Set)) and other.elements and all(
                    literal_string(e.value) for e in other.elements
                ):
                    return True
    return False
