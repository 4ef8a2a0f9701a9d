"""Tool scanner, part two: what a tools= list holds, who approves a tool, and small helpers.

A mixin of :class:`tool_scan._Scanner`; it reads the scan state through ``self``.
"""


from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.recognise.tool_model import (
    _DYNAMIC,
    ToolDef,
    _Construct,
    component_role,
    literal,
    reachable_calls_in,
    schema_shape,
    tool_functions,
)
from factorlint.engine.semantic.names import dotted_name, literal_string
from factorlint.knowledge import ToolDecoratorSpec

if TYPE_CHECKING:
    from factorlint.engine.recognise.tool_model import ToolScan
    from factorlint.engine.semantic.context import FileContext


class ToolLinks:
    """Follow tools= lists to their functions and settle approvals after the walk."""

    # The scan state, set by tool_scan._Scanner.__init__ (declared here for the type checker).
    ctx: FileContext
    out: ToolScan
    stack: list[cst.FunctionDef]
    tool_classes: dict[str, ToolDef]
    constructs: list[_Construct]
    construct_by_call: dict[int, _Construct]
    wrappers: dict[int, ToolDef]
    instance_tools: list[tuple[str, tuple, ToolDef]]
    approved_names: dict[str, str]
    approve_all: str
    _bindings: dict | None

    if TYPE_CHECKING:

        def _add(self, tool: ToolDef) -> ToolDef: ...

    def _elements(self, value: cst.BaseExpression, scope: tuple, depth: int = 0) -> list[cst.BaseExpression]:
        if depth > 3:
            return []
        if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            out = []
            for element in value.elements:
                if isinstance(element, cst.StarredElement):
                    out.extend(self._elements(element.value, scope, depth + 1))
                else:
                    out.append(element.value)
            return out
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            return self._elements(value.left, scope, depth + 1) + self._elements(value.right, scope, depth + 1)
        if isinstance(value, cst.Name):
            bound = self._bound(value.value, scope)
            if bound is not None:
                return self._elements(bound, scope, depth + 1)
        return []

    def _bound(self, name: str, scope: tuple) -> cst.BaseExpression | None:
        """The value a name is assigned once: in the innermost enclosing function, else the module."""
        if self._bindings is None:
            self._bindings = {}
            for pending in self.ctx.scan.pending:
                if "." in pending.target or (pending.function is None and pending.class_qualname):
                    continue
                key = (id(pending.function) if pending.function is not None else 0, pending.target)
                self._bindings.setdefault(key, []).append(pending.value)
        for function in reversed(scope):
            values = self._bindings.get((id(function), name))
            if values:
                return values[0] if len(values) == 1 else None
        values = self._bindings.get((0, name))
        return values[0] if values and len(values) == 1 else None

    def visit_Raise(self, node: cst.Raise) -> None:
        # ``raise ApprovalRequired`` (a class, not a call): calls are recorded by visit_Call.
        if node.exc is not None and isinstance(node.exc, (cst.Name, cst.Attribute)):
            qualname = self.ctx.qualname(node.exc)
            if qualname is not None:
                key = id(self.stack[-1]) if self.stack else 0
                self.out.raised.setdefault(key, []).append(qualname)

    # schemas

    def visit_Dict(self, node: cst.Dict) -> None:
        shape = schema_shape(node)
        if shape is None:
            return
        fmt, name = shape
        self._add(ToolDef(node, name or "<unnamed>", "schema", fmt, site=node))

    # after the walk

    def _function_for(self, expr: cst.BaseExpression, scope: tuple) -> cst.FunctionDef | None:
        if isinstance(expr, cst.Name):
            for function in reversed(scope):
                found = self.out.nested.get((id(function), expr.value))
                if found is not None:
                    return found
            return self.ctx.scan.module_functions.get(expr.value)
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
            owner = self.ctx.current_class_qualname()
            if owner is not None:
                return self.ctx.scan.methods.get(owner, {}).get(expr.attr.value)
        return None

    def _listed(self, element: cst.BaseExpression, scope: tuple, framework: str | None) -> ToolDef | None:
        if id(element) in self.out.by_node:
            return self.out.by_node[id(element)]
        value = element
        if isinstance(element, cst.Name):
            bound = self._bound(element.value, scope)
            if isinstance(bound, (cst.Call, cst.Dict)):
                value = bound
        if isinstance(value, cst.Call):
            if id(value) in self.wrappers:
                return self.wrappers[id(value)]
            callee = dotted_name(value.func) or ""
            if callee in self.tool_classes:
                return self.tool_classes[callee]
            local_class = self.ctx.scan.classes.get(callee)
            if local_class is not None:
                return self._add(ToolDef(local_class, _class_tool_name(local_class), "listed", framework, site=element))
            fallback = element.value if isinstance(element, cst.Name) else callee.rsplit(".", 1)[-1]
            name = _keyword_name(value) or fallback or "<call>"
            return self._add(ToolDef(element, name, "listed", framework, site=element))
        if isinstance(value, cst.Dict):
            if id(value) in self.out.by_node:
                return self.out.by_node[id(value)]
            named = next((literal_string(e.value) for e in value.elements if isinstance(e, cst.DictElement)
                          and literal_string(e.key) in ("name", "type")), None)
            return self._add(ToolDef(element, named or "<dict>", "listed", framework, site=element))
        saved = self.ctx.function_stack
        self.ctx.function_stack = list(scope)
        try:
            function = self._function_for(element, scope)
        finally:
            self.ctx.function_stack = saved
        if function is not None:
            return self._add(ToolDef(function, function.name.value, "listed", framework, site=element))
        path = dotted_name(element)
        if path is None:
            return None
        return self._add(ToolDef(element, path.rsplit(".", 1)[-1], "listed", framework, site=element))

    def _resolve_constructs(self) -> None:
        named: dict[str, _Construct] = {}
        for pending in self.ctx.scan.pending:
            item = self.construct_by_call.get(id(pending.value))
            if item is not None and "." not in pending.target:
                named[pending.target] = item
        for item in self.constructs:
            tools = [t for t in (self._listed(e, s, item.framework) for e, s in item.elements) if t]
            if item.lists_tools:
                self.out.per_agent[item.call] = [t.name for t in tools]
            if item.approving:
                for tool in tools:
                    tool.approve(item.approving)
            if item.file_wide:
                self.approve_all = self.approve_all or item.approving
        for receiver, _scope, tool in self.instance_tools:
            item = named.get(receiver)
            if item is not None:
                self.out.per_agent.setdefault(item.call, []).append(tool.name)
                if item.approving:
                    tool.approve(item.approving)
        for item in self.constructs:  # Task(agent=researcher, human_input=True)
            if not item.approving:
                continue
            for reference in item.references:
                other = named.get(reference)
                if other is not None:
                    for name in self.out.per_agent.get(other.call, []):
                        self.approved_names.setdefault(name, item.approving)

    def _body_approvals(self) -> None:
        for tool in self.out.tools:
            if tool.approval:
                continue
            functions = tool_functions(tool)
            reached = list(functions)
            for _call, qualname, owner in reachable_calls_in(self.ctx, self.out, functions):
                if owner not in reached:
                    reached.append(owner)
                if qualname is not None and component_role(self.ctx, qualname) in ("interrupt", "approval"):
                    tool.approve(f"`{_short(qualname)}` in its body")
                    break
            for function in reached:
                for qualname in self.out.raised.get(id(function), ()):
                    if component_role(self.ctx, qualname) in ("interrupt", "approval"):
                        tool.approve(f"`raise {_short(qualname)}` in its body")




