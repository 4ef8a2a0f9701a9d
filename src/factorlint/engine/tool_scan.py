"""The one walk over a module that finds tools, agent constructions and approvals (tools.py's engine)."""

from __future__ import annotations
import dataclasses
import fnmatch
from typing import Optional
import libcst as cst
from factorlint.engine.names import dotted_name, literal_string
from factorlint.engine.recognisers import keyword_arg, positional_arg
from factorlint.knowledge import ToolDecoratorSpec

from factorlint.engine.tools import (  # noqa: E402
    FunctionBody,
    ToolDef,
    ToolScan,
    _DYNAMIC,
    _FIELDS,
    _SKIPPED_FIELDS,
    _WRAPPED_KEYWORDS,
    _Construct,
    component_role,
    reachable_calls,
    tool_functions,
    literal,
    schema_shape,
)


def _child_fields(kind: type) -> tuple[str, ...]:
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = tuple(
            f.name for f in dataclasses.fields(kind)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
        )
    return found


class _Scanner:
    """One walk over the module (LibCST's own visit rebuilds every node; this only reads them)."""

    _handlers: dict = {}

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.knowledge = ctx.knowledge
        self.out = ToolScan()
        self.stack: list[cst.FunctionDef] = []
        self.classes: list[cst.ClassDef] = []
        self.tool_classes: dict[str, ToolDef] = {}  # class name -> tool
        self.constructs: list[_Construct] = []
        self.construct_by_call: dict[int, _Construct] = {}
        self.wrappers: dict[int, ToolDef] = {}  # id(wrapper call) -> tool
        self.instance_tools: list[tuple[str, tuple, ToolDef]] = []  # (receiver name, scope, tool)
        self.approved_names: dict[str, str] = {}  # tool name -> what approves it
        self.approved_nodes: dict[int, str] = {}  # id(def) -> approval decorator
        self.decorator_calls: set[int] = set()
        self.approve_all = ""
        self._bindings: Optional[dict] = None
        self.extra_approvals = tuple(getattr(ctx.settings, "approval_decorators", ()) or ())

    def run(self) -> ToolScan:
        ctx = self.ctx
        saved = ctx.function_stack, ctx.class_stack
        ctx.function_stack, ctx.class_stack = self.stack, self.classes
        try:
            self.out.bodies[0] = FunctionBody()
            self._walk(ctx.module)
            self._resolve_constructs()
            self._body_approvals()
        finally:
            ctx.function_stack, ctx.class_stack = saved
        for tool in self.out.tools:
            if id(tool.node) in self.approved_nodes:
                tool.approve(self.approved_nodes[id(tool.node)])
            if tool.name in self.approved_names:
                tool.approve(self.approved_names[tool.name])
            if self.approve_all:
                tool.approve(self.approve_all)
        return self.out

    def _add(self, tool: ToolDef) -> ToolDef:
        existing = self.out.by_node.get(id(tool.node))
        if existing is not None:
            if tool.approval:
                existing.approve(tool.approval_source)
            return existing
        self.out.by_node[id(tool.node)] = tool
        self.out.tools.append(tool)
        return tool

    # the walk

    def _walk(self, node: cst.CSTNode) -> None:
        kind = type(node)
        handler = self._handlers.get(kind)
        if handler is not None and handler(self, node) is False:
            return
        for name in _child_fields(kind):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                self._walk(value)
            elif isinstance(value, (tuple, list)):
                for item in value:
                    if isinstance(item, cst.CSTNode):
                        self._walk(item)

    @property
    def _body(self) -> FunctionBody:
        return self.out.bodies[id(self.stack[-1]) if self.stack else 0]

    def _on_assign(self, node) -> None:
        if isinstance(node, cst.Assign):
            names = [n for t in node.targets for n in _target_names(t.target)]
            self._body.assigns.append((names, node.value))
        elif node.value is not None:  # AnnAssign, NamedExpr
            self._body.assigns.append((_target_names(node.target), node.value))

    def _on_loop(self, node) -> None:
        self._body.loops.append((node.target, node.iter))

    def _on_subscript(self, node: cst.Subscript) -> None:
        self._body.subscripts.append(node)

    def _on_comparison(self, node: cst.Comparison) -> None:
        self._body.comparisons.append(node)

    # functions and classes

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        parent = self.stack[-1] if self.stack else None
        if parent is not None:
            self.out.nested[(id(parent), node.name.value)] = node
        self.out.scopes[id(node)] = tuple(self.stack)
        for decorator in node.decorators:
            if isinstance(decorator.decorator, cst.Call):
                self.decorator_calls.add(id(decorator.decorator))
            self._decorator(node, decorator)
            self._walk(decorator.decorator)  # evaluated in the enclosing scope
        self.out.bodies[id(node)] = FunctionBody()
        self.stack.append(node)
        try:
            self._walk(node.params)
            if node.returns is not None:
                self._walk(node.returns)
            self._walk(node.body)
        finally:
            self.stack.pop()
        return False

    def _decorator(self, node: cst.FunctionDef, decorator: cst.Decorator) -> None:
        expr = decorator.decorator
        call = expr if isinstance(expr, cst.Call) else None
        qualname = self.ctx.qualname(call.func if call is not None else expr)
        if qualname is None:
            return
        if self._is_approval(qualname):
            self.approved_nodes.setdefault(id(node), f"`@{_short(qualname)}`")
            return
        spec = self.knowledge.tool_decorators.first(qualname)
        if spec is None:
            return
        framework = self.knowledge.tool_frameworks.get(id(spec))
        tool = ToolDef(node, _tool_name(node.name.value, call, spec), "decorated",
                       framework.name if framework else None, site=decorator, spec=spec,
                       decorator_call=call)
        self._decorator_approval(tool, call, spec)
        tool = self._add(tool)
        receiver = expr.func if call is not None else expr
        if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name):
            self.instance_tools.append((receiver.value.value, tuple(self.stack), tool))

    def _decorator_approval(self, tool: ToolDef, call: Optional[cst.Call], spec: ToolDecoratorSpec) -> None:
        if call is None:
            return
        for keyword in spec.approval_keywords:
            arg = keyword_arg(call, keyword)
            if arg is not None and literal(arg.value) not in (False, None):
                tool.approve(f"`{keyword}=`")

    def _is_approval(self, qualname: str) -> bool:
        if component_role(self.ctx, qualname) == "approval":
            return True
        return any(fnmatch.fnmatchcase(qualname, p) for p in self.extra_approvals)

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.out.scopes[id(node)] = tuple(self.stack)
        for decorator in node.decorators:
            self._walk(decorator.decorator)
        for arg in (*node.bases, *node.keywords):
            self._walk(arg.value)
        for base in node.bases:
            qualname = self.ctx.qualname(base.value)
            spec = self.knowledge.tool_base_classes.first(qualname) if qualname else None
            local = self.tool_classes.get(dotted_name(base.value) or "")
            if spec is None and local is None:
                continue
            spec = spec or local.spec
            framework = self.knowledge.tool_frameworks.get(id(spec)) if spec else None
            name = _class_tool_name(node)
            tool = self._add(ToolDef(node, name, "class", framework.name if framework else (
                local.framework if local else None), site=base, spec=spec))
            self.tool_classes[node.name.value] = tool
            break
        self.classes.append(node)
        try:
            self._walk(node.body)
        finally:
            self.classes.pop()
        return False

    # calls

    def visit_Call(self, node: cst.Call) -> None:
        qualname = self.ctx.qualname(node.func)
        key = id(self.stack[-1]) if self.stack else 0
        self.out.calls.setdefault(key, []).append((node, qualname))
        self._body.calls.append(node)
        if qualname is None:
            return
        spec = self.knowledge.tool_decorators.first(qualname)
        if spec is not None:
            self._wrapper(node, qualname, spec)
            return
        component = self.knowledge.components.first(qualname)
        if component is not None and component.role == "approval":
            # Middleware that names the tools it gates; approval decorators and exceptions raised
            # in a tool's body are read where the tool is defined.
            if component.tools_keyword and id(node) not in self.decorator_calls:
                self._approval_component(node, qualname, component.tools_keyword)
            return
        construct = self.ctx.recognise.agent_construct(node)
        if construct is not None:
            self._construct(node, construct.spec, construct.framework.name,
                            f"{construct.framework.title} `{construct.qualname.rsplit('.', 1)[-1]}`")
            return
        if "()." in qualname:
            receiver, member = qualname.rsplit("().", 1)
            agent = self.knowledge.agent_constructors.first(receiver)
            if agent is not None and member in agent[1].chain_methods:
                self._construct(node, agent[1], agent[0].name, f"`{member}(...)`", chained=True)
                return
        llm = self.ctx.recognise.llm_call(node)
        if llm is not None and llm.spec is not None and llm.spec.tools_keywords:
            found = self._tool_args(node, llm.spec.tools_keywords)
            if found:
                item = _Construct(node, f"`{qualname.rsplit('.', 1)[-1]}`", llm.client.kind if llm.client else None)
                item.elements = found
                self.constructs.append(item)

    def _wrapper(self, node: cst.Call, qualname: str, spec: ToolDecoratorSpec) -> None:
        arg = positional_arg(node, 0)
        if arg is None:
            arg = next((keyword_arg(node, k) for k in _WRAPPED_KEYWORDS if keyword_arg(node, k)), None)
        if arg is None or not isinstance(arg.value, (cst.Name, cst.Attribute)):
            return
        target = self._function_for(arg.value, tuple(self.stack))
        framework = self.knowledge.tool_frameworks.get(id(spec))
        default = target.name.value if target is not None else (dotted_name(arg.value) or "tool").rsplit(".", 1)[-1]
        tool = ToolDef(target if target is not None else node, _tool_name(default, node, spec), "decorated",
                       framework.name if framework else None, site=node, spec=spec, decorator_call=node)
        self._decorator_approval(tool, node, spec)
        self.wrappers[id(node)] = self._add(tool)

    def _approval_component(self, node: cst.Call, qualname: str, keyword: str) -> None:
        short = qualname.rsplit(".", 1)[-1].replace("()", "")
        label = f"`{short}`"
        arg = keyword_arg(node, keyword)
        if arg is None:
            return
        if isinstance(arg.value, cst.Dict):
            for element in arg.value.elements:
                if isinstance(element, cst.DictElement):
                    name = literal_string(element.key)
                    if name is not None and literal(element.value) is not False:
                        self.approved_names.setdefault(name, f"`{short}({keyword}=...)`")
            return
        self.approve_all = self.approve_all or label  # a mapping built elsewhere: assume it gates all

    def _construct(self, node: cst.Call, spec, framework: str, label: str, chained: bool = False) -> None:
        item = _Construct(node, label, framework, lists_tools=bool(spec.tools_keywords) and not chained)
        item.elements = self._tool_args(node, spec.tools_keywords)
        for keyword in spec.approval_keywords:
            arg = keyword_arg(node, keyword)
            if arg is not None and _approves(arg.value, keyword, spec.human_input):
                item.approving = f"`{keyword}=`"
        if item.approving and (chained or not spec.tools_keywords):
            item.file_wide = True
        for arg in node.args:
            if isinstance(arg.value, cst.Name):
                item.references.append(arg.value.value)
        self.constructs.append(item)
        self.construct_by_call[id(node)] = item

    def _tool_args(self, node: cst.Call, keywords) -> list[tuple[cst.BaseExpression, tuple]]:
        found = []
        for keyword in keywords:
            arg = keyword_arg(node, keyword)
            if arg is None:  # config=GenerateContentConfig(tools=[...]): one level down
                for other in node.args:
                    if other.keyword is not None and isinstance(other.value, cst.Call):
                        arg = keyword_arg(other.value, keyword) or arg
            if arg is not None:
                found.extend((e, tuple(self.stack)) for e in self._elements(arg.value, tuple(self.stack)))
        return found

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

    def _bound(self, name: str, scope: tuple) -> Optional[cst.BaseExpression]:
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

    def _function_for(self, expr: cst.BaseExpression, scope: tuple) -> Optional[cst.FunctionDef]:
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

    def _listed(self, element: cst.BaseExpression, scope: tuple, framework: Optional[str]) -> Optional[ToolDef]:
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
            name = next((literal_string(e.value) for e in value.elements if isinstance(e, cst.DictElement)
                         and literal_string(e.key) in ("name", "type")), None)
            return self._add(ToolDef(element, name or "<dict>", "listed", framework, site=element))
        saved = self.ctx.function_stack
        self.ctx.function_stack = list(scope)
        try:
            function = self._function_for(element, scope)
        finally:
            self.ctx.function_stack = saved
        if function is not None:
            return self._add(ToolDef(function, function.name.value, "listed", framework, site=element))
        name = dotted_name(element)
        if name is None:
            return None
        return self._add(ToolDef(element, name.rsplit(".", 1)[-1], "listed", framework, site=element))

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
            for call, qualname, owner in reachable_calls(self.ctx, functions):
                if owner not in reached:
                    reached.append(owner)
                if component_role(self.ctx, qualname) in ("interrupt", "approval"):
                    tool.approve(f"`{_short(qualname)}` in its body")
                    break
            for function in reached:
                for qualname in self.out.raised.get(id(function), ()):
                    if component_role(self.ctx, qualname) in ("interrupt", "approval"):
                        tool.approve(f"`raise {_short(qualname)}` in its body")


