"""The values of the tool scan (:mod:`tools`): tool definitions, constructs that list tools, each
function's calls, and the queries on them that need no scan of their own. :mod:`tool_scan` and
:mod:`tool_scan_links` build a :class:`ToolScan` from these; :mod:`tools` runs the scan once per
file and answers the rules. It imports neither."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import libcst as cst

from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.semantic.names import literal_string, string_literal_text
from factorlint.knowledge import SideEffectSpec, ToolDecoratorSpec

ToolKind = Literal["decorated", "class", "listed", "schema"]
Scope = cst.FunctionDef | int  # a function, or 0 for the module


_DYNAMIC = object()  # a value that is not a literal


_WRAPPED_KEYWORDS = ("func", "fn", "function", "callable", "f")


@dataclass
class ToolDef:
    node: cst.CSTNode  # FunctionDef | ClassDef | Dict | the list element
    name: str
    kind: ToolKind
    framework: str | None  # Framework.name ("openai_agents"), or the wire format of a schema
    approval: bool = False
    approval_source: str = ""  # what gates it, for messages
    site: cst.CSTNode | None = None  # the decorator, wrapper call or list element
    spec: ToolDecoratorSpec | None = None
    decorator_call: cst.Call | None = None  # the decorator's or wrapper's call (its keywords)

    @property
    def function(self) -> cst.FunctionDef | None:
        return self.node if isinstance(self.node, cst.FunctionDef) else None

    @property
    def describes_from_docstring(self) -> bool:
        """Does the framework turn the docstring into the tool's description here?"""
        if self.kind == "listed":
            return self.function is not None  # plain functions: every framework reads __doc__
        if self.spec is None or not self.spec.description_from_docstring:
            return False
        call = self.decorator_call
        return call is None or not any(keyword_arg(call, k) for k in self.spec.description_keywords)

    def approve(self, source: str) -> None:
        if not self.approval:
            self.approval, self.approval_source = True, source


@dataclass
class _Construct:
    call: cst.Call
    label: str
    framework: str | None
    elements: list[tuple[cst.BaseExpression, tuple]] = field(default_factory=list)
    approving: str = ""  # the approving keyword, "" when none
    file_wide: bool = False  # approves every tool of the file (a graph paused before its nodes)
    references: list[str] = field(default_factory=list)  # names of other constructs it uses
    lists_tools: bool = True  # takes a tools list (an agent, a model call; not a crew or a graph)


@dataclass
class ToolScan:
    tools: list[ToolDef] = field(default_factory=list)
    by_node: dict[int, ToolDef] = field(default_factory=dict)
    per_agent: dict[cst.Call, list[str]] = field(default_factory=dict)
    calls: dict[int, list[tuple[cst.Call, str | None]]] = field(default_factory=dict)  # id(def) or 0
    nested: dict[tuple[int, str], cst.FunctionDef] = field(default_factory=dict)  # (id(parent), name)
    scopes: dict[int, tuple] = field(default_factory=dict)  # id(def/class) -> enclosing functions
    raised: dict[int, list[str]] = field(default_factory=dict)  # id(def) -> ``raise Name`` qualnames


def class_methods(node: cst.ClassDef) -> list[cst.FunctionDef]:
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    return [s for s in body if isinstance(s, cst.FunctionDef)]


def tool_functions(tool: ToolDef) -> list[cst.FunctionDef]:
    """The code that runs when the tool is called: the function, or the class's methods."""
    if isinstance(tool.node, cst.FunctionDef):
        return [tool.node]
    if isinstance(tool.node, cst.ClassDef):
        return class_methods(tool.node)
    return []


def side_effect(ctx, call: cst.Call, qualname: str | None) -> SideEffectSpec | None:
    """The side-effect table entry a call matches (``subprocess.run``, ``execute("DELETE ...")``)."""
    knowledge = ctx.knowledge
    specs = list(knowledge.side_effect_calls.get(qualname)) if qualname else []
    if isinstance(call.func, cst.Attribute):
        specs += [s for s in knowledge.side_effect_methods.get(call.func.attr.value, ()) if s not in specs]
    for spec in specs:
        if spec.argument_pattern is None:
            return spec
        arg = keyword_arg(call, spec.argument_keyword) if spec.argument_keyword else None
        arg = arg or positional_arg(call, spec.argument_position)
        text = string_literal_text(arg.value) if arg is not None else None
        if text is not None and re.search(spec.argument_pattern, text):
            return spec
    return None


