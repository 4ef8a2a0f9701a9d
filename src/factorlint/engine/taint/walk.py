"""The statement walk behind :mod:`taint`: one function, forward, branches merged, loops run twice.

The state maps a variable or an attribute path (``reply``, ``self.code``) to its :class:`Taint`.
Each statement is checked against the state before it (sinks, calls into same-file functions,
prompt sites), then updates the state (assignments, ``x.append(...)``, ``x += ...``).
"""

from __future__ import annotations

import functools
from dataclasses import replace

import libcst as cst

from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.semantic.names import dotted_name
from factorlint.engine.taint.model import (
    _MUTATORS,
    _SAFE_ANNOTATIONS,
    Result,
    Source,
    Taint,
    _exits,
    _merge,
    _statements,
    union,
)
from factorlint.engine.taint.sinks import SinkChecks
from factorlint.engine.taint.values import TaintValues, _lookup

_MEMBERSHIP = {cst.In: True, cst.NotIn: False}
_EQUALITY = {cst.Equal: True, cst.Is: True, cst.NotEqual: False, cst.IsNot: False}


class _Paths(cst.CSTVisitor):
    """Names and attribute paths in an expression."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.paths.append(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        path = dotted_name(node)
        if path:
            self.paths.append(path)


def _key_for(path: str, state: dict) -> str | None:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut])
        if key in state:
            return key
    return None


class Walk(SinkChecks, TaintValues):
    def __init__(self, analyser, function: cst.FunctionDef | None) -> None:
        self.a = analyser
        self.ctx = analyser.ctx
        self.k = analyser.knowledge
        self.function = function
        self.result = Result()

    # -- sources ----------------------------------------------------------------------------

    def parameters(self) -> dict:
        state: dict[str, Taint] = {}
        assert self.function is not None, "module-level code has no parameters (see TaintAnalyser)"
        params = self.function.params
        ordered = [*params.posonly_params, *params.params, *params.kwonly_params]
        method = self.ctx.scan.class_of_function.get(id(self.function)) is not None
        for index, param in enumerate(ordered):
            name = param.name.value
            if index == 0 and method and name in ("self", "cls"):
                continue
            if param.annotation is not None and self._safe_annotation(param.annotation.annotation):
                continue
            state[name] = self._param(name)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                state[star.name.value] = self._param(star.name.value)
        return state

    @staticmethod
    def _param(name: str) -> Taint:
        return Taint(frozenset({Source("param", f"the parameter `{name}`", param=name)}))

    def _safe_annotation(self, annotation: cst.BaseExpression) -> bool:
        """Numbers and booleans carry no text; framework context objects are not the model's."""
        if isinstance(annotation, cst.Name) and annotation.value in _SAFE_ANNOTATIONS:
            return True
        if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
            sides = [s for s in (annotation.left, annotation.right)
                     if not (isinstance(s, cst.Name) and s.value == "None")]
            return bool(sides) and all(self._safe_annotation(s) for s in sides)
        if isinstance(annotation, cst.Subscript):  # RunContext[Deps], ToolContext[...]
            generic = self.ctx.qualname(annotation.value)
            if generic is not None and self.k.is_framework_module(generic):
                return True
        type_qn = self.ctx.annotation_type(annotation)
        return type_qn is not None and self.k.is_framework_module(type_qn)

    def _source(self, call: cst.Call, qualname: str | None) -> Source | None:
        recognise = self.ctx.recognise
        llm = recognise.llm_call(call)
        if llm is not None and llm.certain:
            return Source("model", f"the reply of `{self._text(call.func)}`")
        if recognise.handoff(call) is not None:
            return Source("model", f"the result of `{self._text(call.func)}`")
        if qualname and any(s.kind == "fetch" and s.untrusted_result for s in self.k.sinks.get(qualname)):
            return Source("web", f"the response of `{self._text(call.func)}`")
        return None

    def _text(self, node: cst.CSTNode) -> str:
        text = dotted_name(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
        text = text or " ".join(self.ctx.code_for(node).split())
        return text if len(text) <= 60 else text[:57] + "..."

    # -- statements -------------------------------------------------------------------------

    def block(self, statements: list, state: dict) -> dict:
        for statement in statements:
            state = self.statement(statement, state)
        return state

    def statement(self, node: cst.CSTNode, state: dict) -> dict:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                state = self.small(small, state)
            return state
        if isinstance(node, cst.If):
            return self._if(node, state)
        if isinstance(node, cst.For):
            self.scan(node.iter, state)
            element = self.value(node.iter, state)
            loop = dict(state)
            for _ in range(2):
                inner = dict(loop)
                self.bind(node.target, element, inner)
                loop = _merge(loop, self.block(_statements(node.body), inner))
            return self._orelse(node, loop)
        if isinstance(node, cst.While):
            self.scan(node.test, state)
            loop = dict(state)
            for _ in range(2):
                loop = _merge(loop, self.block(_statements(node.body), dict(loop)))
            return self._orelse(node, loop)
        if isinstance(node, (cst.Try, cst.TryStar)):
            body = self.block(_statements(node.body), dict(state))
            after = _merge(state, body)
            outs = [self.block(_statements(node.orelse.body), body) if node.orelse else body]
            for handler in node.handlers:
                outs.append(self.block(_statements(handler.body), dict(after)))
            merged = functools.reduce(_merge, outs)
            if node.finalbody is not None:
                merged = self.block(_statements(node.finalbody.body), merged)
            return merged
        if isinstance(node, cst.With):
            state = dict(state)
            for item in node.items:
                self.scan(item.item, state)
                if item.asname is not None:
                    self.bind(item.asname.name, self.value(item.item, state), state)
            return self.block(_statements(node.body), state)
        if isinstance(node, cst.Match):
            self.scan(node.subject, state)
            outs = [state] + [self.block(_statements(c.body), dict(state)) for c in node.cases]
            return functools.reduce(_merge, outs)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            state = dict(state)
            state.pop(node.name.value, None)
        return state

    def _orelse(self, node, state: dict) -> dict:
        if node.orelse is None:
            return state
        return self.block(_statements(node.orelse.body), state)

    def _if(self, node: cst.If, state: dict) -> dict:
        self.scan(node.test, state)
        guards = self._guards(node.test, state)
        body_statements = _statements(node.body)
        body = self.block(body_statements, self._mark(state, guards, True))
        else_in = self._mark(state, guards, False)
        if isinstance(node.orelse, cst.If):
            other = self._if(node.orelse, else_in)
        elif isinstance(node.orelse, cst.Else):
            other = self.block(_statements(node.orelse.body), else_in)
            if _exits(_statements(node.orelse.body)):
                return body
        else:
            other = else_in
        if _exits(body_statements):
            return other
        return _merge(body, other)

    def _guards(self, test: cst.BaseExpression, state: dict) -> list[tuple[str, bool, bool]]:
        """What a test tells about tainted values: (state key, holds when the test is true, strong).

        ``cmd in ALLOWED`` / ``action == "deploy"`` (strong): the value is one of the program's.
        ``is_allowed(url)`` / ``url.startswith(...)`` (weak): the value was checked somehow.
        """
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return [(key, not when, strong) for key, when, strong in self._guards(test.expression, state)]
        if isinstance(test, cst.BooleanOperation):
            both = self._guards(test.left, state) + self._guards(test.right, state)
            keep = isinstance(test.operator, cst.And)  # and: true parts hold; or: false parts hold
            return [g for g in both if g[1] is keep]
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            operator = type(test.comparisons[0].operator)
            if operator in _MEMBERSHIP:
                if self.value(test.comparisons[0].comparator, state) is not None:
                    return []  # ``"rm" in cmd`` or membership in the model's own list
                return [(k, _MEMBERSHIP[operator], True) for k in self._keys(test.left, state)]
            if operator in _EQUALITY:
                sides = (test.left, test.comparisons[0].comparator)
                if any(self.value(side, state) is None for side in sides):
                    return [(k, _EQUALITY[operator], True) for side in sides for k in self._keys(side, state)]
            return []
        if isinstance(test, cst.Call):
            return [(k, True, False) for k in self._keys(test, state)]
        return []

    @staticmethod
    def _keys(node: cst.CSTNode, state: dict) -> list[str]:
        finder = _Paths()
        run_visitor(node, finder)
        return list(dict.fromkeys(k for p in finder.paths if (k := _key_for(p, state)) is not None))

    @staticmethod
    def _mark(state: dict, guards: list, when: bool) -> dict:
        state = dict(state)
        for key, holds, strong in guards:
            if holds is when and key in state:
                state[key] = replace(state[key], checked=True, allowed=state[key].allowed or strong)
        return state

    def small(self, node: cst.CSTNode, state: dict) -> dict:
        self.scan(node, state)
        if isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None:
            taint = self.value(node.value, state)
            state = dict(state)
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            for target in targets:
                self.bind(target, taint, state, node.value)
        elif isinstance(node, cst.AugAssign):
            taint = self.value(node.value, state)
            path = dotted_name(node.target) or dotted_name(getattr(node.target, "value", node.target))
            if taint is not None and path:
                state = dict(state)
                state[path] = replace(taint.union(_lookup(path, state)), interpolated=True)
        elif isinstance(node, cst.Expr):
            state = self._expression_statement(node.value, state)
        elif isinstance(node, cst.Return) and node.value is not None:
            self.result.returns = union(self.result.returns, self.value(node.value, state))
        elif isinstance(node, cst.Assert):
            state = self._mark(state, self._guards(node.test, state), True)
        elif isinstance(node, cst.Del):
            state = dict(state)
            self.bind(node.target, None, state)
        return state

    def _expression_statement(self, value: cst.BaseExpression, state: dict) -> dict:
        if isinstance(value, cst.Await):
            value = value.expression
        if not isinstance(value, cst.Call):
            return state
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value in _MUTATORS:
            path = dotted_name(func.value)
            taint = union(*(self.value(a.value, state) for a in value.args))
            if path and taint is not None:
                state = dict(state)
                state[path] = taint.union(_lookup(path, state))
            return state
        # ``check_url(url)`` on its own line: a project check that raises on a bad value.
        qualname = self.ctx.qualname(func)
        if (qualname and self.a._local_def(qualname) is not None) or (
            isinstance(func, cst.Name) and qualname and self.ctx.is_project_candidate(qualname)
        ):
            keys = [k for a in value.args if (p := dotted_name(a.value)) and (k := _key_for(p, state))]
            state = self._mark(state, [(k, True, False) for k in keys], True)
        return state

    def bind(self, target, taint: Taint | None, state: dict, value=None) -> None:
        if isinstance(target, (cst.Name, cst.Attribute)):
            path = dotted_name(target)
            if not path:
                return
            for key in [k for k in state if k == path or k.startswith(path + ".")]:
                del state[key]
            if taint is not None:
                state[path] = taint
        elif isinstance(target, cst.Subscript):
            base = dotted_name(target.value)
            if base and taint is not None:
                state[base] = taint.union(_lookup(base, state))
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            if (
                isinstance(value, (cst.Tuple, cst.List))
                and len(value.elements) == len(elements)
                and not any(isinstance(e, cst.StarredElement) for e in value.elements)
            ):
                values = [self.value(v.value, state) for v in value.elements]
                for element, element_taint in zip(elements, values, strict=False):
                    self.bind(element.value, element_taint, state)
            else:
                for element in elements:
                    self.bind(element.value, taint, state)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, taint, state)

