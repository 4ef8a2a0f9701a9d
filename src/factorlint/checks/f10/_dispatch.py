"""Dispatch on the model's choice inside an agent loop (for TFA1004): which names carry the
model's reply, and the ``match`` cases, compared values and table look-ups made on them."""

from __future__ import annotations

import libcst as cst

from factorlint.engine.agents.agents_shape import count_items, resolve
from factorlint.engine.agents.loop_body import paths_in
from factorlint.engine.parse.walk import ScopeVisitor, run_visitor, walk
from factorlint.engine.recognise.recognisers import keyword_arg
from factorlint.engine.semantic.names import literal_string


def roots(node: cst.CSTNode) -> set[str]:
    return {path.split(".", 1)[0] for path in paths_in(node)}


def derived_names(body: cst.CSTNode, seeds: dict[int, bool], names: set[str]) -> set[str]:
    """Names holding the model's reply (or a helper's parameters), and what is computed from them.

    ``seeds`` maps the model calls (by id) to whether they stream; the chunks of a streamed reply
    (``for chunk in stream``) are transport events, not the model's choice, and are left out.
    """
    collect = _Bindings()
    run_visitor(body, collect)
    bindings = collect.found
    streams = {
        name for targets, value, _ in bindings if seeds.get(id(_unwrap(value))) for name in targets
    }
    derived = set(names)
    kept = []
    for targets, value, is_for in bindings:
        iterated = _unwrap(value)
        if is_for and (seeds.get(id(iterated)) or (isinstance(iterated, cst.Name) and iterated.value in streams)):
            continue
        if _contains(value, set(seeds)):
            derived |= targets
        kept.append((targets, value))
    changed = True
    while changed:
        changed = False
        for targets, value in kept:
            if not targets <= derived and roots(value) & derived:
                derived |= targets
                changed = True
    return derived


def _unwrap(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.expression if isinstance(node, cst.Await) else node


def streams(ctx, call: cst.Call) -> bool:
    """Does the model call stream its reply (``stream=True``, ``.stream(...)``, ``.astream(...)``)?"""
    arg = keyword_arg(call, "stream")
    if arg is not None:
        return isinstance(arg.value, cst.Name) and arg.value.value == "True"
    return isinstance(call.func, cst.Attribute) and call.func.attr.value in ("stream", "astream")


class _Bindings(cst.CSTVisitor):
    """(targets, value, is a for) for each binding of a scope (nested functions and lambdas are
    others' scopes)."""

    def __init__(self) -> None:
        self.found: list[tuple[set[str], cst.BaseExpression, bool]] = []

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        targets = set().union(*(roots(t.target) for t in node.targets))
        self.found.append((targets, node.value, False))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.found.append((roots(node.target), node.value, False))

    def visit_For(self, node: cst.For) -> None:
        self.found.append((roots(node.target), node.iter, True))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.found.append((roots(node.target), node.value, False))

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self.found.append((roots(node.asname.name), node.item, False))


def _contains(node: cst.CSTNode, ids: set[int]) -> bool:
    if not ids:
        return False
    return any(id(inner) in ids for inner in walk(node))


class DispatchScan(ScopeVisitor):
    """Dispatches on a model-derived subject: compared values, match cases, table look-ups."""

    def __init__(self, ctx, derived: set[str]) -> None:
        self.ctx = ctx
        self.derived = derived
        self.calls: list[cst.Call] = []
        self.compared: dict[str, tuple[cst.CSTNode, set[str]]] = {}  # subject -> (first node, values)
        self.other: list[tuple[cst.CSTNode, str, int]] = []

    def _subject(self, node: cst.BaseExpression) -> str | None:
        if roots(node) & self.derived:
            return self.ctx.code_for(node).strip()
        return None

    def _add(self, node: cst.CSTNode, subject: str, values: set[str]) -> None:
        _first, known = self.compared.setdefault(subject, (node, set()))
        known |= values

    def visit_If(self, node: cst.If) -> None:
        test = node.test
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            values = _string_values(target.comparator)
            if isinstance(target.operator, (cst.Equal, cst.In)) and values:
                subject = self._subject(test.left)
                if subject is not None:
                    self._add(node, subject, values)
        elif isinstance(test, cst.Call) and self.ctx.qualname(test.func) == "builtins.isinstance" and len(test.args) == 2:
            subject = self._subject(test.args[0].value)
            if subject is not None:
                self._add(node, subject, {self.ctx.code_for(test.args[1].value)})

    def visit_Match(self, node: cst.Match) -> None:
        if self._subject(node.subject) is None:
            return
        count = sum(_pattern_count(case.pattern) for case in node.cases)
        self.other.append((node, "cases", count))

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "get" and node.args:
            self._table(node, func.value, node.args[0].value)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            self._table(node, node.value, node.slice[0].slice.value)

    def _table(self, node: cst.CSTNode, table: cst.BaseExpression, key: cst.BaseExpression) -> None:
        if self._subject(key) is None or not isinstance(table, (cst.Name, cst.Attribute)):
            return
        value = resolve(self.ctx, table)
        if isinstance(value, (cst.Dict, cst.DictComp)):
            count, _ = count_items(self.ctx, value)
            self.other.append((node, "table entries", count))

    def results(self):
        for node, values in self.compared.values():
            yield node, "compared values", len(values)
        yield from self.other


def _string_values(node: cst.BaseExpression) -> set[str]:
    text = literal_string(node)
    if text is not None:
        return {text}
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        values = {literal_string(e.value) for e in node.elements}
        return set() if None in values else values
    return set()


def _pattern_count(pattern: cst.MatchPattern) -> int:
    if isinstance(pattern, cst.MatchOr):
        return sum(_pattern_count(p.pattern) for p in pattern.patterns)
    if isinstance(pattern, cst.MatchAs):
        return _pattern_count(pattern.pattern) if pattern.pattern is not None else 0
    if isinstance(pattern, cst.MatchValue):
        return 1 if literal_string(pattern.value) is not None else 0
    if isinstance(pattern, (cst.MatchClass, cst.MatchMapping)):
        return 1
    return 0