def component_role(ctx, qualname: str | None) -> str | None:
    if qualname is None:
        return None
    found = ctx.knowledge.components.first(qualname)
    return found.role if found is not None else None


def literal(node: cst.BaseExpression):
    """True/False/None, a string, or ``_DYNAMIC``."""
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    text = literal_string(node)
    return text if text is not None else _DYNAMIC


# Fields that never hold code: whitespace, brackets, commas, and names we never look at.


_SKIPPED_FIELDS = frozenset(
    {"lpar", "rpar", "leading_lines", "lines_after_decorators", "comma", "semicolon", "equal", "dot",
     "colon", "lbracket", "rbracket", "lbrace", "rbrace", "header", "footer", "indent", "default_indent",
     "default_newline", "encoding", "has_trailing_newline", "asynchronous", "star", "operator",
     "posonly_ind", "trailing_whitespace", "start", "end", "attr", "name", "keyword", "asname",
     "type_parameters", "decorators"}
)


_FIELDS: dict[type, tuple[str, ...]] = {}


def dict_get(node: cst.Dict, key: str) -> cst.BaseExpression | None:
    for element in node.elements:
        if isinstance(element, cst.DictElement) and literal_string(element.key) == key:
            return element.value
    return None


def schema_shape(node: cst.Dict) -> tuple[str, str | None] | None:
    """The wire format of a tool-schema dict literal and the tool's name, or None."""
    kind = dict_get(node, "type")
    if kind is not None and literal_string(kind) == "function":
        inner = dict_get(node, "function")
        if isinstance(inner, cst.Dict) and dict_get(inner, "name") is not None:
            return "chat_completions", _literal_name(dict_get(inner, "name"))
        if dict_get(node, "name") is not None and dict_get(node, "parameters") is not None:
            return "responses", _literal_name(dict_get(node, "name"))
        return None
    if dict_get(node, "name") is not None and dict_get(node, "input_schema") is not None:
        return "anthropic", _literal_name(dict_get(node, "name"))
    return None


def schema_parameters(node: cst.Dict) -> cst.BaseExpression | None:
    """The parameters / input_schema value of a tool-schema dict."""
    inner = dict_get(node, "function")
    holder = inner if isinstance(inner, cst.Dict) else node
    return dict_get(holder, "parameters") or dict_get(holder, "input_schema")


def _literal_name(value: cst.BaseExpression | None) -> str | None:
    return literal_string(value) if value is not None else None


def reachable_calls_in(
    ctx, scanned: ToolScan, functions: list[cst.FunctionDef], depth: int = 2
) -> Iterator[tuple[cst.Call, str | None, cst.FunctionDef]]:
    """Calls made by ``functions`` and, ``depth`` calls deep, by the functions of this file they
    call (module functions, ``self`` methods, nested helpers): (call, qualname, its function)."""
    seen: set[int] = set()
    todo = [(f, 0) for f in functions]
    while todo:
        function, level = todo.pop(0)
        if id(function) in seen:
            continue
        seen.add(id(function))
        for call, qualname in scanned.calls.get(id(function), []):
            yield call, qualname, function
            if level < depth:
                callee = local_function_in(ctx, scanned, call, qualname, function)
                if callee is not None:
                    todo.append((callee, level + 1))


def local_function_in(ctx, scanned: ToolScan, call: cst.Call, qualname: str | None, caller) -> cst.FunctionDef | None:
    """The FunctionDef of this file a call reaches, if any."""
    if qualname is None:
        if isinstance(call.func, cst.Name):
            for scope in (caller, *reversed(scanned.scopes.get(id(caller), ()))):
                found = scanned.nested.get((id(scope), call.func.value))
                if found is not None:
                    return found
        return None
    prefix = ctx.module_name + "."
    if not qualname.startswith(prefix):
        return None
    rest = qualname[len(prefix):]
    if rest in ctx.scan.module_functions:
        return ctx.scan.module_functions[rest]
    owner, _, method = rest.rpartition(".")
    return ctx.scan.methods.get(owner, {}).get(method)
