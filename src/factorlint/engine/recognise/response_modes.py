"""What a model call asked for: a response schema, tools, or nothing (prose).

A mixin of :class:`responses.ResponseTracker`; it reads the tracker's scopes through ``self``."""


from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import libcst as cst

from factorlint.engine.recognise.recognisers import LLMCall
from factorlint.engine.semantic.flow import Scope, dict_keys

if TYPE_CHECKING:
    from factorlint.engine.semantic.context import FileContext

Mode = Literal["prose", "structured", "tools", "unknown"]
MAX_HOPS = 4  # assignments followed back to a model call


class ResponseModes:
    """What a model call asked for: a response schema, tools, or nothing (prose)."""

    # Set by responses.ResponseTracker.__init__ (declared here for the type checker).
    ctx: FileContext
    _structured_methods: frozenset[str]
    _tool_methods: frozenset[str]

    if TYPE_CHECKING:

        def current_scope(self) -> Scope: ...

    def mode(self, call: cst.Call, llm: LLMCall, scope: Scope | None = None) -> Mode:
        """What a model call asked for: a schema, tools, free text, or unknown (``**kwargs``)."""
        spec = llm.spec
        if spec is None:
            return "unknown"
        scope = scope or self.current_scope()
        keywords: set[str] = set()
        unknown = False
        for arg in call.args:
            if arg.keyword is not None:
                keywords.add(arg.keyword.value)
                if arg.keyword.value in spec.options_keywords:
                    fields = self.known_keys(arg.value, scope)
                    if fields is None:
                        unknown = True
                    else:
                        keywords |= fields
            elif arg.star == "**":
                fields = self.known_keys(arg.value, scope)
                if fields is None:
                    unknown = True
                else:
                    keywords |= fields
        if spec.always_structured or keywords & set(spec.structured_keywords):
            return "structured"
        built = self._receiver_built_with(call, scope)
        if built == "structured":
            return "structured"
        if built == "tools" or keywords & set(spec.tools_keywords):
            return "tools"
        return "unknown" if unknown else "prose"

    def known_keys(self, expr: cst.BaseExpression, scope: Scope, hops: int = 0) -> set[str] | None:
        """The keys a dict (or a config object) can hold, when every one is written literally."""
        if isinstance(expr, cst.Dict):
            literal_keys = dict_keys(expr)
            return set(literal_keys) if literal_keys is not None else None
        if isinstance(expr, cst.Call):
            # ``dict(k=v)`` or a config class (``types.GenerateContentConfig(...)``): its keywords.
            callee = self.ctx.qualname(expr.func) or ""
            if callee != "builtins.dict" and not callee.rsplit(".", 1)[-1][:1].isupper():
                return None
            if any(arg.star or arg.keyword is None for arg in expr.args):
                return None  # ``dict(base, ...)``, ``Config(**opts)``
            return {arg.keyword.value for arg in expr.args if arg.keyword is not None}
        if isinstance(expr, cst.Name) and hops < MAX_HOPS:
            scan = self.ctx.flow(scope)
            bindings = scan.bindings.get(expr.value)
            if not bindings:
                return None
            keys: set[str] = set()
            for kind, value in bindings:
                if kind != "value" or value is None:
                    return None
                found = self.known_keys(value, scope, hops + 1)
                if found is None:
                    return None
                keys |= found
            added = scan.added_keys.get(expr.value, [])
            if any(key is None for key in added):
                return None
            return keys | {key for key in added if key is not None}
        return None

    # -- receivers: ``llm.with_structured_output(X)`` / ``llm.bind_tools(tools)`` ---------------

    def _receiver_built_with(self, call: cst.Call, scope: Scope) -> str | None:
        if not isinstance(call.func, cst.Attribute):
            return None
        return self._built_with(call.func.value, scope, 0)

    def _built_with(self, expr, scope: Scope, hops: int) -> str | None:
        if hops > MAX_HOPS:
            return None
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if isinstance(expr, cst.Call):
            if isinstance(expr.func, cst.Attribute):
                method = expr.func.attr.value
                if method in self._structured_methods:
                    return "structured"
                if method in self._tool_methods:
                    return "tools"
                return self._built_with(expr.func.value, scope, hops)
            return None
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            return self._built_with(expr.left, scope, hops) or self._built_with(expr.right, scope, hops)
        if isinstance(expr, cst.Name):
            values = [v for k, v in self.ctx.flow(scope).bindings.get(expr.value, []) if k == "value"]
            if not values and scope is not self.ctx.module:
                scope = self.ctx.module
                values = [v for k, v in self.ctx.flow(scope).bindings.get(expr.value, []) if k == "value"]
            for value in values:
                built = self._built_with(value, scope, hops + 1)
                if built:
                    return built
            return None
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and expr.value.value == "self"
        ):
            owner = self.ctx.current_class_qualname()
            for pending in self.ctx.scan.pending:
                if pending.class_qualname == owner and pending.target == f"self.{expr.attr.value}":
                    target_scope = pending.function if pending.function is not None else self.ctx.module
                    built = self._built_with(pending.value, target_scope, hops + 1)
                    if built:
                        return built
        return None

    # -- wrappers defined in this file ---------------------------------------------------------
