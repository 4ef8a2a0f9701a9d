"""How expressions carry taint in the statement walk: values, calls, f-strings, one call deep.

A mixin of :class:`taint_walk.Walk`: it reads the walk's state and its helpers through ``self``."""


from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import libcst as cst

from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.semantic.names import dotted_name, literal_string, string_literal_text
from factorlint.engine.taint.model import (
    _PREDICATES,
    _STDLIB,
    _UNKNOWN,
    Source,
    Taint,
    WalkState,
    union,
)

if TYPE_CHECKING:
    from factorlint.engine.taint.model import Source, Taint


def _lookup(path: str, state: dict) -> Taint | None:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        found = state.get(".".join(parts[:cut]))
        if found is not None:
            return found
    return None


class TaintValues(WalkState):
    """How expressions carry taint in the statement walk: values, calls, f-strings, one call deep."""

    if TYPE_CHECKING:

        def _source(self, call: cst.Call, qualname: str | None) -> Source | None: ...

        def bind(self, target, taint: Taint | None, state: dict, value=None) -> None: ...

    # -- expressions ------------------------------------------------------------------------

    def value(self, node: cst.BaseExpression | None, state: dict) -> Taint | None:
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
            template = string_literal_text(node.left) if isinstance(node.operator, cst.Modulo) else None
            if template is not None:
                right = self.value(node.right, state)
                return self._built(right, template.split("%", 1)[0])
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

    def _comprehension(self, node, state: dict) -> Taint | None:
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
    def _built(taint: Taint | None, lead: str) -> Taint | None:
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

    def _concat(self, left, right, state: dict) -> Taint | None:
        left_taint, right_taint = self.value(left, state), self.value(right, state)
        if left_taint is not None:
            return replace(left_taint.union(right_taint), interpolated=True)
        if right_taint is None:
            return None
        return self._built(right_taint, self._clean_text(left))

    def _parts(self, parts, state: dict) -> Taint | None:
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

    def _args(self, call: cst.Call, state: dict) -> Taint | None:
        found = union(*(self.value(a.value, state) for a in call.args))
        if found is None:
            return None
        first = positional_arg(call, 0)
        if first is None or self.value(first.value, state) is None:
            return replace(found, lead=_UNKNOWN)
        return found

    def call_value(self, call: cst.Call, state: dict) -> Taint | None:
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

    def _through(self, local: cst.FunctionDef, call: cst.Call, state: dict) -> Taint | None:
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