_Scanner._handlers = {
    cst.FunctionDef: _Scanner.visit_FunctionDef,
    cst.ClassDef: _Scanner.visit_ClassDef,
    cst.Call: _Scanner.visit_Call,
    cst.Dict: _Scanner.visit_Dict,
    cst.Raise: _Scanner.visit_Raise,
    cst.Assign: _Scanner._on_assign,
    cst.AnnAssign: _Scanner._on_assign,
    cst.NamedExpr: _Scanner._on_assign,
    cst.For: _Scanner._on_loop,
    cst.CompFor: _Scanner._on_loop,
    cst.Subscript: _Scanner._on_subscript,
    cst.Comparison: _Scanner._on_comparison,
}


# -- helpers ------------------------------------------------------------------------------------


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _target_names(e.value)]
    return []



def _short(qualname: str) -> str:
    return ".".join(qualname.replace("()", "").split(".")[-2:])


def _approves(value: cst.BaseExpression, keyword: str, human_input) -> bool:
    found = literal(value)
    if isinstance(value, (cst.List, cst.Tuple)):
        return bool(value.elements)
    if human_input is not None and human_input.keyword == keyword and human_input.approval_values:
        return found is _DYNAMIC or found in human_input.approval_values
    return found not in (False, None, "")


def _tool_name(default: str, call: Optional[cst.Call], spec: ToolDecoratorSpec) -> str:
    if call is None:
        return default
    for keyword in spec.name_keywords:
        arg = keyword_arg(call, keyword)
        if arg is not None and literal_string(arg.value):
            return literal_string(arg.value)
    first = positional_arg(call, 0)
    if first is not None and literal_string(first.value):
        return literal_string(first.value)
    return default


def _keyword_name(call: cst.Call) -> Optional[str]:
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
            if isinstance(target, cst.Name) and target.value == "name" and literal_string(value):
                return literal_string(value)
    return node.name.value