# -- helpers ------------------------------------------------------------------------------------


def _short(qualname: str) -> str:
    return ".".join(qualname.replace("()", "").split(".")[-2:])


def _approves(value: cst.BaseExpression, keyword: str, human_input) -> bool:
    found = literal(value)
    if isinstance(value, (cst.List, cst.Tuple)):
        return bool(value.elements)
    if human_input is not None and human_input.keyword == keyword and human_input.approval_values:
        return found is _DYNAMIC or found in human_input.approval_values
    return found not in (False, None, "")


def _tool_name(default: str, call: cst.Call | None, spec: ToolDecoratorSpec) -> str:
    if call is None:
        return default
    for keyword in spec.name_keywords:
        arg = keyword_arg(call, keyword)
        named = literal_string(arg.value) if arg is not None else None
        if named:
            return named
    first = positional_arg(call, 0)
    named = literal_string(first.value) if first is not None else None
    return named or default


def _keyword_name(call: cst.Call) -> str | None:
    arg = keyword_arg(call, "name")
    return literal_string(arg.value) if arg is not None else None


def _class_tool_name(node: cst.ClassDef) -> str:
    """The class attribute ``name = "..."`` (LangChain, smolagents, CrewAI), else the class name."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target, value = small.targets[0].target, small.value
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                target, value = small.target, small.value
            else:
                continue
            named = literal_string(value) if isinstance(target, cst.Name) and target.value == "name" else None
            if named:
                return named
    return node.name.value
