"""The statement walk behind :mod:`taint`: one function, forward, branches merged, loops run twice.

The state maps a variable or an attribute path (``reply``, ``self.code``) to its :class:`Taint`.
Each statement is checked against the state before it (sinks, calls into same-file functions,
prompt sites), then updates the state (assignments, ``x.append(...)``, ``x += ...``).
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Optional

import libcst as cst

from factorlint.engine.names import dotted_name, literal_string, string_literal_text
from factorlint.engine.recognisers import keyword_arg, positional_arg
from factorlint.engine.taint import (
    _MUTATORS, _PREDICATES, _SAFE_ANNOTATIONS, _STDLIB, _UNKNOWN, Result, Source, Taint,
    _exits, _merge, _statements, union,
)
from factorlint.engine.taint_sinks import SinkChecks
from factorlint.engine.walk import run_visitor
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


def _lookup(path: str, state: dict) -> Optional[Taint]:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        found = state.get(".".join(parts[:cut]))
        if found is not None:
            return found
    return None


def _key_for(path: str, state: dict) -> Optional[str]:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut])
        if key in state:
            return key
    return None


class Walk(SinkChecks):
    def __init__(self, analyser, function: Optional[cst.FunctionDef]) -> None:
        self.a = analyser
        self.ctx = analyser.ctx
        self.k = analyser.knowledge
        self.function = function
        self.result = Result()

    # -- sources ----------------------------------------------------------------------------

    def parameters(self) -> dict:
        state: dict[str, Taint] = {}
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

    def _source(self, call: cst.Call, qualname: Optional[str]) -> Optional[Source]:
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
        if qualname and self.a._local_def(qualname) is not None or (
            isinstance(func, cst.Name) and qualname and self.ctx.is_project_candidate(qualname)
        ):
            keys = [k for a in value.args if (p := dotted_name(a.value)) and (k := _key_for(p, state))]
            state = self._mark(state, [(k, True, False) for k in keys], True)
        return state

    def bind(self, target, taint: Optional[Taint], state: dict, value=None) -> None:
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
                for element, element_taint in zip(elements, values):
                    self.bind(element.value, element_taint, state)
            else:
                for element in elements:
                    self.bind(element.value, taint, state)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, taint, state)

    # -- expressions ------------------------------------------------------------------------

    def value(self, node: Optional[cst.BaseExpression], state: dict) -> Optional[Taint]:
        if node is None:
            return None
        if isinstance(node, cst.Name):
            return state.get(node.value)
        if isinstance(node, cst.Attribute):
            path = dotted_name(node)
            found = _lookup(path, state) if path else None
            return found if found is not None else (None if path else self.value(node.value, state))
        if isinstance(node, cst.Subscript):
            return self.value(node.value, state)
        if isinstance(node, cst.Call):
            return self.call_value(node, state)
        if isinstance(node, cst.Await):
            return self.value(node.expression, state)
        if isinstance(node, cst.FormattedString):
            return self._parts(node.parts, state)
        if isinstance(node, cst.ConcatenatedString):
            return self._concat(node.left, node.right, state)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Add):
                return self._concat(node.left, node.right, state)
            if isinstance(node.operator, cst.Modulo) and string_literal_text(node.left) is not None:
                right = self.value(node.right, state)
                return self._built(right, string_literal_text(node.left).split("%", 1)[0])
            return union(self.value(node.left, state), self.value(node.right, state))
        if isinstance(node, cst.BooleanOperation):
            return union(self.value(node.left, state), self.value(node.right, state))
        if isinstance(node, cst.IfExp):
            return union(self.value(node.body, state), self.value(node.orelse, state))
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            found = union(*(self.value(e.value, state) for e in node.elements))
            return replace(found, lead=None) if found is not None else None
        if isinstance(node, cst.Dict):
            found = union(*(self.value(e.value, state) for e in node.elements))
            return replace(found, lead=None) if found is not None else None
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            return self._comprehension(node, state)
        if isinstance(node, cst.NamedExpr):
            found = self.value(node.value, state)
            if found is not None and isinstance(node.target, cst.Name):
                state[node.target.value] = found
            return found
        return None

    def _comprehension(self, node, state: dict) -> Optional[Taint]:
        inner = dict(state)
        comp = node.for_in
        found = None
        while comp is not None:
            source = self.value(comp.iter, inner)
            self.bind(comp.target, source, inner)
            found = union(found, source)
            comp = comp.inner_for_in
        parts = [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
        return union(found, *(self.value(p, inner) for p in parts))

    @staticmethod
    def _built(taint: Optional[Taint], lead: str) -> Optional[Taint]:
        """A value interpolated into a string whose clean text before it is ``lead``."""
        if taint is None:
            return None
        return replace(taint, interpolated=True, lead=lead + (taint.lead or ""))

    def _clean_text(self, node: cst.BaseExpression) -> str:
        text = string_literal_text(node)
        if text is not None:
            return text
        if isinstance(node, cst.Name) and node.value in self.ctx.scan.module_constants:
            constant = literal_string(self.ctx.scan.module_constants[node.value])
            if constant is not None:
                return constant
        return _UNKNOWN

    def _concat(self, left, right, state: dict) -> Optional[Taint]:
        left_taint, right_taint = self.value(left, state), self.value(right, state)
        if left_taint is not None:
            return replace(left_taint.union(right_taint), interpolated=True)
        if right_taint is None:
            return None
        return self._built(right_taint, self._clean_text(left))

    def _parts(self, parts, state: dict) -> Optional[Taint]:
        lead, found = "", None
        for part in parts:
            if isinstance(part, cst.FormattedStringText):
                lead += part.value if found is None else ""
                continue
            taint = self.value(part.expression, state)
            if taint is None:
                lead += self._clean_text(part.expression) if found is None else ""
            elif found is None:
                found = self._built(taint, lead)
            else:
                found = found.union(taint)
        return found

    def _args(self, call: cst.Call, state: dict) -> Optional[Taint]:
        found = union(*(self.value(a.value, state) for a in call.args))
        if found is None:
            return None
        first = positional_arg(call, 0)
        if first is None or self.value(first.value, state) is None:
            return replace(found, lead=_UNKNOWN)
        return found

    def call_value(self, call: cst.Call, state: dict) -> Optional[Taint]:
        qualname = self.ctx.qualname(call.func)
        source = self._source(call, qualname)
        if source is not None:
            return Taint(frozenset({source}))
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("format", "format_map"):
            receiver = self.value(func.value, state)
            args = self._args(call, state)
            if args is None:
                return receiver
            text = string_literal_text(func.value)
            return self._built(args.union(receiver), text.split("{", 1)[0] if text is not None else "")
        if isinstance(func, cst.Attribute) and func.attr.value == "join" and string_literal_text(func.value) is not None:
            first = positional_arg(call, 0)
            return self.value(first.value, state) if first is not None else None
        local = self.a._local_def(qualname) if qualname else None
        if local is not None:
            return self._through(local, call, state)
        if qualname is not None:
            sanitiser = self.k.sanitisers.first(qualname)
            if sanitiser is not None:
                args = self._args(call, state) if sanitiser.kinds else None
                return replace(args, safe_for=args.safe_for | frozenset(sanitiser.kinds)) if args else None
        if isinstance(func, cst.Attribute):
            receiver = self.value(func.value, state)
            if receiver is not None:
                return None if func.attr.value in _PREDICATES else receiver
            if func.attr.value in self.k.propagating_methods:
                return self._args(call, state)
        if qualname is None:
            return None
        if (
            qualname.split(".", 1)[0] in _STDLIB
            or self.k.taint_propagators.first(qualname) is not None
            or self._local_class(qualname)
        ):
            return self._args(call, state)
        llm = self.ctx.recognise.llm_call(call)
        if llm is None or not llm.requires:
            return None
        # A function of another file: a model call if the project pass finds it reaches one, and
        # a parser of its arguments (``CodeParser.parse_code(text=reply)``) when it is one of the
        # project's own (same top-level package); a library's function is not followed.
        found = Taint(frozenset({Source("model", f"the result of `{self._text(func)}`", llm.requires)}))
        top = self.ctx.module_name.split(".", 1)[0]
        if "." in self.ctx.module_name and qualname.split(".", 1)[0] == top:
            found = found.union(self._args(call, state))
        return found

    def _local_class(self, qualname: str) -> bool:
        """``Step(**data)``: a class of this file holds what it is built from."""
        prefix = self.ctx.module_name + "."
        return qualname.startswith(prefix) and qualname[len(prefix):] in self.ctx.scan.classes

    def _through(self, local: cst.FunctionDef, call: cst.Call, state: dict) -> Optional[Taint]:
        """The value a same-file function returns, from its summary."""
        returns = self.a.summary(local).returns
        if returns is None:
            return None
        found = None
        for source in returns.sources:
            if source.kind != "param":
                found = union(found, replace(returns, sources=frozenset({source})))
                continue
            arg = self._bound_arg(local, call, source.param)
            arg_taint = self.value(arg, state) if arg is not None else None
            if arg_taint is not None:
                found = union(found, self._compose(returns, arg_taint))
        return found

    @staticmethod
    def _compose(inner: Taint, outer: Taint) -> Taint:
        """``inner`` seen in a callee, for a parameter the caller filled with ``outer``."""
        return Taint(
            outer.sources, inner.interpolated or outer.interpolated,
            outer.lead if not inner.lead else inner.lead, inner.checked or outer.checked,
            inner.safe_for | outer.safe_for, inner.allowed or outer.allowed,
        )

    def _bound_arg(self, local: cst.FunctionDef, call: cst.Call, name: str):
        keyword = keyword_arg(call, name)
        if keyword is not None:
            return keyword.value
        params = local.params
        names = [p.name.value for p in (*params.posonly_params, *params.params)]
        if names and names[0] in ("self", "cls") and isinstance(call.func, cst.Attribute):
            names = names[1:]
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if name in names and names.index(name) < len(positional):
            return positional[names.index(name)].value
        return None
