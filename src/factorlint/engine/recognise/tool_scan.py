"""The one walk over a module that finds tools, agent constructions and approvals (tools.py's engine)."""

from __future__ import annotations

import dataclasses
import fnmatch

import libcst as cst

from factorlint.engine.parse.walk import children
from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.recognise.tool_model import (
    _FIELDS,
    _SKIPPED_FIELDS,
    _WRAPPED_KEYWORDS,
    ToolDef,
    ToolScan,
    _Construct,
    component_role,
    literal,
)
from factorlint.engine.recognise.tool_scan_links import (
    ToolLinks,
    _approves,
    _class_tool_name,
    _short,
    _tool_name,
)
from factorlint.engine.semantic.names import dotted_name, literal_string
from factorlint.knowledge import ToolDecoratorSpec


def _child_fields(kind: type) -> tuple[str, ...]:
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = tuple(
            f.name for f in dataclasses.fields(kind)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
        )
    return found


# Nodes with nothing the scan reads below them (no call, dict, raise, function or class): not
# entered, which spares a call per name and literal, the bulk of a module's nodes.
_LEAVES = frozenset({
    cst.Name, cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary, cst.Ellipsis, cst.Pass,
    cst.Break, cst.Continue, cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal,
})


class _Scanner(ToolLinks):
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
        self._bindings: dict | None = None
        self.extra_approvals = tuple(getattr(ctx.settings, "approval_decorators", ()) or ())
        self.started = False  # run() is under way or done (tools.scan)

    def run(self) -> ToolScan:
        ctx = self.ctx
        saved = ctx.function_stack, ctx.class_stack
        ctx.function_stack, ctx.class_stack = self.stack, self.classes
        try:
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
        for child in children(node, _child_fields):
            if type(child) not in _LEAVES:
                self._walk(child)

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
        receiver = call.func if call is not None else expr
        if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name):
            self.instance_tools.append((receiver.value.value, tuple(self.stack), tool))

    def _decorator_approval(self, tool: ToolDef, call: cst.Call | None, spec: ToolDecoratorSpec) -> None:
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
            if spec is None:
                if local is None:
                    continue
                spec = local.spec
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
        found: list[tuple[cst.BaseExpression, tuple]] = []
        for keyword in keywords:
            arg = keyword_arg(node, keyword)
            if arg is None:  # config=GenerateContentConfig(tools=[...]): one level down
                for other in node.args:
                    if other.keyword is not None and isinstance(other.value, cst.Call):
                        arg = keyword_arg(other.value, keyword) or arg
            if arg is not None:
                found.extend((e, tuple(self.stack)) for e in self._elements(arg.value, tuple(self.stack)))
        return found



_Scanner._handlers = {
    cst.FunctionDef: _Scanner.visit_FunctionDef,
    cst.ClassDef: _Scanner.visit_ClassDef,
    cst.Call: _Scanner.visit_Call,
    cst.Dict: _Scanner.visit_Dict,
    cst.Raise: _Scanner.visit_Raise,
}
