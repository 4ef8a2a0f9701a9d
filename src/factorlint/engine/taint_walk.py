"""The statement walk behind :mod:`taint`: one function, forward, branches merged, loops run twice.

The state maps a variable or an attribute path (``reply``, ``self.code``) to its :class:`Taint`.
Each statement is checked against the state before it (sinks, calls into same-file functions,
prompt sites), then updates the state (assignments, ``x.append(...)``, ``x += ...``).
"""

from __future__ import annotations

import functools
import posixpath
from dataclasses import replace
from typing import Optional

import libcst as cst

from factorlint.engine import prompts
from factorlint.engine.names import dotted_name, literal_string, string_literal_text
from factorlint.engine.recognisers import keyword_arg, positional_arg
from factorlint.engine.taint import (
    _MUTATORS, _PREDICATES, _SAFE_ANNOTATIONS, _STDLIB, _UNKNOWN, Hit, Result, Source, Taint,
    _exits, _merge, _statements, union,
)
from factorlint.knowledge import qn_matches

_SYSTEM_ROLES = frozenset({"system", "developer"})
_VALIDATING_OPS = (cst.In, cst.NotIn, cst.Equal, cst.NotEqual)


class _Finder(cst.CSTVisitor):
    """Calls and dict literals in an expression or a simple statement (lambdas skipped)."""

    def __init__(self) -> None:
        self.calls: list[cst.Call] = []
        self.dicts: list[cst.Dict] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Dict(self, node: cst.Dict) -> None:
        self.dicts.append(node)

    def visit_Lambda(self, node) -> bool:
        return False


