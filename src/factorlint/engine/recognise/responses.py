"""Model replies inside a function: which values hold a reply's free text, the name of a tool the
model asked for, or the discriminator of a typed next step, and what the call asked for.

A value's *origin* is the model call it comes from and the path taken from the call's result:
``resp.choices[0].message.content`` is the path ``choices[].message.content`` of
``client.chat.completions.create(...)``. Which paths hold free text or tool names is knowledge
(``text_paths`` / ``tool_name_paths`` of each call in ``rules/frameworks``). Names are followed
through up to four assignments in the same function (``resp = ...``, ``msg = resp.choices[0]
.message``, ``text = msg.content.strip()``), through ``for`` targets (each element of a list) and
through text-preserving methods (``strip``, ``lower``, ...).

The call's *mode* says what it asked for: ``structured`` (a response schema, an always-typed call
such as BAML or instructor, a receiver built with ``with_structured_output``), ``tools`` (tool
definitions, or a receiver built with ``bind_tools``), ``prose`` (neither), or ``unknown``
(``**kwargs`` or an options object such as google-genai's ``config=`` whose keys cannot all be
seen; a local dict built from literal keys is read).

A call to a project function (a wrapper) is looked into when it is defined in this file: what its
``return`` statements give back is its origin. A wrapper defined elsewhere is ``unknown``; its
result counts as text only where this function clearly uses it as text (a string method, a
comparison with a string literal, a regular expression over it), never when it reads an
attribute or a key of it. Findings built on a wrapper carry its ``requires`` for the project pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace

import libcst as cst

from factorlint.engine.recognise.recognisers import LLMCall
from factorlint.engine.recognise.response_modes import MAX_HOPS, Mode, ResponseModes
from factorlint.engine.recognise.response_paths import (  # noqa: F401 - re-exported
    _GENERIC_TEXT,
    _GENERIC_TOOLS,
    _INTENT_PREFIX,
    _SELF,
    _SHARED_WITH_LISTS,
    DISCRIMINATORS,
    INDEX,
    STR_METHODS,
    TEXT_FUNCTIONS,
    TEXT_PRESERVING,
    Origin,
    Path,
    _is_slice,
    _is_value_method,
    base_name,
    parse_path,
    render_path,
)
from factorlint.engine.semantic.flow import (
    Scope,
    compares_as_text,
    is_placeholder,
)
from factorlint.engine.semantic.names import literal_string


class ResponseTracker(ResponseModes):
    """One per file (see :func:`tracker`); every answer is cached per function."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self._wrappers: dict[int, Origin | None] = {}
        structured: set[str] = set()
        tools: set[str] = set()
        for client in ctx.knowledge.clients_by_kind.values():
            structured.update(client.structured_chain_methods)
            for binding in client.tool_bindings:
                tools.update(binding.methods)
        self._structured_methods = frozenset(structured)
        self._tool_methods = frozenset(tools)

    # -- scopes --------------------------------------------------------------------------------

    def current_scope(self) -> Scope:
        return self.ctx.function_stack[-1] if self.ctx.function_stack else self.ctx.module

    @contextlib.contextmanager
    def _inside(self, function: cst.FunctionDef) -> Iterator[None]:
        """Resolve names as they are seen inside ``function`` (another function of this file)."""
        saved = self.ctx.function_stack
        self.ctx.function_stack = [function]
        try:
            yield
        finally:
            self.ctx.function_stack = saved

    # -- origins -------------------------------------------------------------------------------

    def origin(self, expr: cst.BaseExpression, scope: Scope | None = None) -> Origin | None:
        found = self._origin(expr, scope or self.current_scope(), 0, frozenset())
        return found if isinstance(found, Origin) else None

    def _origin(self, expr, scope: Scope, hops: int, seen: frozenset):
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if isinstance(expr, cst.Call):
            return self._call_value(expr, scope, hops, seen)
        if isinstance(expr, cst.Attribute):
            inner = self._origin(expr.value, scope, hops, seen)
            return inner.extend(expr.attr.value) if isinstance(inner, Origin) else None
        if isinstance(expr, cst.Subscript):
            inner = self._origin(expr.value, scope, hops, seen)
            if inner is None or _is_slice(expr):
                return inner  # a slice of text is text, of a list a list
            if not isinstance(inner, Origin) or len(expr.slice) != 1:
                return None
            index = expr.slice[0].slice
            key = literal_string(index.value) if isinstance(index, cst.Index) else None
            return inner.extend(key if key is not None else INDEX)
        if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
            if is_placeholder(expr.right):  # ``reply.content or ""``
                return self._origin(expr.left, scope, hops, seen)
            return None
        if isinstance(expr, cst.Name):
            return self._name_value(expr.value, scope, hops, seen)
        return None

    def _call_value(self, call: cst.Call, scope: Scope, hops: int, seen: frozenset):
        llm = self.ctx.recognise.llm_call(call)
        if llm is not None and (llm.certain or not _is_value_method(call)):
            if self.ctx.recognise.handoff(call) is not None:
                return None  # a framework agent run: not a model reply
            return self._call_origin(call, llm, scope)
        func = call.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in TEXT_PRESERVING:
                inner = self._origin(func.value, scope, hops, seen)
                return inner if inner is _SELF or (isinstance(inner, Origin) and inner.is_text) else None
            if method == "get" and call.args:
                key = literal_string(call.args[0].value)
                inner = self._origin(func.value, scope, hops, seen)
                if key is not None and isinstance(inner, Origin):
                    return inner.extend(key)
            return None
        if isinstance(func, cst.Name) and func.value == "str" and len(call.args) == 1:
            if self.ctx.qualname(func) == "builtins.str":
                inner = self._origin(call.args[0].value, scope, hops, seen)
                return inner if inner is _SELF or (isinstance(inner, Origin) and inner.is_text) else None
        return None

    def _name_value(self, name: str, scope: Scope, hops: int, seen: frozenset):
        key = (id(scope), name)
        if key in seen:
            return _SELF
        if hops >= MAX_HOPS:
            return None
        bindings = self.ctx.flow(scope).bindings.get(name)
        if not bindings:
            return None
        found: Origin | None = None
        for kind, value in bindings:
            if kind == "other":
                return None
            if kind == "value" and is_placeholder(value):
                continue
            origin = self._origin(value, scope, hops + 1, seen | {key})
            if origin is _SELF:
                continue
            if origin is None:
                return None
            if kind == "iter":
                origin = origin.extend(INDEX)
            if found is None:
                found = origin
            elif found.path != origin.path:
                return None
            elif found.mode != origin.mode:
                found = replace(found, mode="unknown")
        return found

    def _call_origin(self, call: cst.Call, llm: LLMCall, scope: Scope) -> Origin | None:
        if llm.spec is not None:
            return Origin(
                call, llm, (), self.mode(call, llm, scope),
                frozenset(parse_path(p) for p in llm.spec.text_paths),
                frozenset(parse_path(p) for p in llm.spec.tool_name_paths),
            )
        if llm.certain:  # an ``llm-functions`` name from the configuration: shape unknown
            return self._unknown_wrapper(call, llm)
        inner = self._wrapper_return(llm.qualname)
        if inner is not None:
            return replace(inner, source=call)
        if self._returns_a_label(llm.qualname):
            return None  # it maps the reply onto a fixed set of labels: no longer free text
        return self._unknown_wrapper(call, llm)

    def _returns_a_label(self, qualname: str) -> bool:
        """Does a function of this file return only labels it owns: string literals, values
        looked up in one of the module's constant tables, or loop variables over one
        (simpleqa's grader: ``CHOICE_LETTER_TO_STRING[letter]``, ``for grade in CHOICE_STRINGS:``)?"""
        function = self.local_function(qualname)
        if function is None:
            return False
        flow = self.ctx.flow(function)
        values = [r.value for r in flow.returns]
        if not values or flow.yields or any(v is None for v in values):
            return False
        return all(self._is_label(v, flow, 0) for v in values if v is not None)

    def _is_label(self, value: cst.BaseExpression, flow, depth: int) -> bool:
        if literal_string(value) is not None:
            return True
        if isinstance(value, cst.Subscript):
            return self._constant_table(value.value)
        if isinstance(value, cst.Name) and depth < 3:
            bindings = flow.bindings.get(value.value) or []
            return bool(bindings) and all(
                (kind == "value" and bound is not None and self._is_label(bound, flow, depth + 1))
                or (kind == "iter" and bound is not None and self._constant_table(bound))
                for kind, bound in bindings
            )
        return False

    def _constant_table(self, value: cst.BaseExpression, depth: int = 0) -> bool:
        """A module-level constant written as a literal dict, list, tuple or set, or built from
        such constants by ``dict(zip(KEYS, VALUES))``."""
        if isinstance(value, (cst.Dict, cst.List, cst.Tuple, cst.Set)):
            return True
        if isinstance(value, cst.Call) and depth < 4 and self.ctx.qualname(value.func) in (
            "builtins.dict", "builtins.zip", "builtins.list", "builtins.tuple"
        ):
            return bool(value.args) and all(self._constant_table(a.value, depth + 1) for a in value.args)
        if not isinstance(value, cst.Name) or depth >= 5:
            return False
        bound = self.ctx.scan.module_constants.get(value.value)
        return bound is not None and self._constant_table(bound, depth + 1)

    def _unknown_wrapper(self, call: cst.Call, llm: LLMCall) -> Origin:
        return Origin(
            call, llm, (), "unknown",
            frozenset({()} | {parse_path(p) for p in _GENERIC_TEXT}),
            frozenset(parse_path(p) for p in _GENERIC_TOOLS),
            wrapper=True,
        )

    def local_function(self, qualname: str) -> cst.FunctionDef | None:
        """The module-level function or method of this file that ``qualname`` names."""
        prefix = self.ctx.module_name + "."
        if not qualname.startswith(prefix):
            return None
        local = qualname[len(prefix):].replace("().", ".")
        if "<locals>" in local:
            return None
        if local in self.ctx.scan.module_functions:
            return self.ctx.scan.module_functions[local]
        owner, _, name = local.rpartition(".")
        return self.ctx.scan.methods.get(owner, {}).get(name)

    def wrapper_origin(self, qualname: str) -> Origin | None:
        """What a function of this file hands back, when it is a model reply: its origin."""
        return self._wrapper_return(qualname)

    def _wrapper_return(self, qualname: str) -> Origin | None:
        function = self.local_function(qualname)
        if function is None:
            return None
        key = id(function)
        if key in self._wrappers:
            return self._wrappers[key]
        self._wrappers[key] = None  # recursion guard
        result: Origin | None = None
        with self._inside(function):
            scan = self.ctx.flow(function)
            values = [r.value for r in scan.returns if r.value is not None and not is_placeholder(r.value)]
            if values and not scan.yields:
                origins = [self.origin(v, function) for v in values]
                first = origins[0]
                known = [o for o in origins if o is not None]
                if first is not None and len(known) == len(origins) and all(o.path == first.path for o in known):
                    modes = {o.mode for o in known}
                    result = first if len(modes) == 1 else replace(first, mode="unknown")
        self._wrappers[key] = result
        return result

    # -- questions the rules ask ---------------------------------------------------------------

    def reply_text(
        self, expr: cst.BaseExpression, scope: Scope | None = None, *, wrappers: bool = True
    ) -> Origin | None:
        """The origin when ``expr`` is the free text of a reply to a call that asked for prose.

        The result of a wrapper defined elsewhere counts only where this function uses it as
        text (``wrappers=False`` leaves such wrappers out altogether).
        """
        origin = self.origin(expr, scope)
        if origin is None or not origin.is_text:
            return None
        if origin.wrapper:
            if not wrappers:
                return None
            if origin.path == ():
                name = base_name(expr)
                if name is None or not self.used_as_text(name, scope):
                    return None
            return origin
        return origin if origin.mode == "prose" else None

    def dispatch_key(self, expr: cst.BaseExpression) -> tuple[Origin, str] | None:
        """(origin, "tool" | "intent") when ``expr`` names the tool or next step the model chose."""
        origin = self.origin(expr)
        if origin is None:
            return None
        if origin.is_tool_name:
            return origin, "tool"
        if origin.is_intent:
            return origin, "intent"
        return None

    def call_mode(self, call: cst.Call, llm: LLMCall) -> tuple[Mode, Origin | None]:
        """What a model call (or a wrapper's call behind it) asked for, with its origin."""
        origin = self._call_origin(call, llm, self.current_scope())
        return (origin.mode if origin is not None else "unknown"), origin

    def assigned_name(self, call: cst.Call, scope: Scope | None = None) -> str | None:
        """The name a call's result is assigned to (``text = chat(history)``), if any."""
        for name, bindings in self.ctx.flow(scope or self.current_scope()).bindings.items():
            for kind, value in bindings:
                if kind == "value" and value is not None:
                    inner = value.expression if isinstance(value, cst.Await) else value
                    if inner is call:
                        return name
        return None

    # -- evidence ------------------------------------------------------------------------------

    def used_as_text(self, name: str, scope: Scope | None = None) -> bool:
        """Does the function treat ``name`` as a string, and never as an object or a mapping?"""
        scan = self.ctx.flow(scope or self.current_scope())
        positive = False
        for attr in scan.attributes:
            if not isinstance(attr.value, cst.Name) or attr.value.value != name:  # always a Name (see scan)
                continue
            if id(attr) in scan.called and attr.attr.value in STR_METHODS - _SHARED_WITH_LISTS:
                positive = True
            elif id(attr) in scan.called and attr.attr.value in _SHARED_WITH_LISTS:
                continue
            else:
                return False
        for sub in scan.subscripts:
            if isinstance(sub.value, cst.Name) and sub.value.value == name and not _is_slice(sub):
                index = sub.slice[0].slice if len(sub.slice) == 1 else None
                if isinstance(index, cst.Index) and literal_string(index.value) is not None:
                    return False
        for call in scan.calls:
            for arg in call.args:
                if isinstance(arg.value, cst.Name) and arg.value.value == name:
                    if arg.star == "**":
                        return False
                    callee = self.ctx.qualname(call.func) or ""
                    if callee in TEXT_FUNCTIONS or callee.startswith("re.compile()."):
                        positive = True
        for compare in scan.comparisons:
            if compares_as_text(compare, name):
                positive = True
        for concat in scan.concatenations:
            sides = (concat.left, concat.right)
            if any(isinstance(s, cst.Name) and s.value == name for s in sides) and any(
                literal_string(s) for s in sides
            ):
                positive = True
        return positive


def tracker(ctx) -> ResponseTracker:
    """The file's tracker, shared by every rule that asks."""
    return ctx.analysis(ResponseTracker)