class _Paths(cst.CSTVisitor):
    """Names and attribute paths in a test, and whether it compares or calls anything."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.validates = False

    def visit_Name(self, node: cst.Name) -> None:
        self.paths.append(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        path = dotted_name(node)
        if path:
            self.paths.append(path)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if any(isinstance(c.operator, _VALIDATING_OPS) for c in node.comparisons):
            self.validates = True

    def visit_Call(self, node: cst.Call) -> None:
        self.validates = True


def _literal(node: cst.BaseExpression) -> Optional[str]:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, (cst.Integer, cst.Float)):
        return node.value
    return literal_string(node)


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


class Walk:
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
        type_qn = self.ctx.annotation_type(annotation)
        return type_qn is not None and self.k.is_framework_module(type_qn)

    def _source(self, call: cst.Call, qualname: Optional[str]) -> Optional[Source]:
        recognise = self.ctx.recognise
        llm = recognise.llm_call(call)
        if llm is not None and llm.certain:
            return Source("model", f"the reply of `{self._text(call.func)}`")
        if recognise.handoff(call) is not None:
            return Source("model", f"the result of `{self._text(call.func)}`")
        if qualname and any(s.kind == "fetch" for s in self.k.sinks.get(qualname)):
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
        checked = self._validated(node.test, state)
        body_statements = _statements(node.body)
        body = self.block(body_statements, self._mark(state, checked))
        else_in = self._mark(state, checked) if checked and _exits(body_statements) else dict(state)
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

    def _validated(self, test: cst.BaseExpression, state: dict) -> list[str]:
        """Tainted paths a test compares or passes to a check: an allow-list test."""
        finder = _Paths()
        test.visit(finder)
        if not finder.validates:
            return []
        return [key for path in finder.paths if (key := _key_for(path, state)) is not None]

    @staticmethod
    def _mark(state: dict, keys: list[str]) -> dict:
        state = dict(state)
        for key in keys:
            state[key] = replace(state[key], checked=True)
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
            state = self._mark(state, self._validated(node.test, state))
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
            state = self._mark(state, keys)
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
            or qualname[len(self.ctx.module_name) + 1:] in self.ctx.scan.classes
        ):
            return self._args(call, state)
        llm = self.ctx.recognise.llm_call(call)
        if llm is not None and llm.requires:
            return Taint(frozenset({Source("model", f"the result of `{self._text(func)}`", llm.requires)}))
        return None

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
            inner.safe_for | outer.safe_for,
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

    # -- checks -----------------------------------------------------------------------------

    def scan(self, node: cst.CSTNode, state: dict) -> None:
        finder = _Finder()
        node.visit(finder)
        for call in finder.calls:
            self.check_call(call, state)
        if self.a.want_prompts:
            for item in finder.dicts:
                self._system_dict(item, state)

    def _hit(self, kind, node, label, taint, via="", interpolation_only=False) -> None:
        key = (id(node), kind, via)
        found = self.result.hits.get(key)
        if found is None:
            self.result.hits[key] = Hit(kind, node, label, taint, via, interpolation_only)
        elif taint is not None:
            found.taint = taint.union(found.taint)

    def check_call(self, call: cst.Call, state: dict) -> None:
        qualname = self.ctx.qualname(call.func)
        if qualname is None:
            return
        for spec in self.k.sinks.get(qualname):
            payload = self._payload(spec, call)
            if payload is None:
                continue
            taint = union(*(self.value(p, state) for p in payload))
            if taint is not None and spec.kind in taint.safe_for:
                taint = None
            label = spec.label or f"`{self._text(call.func)}()`"
            self._hit(spec.kind, call, label, taint, interpolation_only=spec.interpolation_only)
        local = self.a._local_def(qualname)
        if local is not None and local is not self.function:
            for hit in list(self.a.summary(local).hits.values()):
                for source in hit.taint.sources if hit.taint is not None else ():
                    if source.kind != "param":
                        continue
                    arg = self._bound_arg(local, call, source.param)
                    arg_taint = self.value(arg, state) if arg is not None else None
                    if arg_taint is None or hit.kind in arg_taint.safe_for:
                        continue
                    via = hit.via or f"{local.name.value}()"
                    self._hit(hit.kind, call, hit.label, self._compose(hit.taint, arg_taint), via,
                              hit.interpolation_only)
        if self.a.want_prompts:
            self._prompt_sites(call, qualname, state)

    def _payload(self, spec, call: cst.Call) -> Optional[list]:
        active = True
        if spec.when_keyword:
            arg = keyword_arg(call, spec.when_keyword)
            active = arg is not None and _literal(arg.value) in spec.when_values
        if spec.safe_keyword or spec.safe_positional is not None:
            arg = keyword_arg(call, spec.safe_keyword) if spec.safe_keyword else None
            if arg is None and spec.safe_positional is not None:
                arg = positional_arg(call, spec.safe_positional)
            if arg is not None:
                loader = self.ctx.qualname(arg.value)
                if loader is None or any(qn_matches(v, loader) for v in spec.safe_values):
                    return None
        values = [a.value for i in spec.arguments if (a := positional_arg(call, i)) is not None]
        values += [a.value for k in spec.keywords if (a := keyword_arg(call, k)) is not None]
        if active:
            return values or None
        if spec.argv_shell:
            for value in values:
                command = self._shell_command(value)
                if command is not None:
                    return command
        return None

    def _shell_command(self, value: cst.BaseExpression) -> Optional[list]:
        """``["bash", "-c", cmd]``: the elements after the shell's command flag."""
        if not isinstance(value, (cst.List, cst.Tuple)) or len(value.elements) < 3:
            return None
        program = literal_string(value.elements[0].value)
        flag = literal_string(value.elements[1].value)
        if program is None or flag not in self.k.shell_flags:
            return None
        if program not in self.k.shell_programs and posixpath.basename(program) not in self.k.shell_programs:
            return None
        return [e.value for e in value.elements[2:]]

    def _system_dict(self, node: cst.Dict, state: dict) -> None:
        role = content = None
        for item in node.elements:
            if isinstance(item, cst.DictElement):
                key = literal_string(item.key)
                if key == "role":
                    role = literal_string(item.value)
                elif key == "content":
                    content = item.value
        if role in _SYSTEM_ROLES and content is not None:
            taint = self.value(content, state)
            if taint is not None:
                self._hit("system_prompt", content, f"a `{role}` message", taint)

    def _prompt_sites(self, call: cst.Call, qualname: str, state: dict) -> None:
        recognise = self.ctx.recognise
        sites = []
        llm = recognise.llm_call(call)
        if llm is not None and llm.spec is not None:
            system_keywords = {f"{k}=" for k in llm.spec.prompt_keywords}
            sites += [
                s for s in prompts.call_prompt_sites(self.ctx, call, llm.spec)
                if s.where in system_keywords or "[system]" in s.where or "[developer]" in s.where
            ]
        construct = recognise.agent_construct(call)
        if construct is not None and construct.spec.prompt is not None and construct.spec.owns_loop:
            sites += prompts.agent_prompt_sites(self.ctx, call, construct.spec.prompt)
        if self.k.prompt_builders.first(qualname) is not None:
            sites += [s for s in prompts.builder_sites(self.ctx, call) if "system" in s.where.lower()]
        for site in sites:
            taint = self.value(site.node, state)
            if taint is not None:
                self._hit("system_prompt", site.node, f"`{site.where}`", taint)
