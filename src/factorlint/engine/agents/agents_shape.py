"""The shape of an agent, for the factor-10 and factor-13 rules: its tools, its step limits, its
prompt text and the tool it is forced to call first.

Values are followed through one level of names: a module-level assignment, a local variable
assigned exactly once in the enclosing function, a parameter's default, or a ``self.x`` set once in
its class. Counts are lower bounds: an element whose size cannot be known (``*plugin_tools`` from
elsewhere) adds nothing, so "more than N" is only said when it is certain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.semantic.names import dotted_name, literal_string

_TEXT_WRAPPERS = frozenset({"format", "format_map", "strip", "lstrip", "rstrip"})
_TEXT_FUNCTIONS = frozenset({"textwrap.dedent", "inspect.cleandoc", "builtins.str"})
# tool_choice values that name a mode, not a tool (OpenAI, Anthropic, LangChain bind_tools).
TOOL_CHOICE_MODES = frozenset({"auto", "none", "required", "any"})


# -- following names ----------------------------------------------------------------------------


def _assignments(ctx) -> dict:
    return ctx.analysis(assignment_index)


def assignment_index(ctx) -> dict:
    """(scope, target) -> every (value, function it was assigned in); scope 0 is the module, a
    class's qualname holds its body attributes and its ``self.x`` assignments."""
    index: dict = {}
    for pending in ctx.scan.pending:
        if pending.target.startswith("self.") and pending.class_qualname is not None:
            key = (pending.class_qualname, pending.target[5:])
        elif pending.function is not None:
            key = (id(pending.function), pending.target)
        elif pending.class_qualname is not None:
            key = (pending.class_qualname, pending.target)
        else:
            key = (0, pending.target)
        index.setdefault(key, []).append((pending.value, pending.function))
    return index


def _parameter_default(function: cst.FunctionDef, name: str) -> tuple[bool, cst.BaseExpression | None]:
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            return True, param.default
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param) and star.name.value == name:
            return True, None
    return False, None


Stack = tuple  # the enclosing functions a name is looked up in, outermost first


def _owner(ctx, stack: Stack) -> str | None:
    for function in reversed(stack):
        owner = ctx.scan.class_of_function.get(id(function))
        if owner is not None:
            return owner
    return None


def resolve_in(ctx, expr: cst.BaseExpression, stack: Stack | None = None, *, defaults: bool = False):
    """``(value, stack to read that value in)`` for the one value a name stands for, or None when
    it has none or several. With ``defaults`` a parameter stands for its default value."""
    stack = tuple(ctx.function_stack) if stack is None else stack
    index = _assignments(ctx)
    if isinstance(expr, cst.Name):
        for depth in range(len(stack) - 1, -1, -1):
            function = stack[depth]
            values = index.get((id(function), expr.value))
            if values:
                return (values[0][0], stack[: depth + 1]) if len(values) == 1 else None
            is_param, default = _parameter_default(function, expr.value)
            if is_param:
                return (default, stack[:depth]) if defaults and default is not None else None
        values = index.get((0, expr.value))
        if values and len(values) == 1:
            return values[0][0], ()
        return None
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value in ("self", "cls"):
        owner = _owner(ctx, stack)
        values = index.get((owner, expr.attr.value)) if owner is not None else None
        if values and len(values) == 1:
            value, function = values[0]
            return value, (function,) if function is not None else ()
    return None


def resolve(ctx, expr: cst.BaseExpression, *, defaults: bool = False) -> cst.BaseExpression | None:
    """The one value a name stands for in the current scope (see :func:`resolve_in`)."""
    found = resolve_in(ctx, expr, defaults=defaults)
    return found[0] if found is not None else None


def int_value(ctx, expr: cst.BaseExpression, _depth: int = 0, _stack: Stack | None = None) -> tuple[int, str] | None:
    """A whole number an expression certainly holds, with the name it came through ("" if literal)."""
    if isinstance(expr, cst.Integer):
        try:
            return int(expr.evaluated_value), ""
        except ValueError:
            return None
    if _depth > 3 or not isinstance(expr, (cst.Name, cst.Attribute)):
        return None
    found = resolve_in(ctx, expr, _stack, defaults=True)
    if found is None:
        return None
    number = int_value(ctx, found[0], _depth + 1, found[1])
    if number is None:
        return None
    return number[0], number[1] or (dotted_name(expr) or "")


# -- counting tools ------------------------------------------------------------------------------


def count_items(ctx, expr: cst.BaseExpression, _depth: int = 0, _stack: Stack | None = None) -> tuple[int, bool]:
    """How many items a list expression holds at least, and whether that count is exact."""
    if _depth > 4:
        return 0, False
    if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
        total, exact = 0, True
        for element in expr.elements:
            if isinstance(element, cst.StarredElement):
                n, e = count_items(ctx, element.value, _depth + 1, _stack)
                total, exact = total + n, exact and e
            else:
                total += 1
        return total, exact
    if isinstance(expr, cst.Dict):
        total, exact = 0, True
        for dict_element in expr.elements:
            if isinstance(dict_element, cst.StarredDictElement):
                n, e = count_items(ctx, dict_element.value, _depth + 1, _stack)
                total, exact = total + n, exact and e
            else:
                total += 1
        return total, exact
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        left, right = count_items(ctx, expr.left, _depth + 1, _stack), count_items(ctx, expr.right, _depth + 1, _stack)
        return left[0] + right[0], left[1] and right[1]
    if isinstance(expr, (cst.ListComp, cst.SetComp, cst.DictComp)):
        inner = expr.for_in
        n, exact = count_items(ctx, inner.iter, _depth + 1, _stack)
        if inner.ifs or inner.inner_for_in is not None:
            return 0, False
        return n, exact
    if isinstance(expr, cst.Call) and ctx.qualname(expr.func) in ("builtins.list", "builtins.tuple") and expr.args:
        return count_items(ctx, expr.args[0].value, _depth + 1, _stack)
    if isinstance(expr, (cst.Name, cst.Attribute)):
        found = resolve_in(ctx, expr, _stack)
        if found is not None:
            return count_items(ctx, found[0], _depth + 1, found[1])
    return 0, False


@dataclass
class ToolSite:
    """A call that hands a model (or an agent) its tools."""

    call: cst.Call
    label: str
    lists: list[tuple[str, cst.BaseExpression]] = field(default_factory=list)  # (keyword, value)
    requires: tuple[str, ...] = ()
    agent_type: str | None = None
    tool_choice: list[tuple[cst.BaseExpression, bool]] = field(default_factory=list)  # (value, strings name tools)


def _short(qualname: str) -> str:
    return ".".join(qualname.replace("()", "").split(".")[-3:])


def tool_site(ctx, call: cst.Call) -> ToolSite | None:
    """The tool lists an agent constructor, a model call or a ``bind_tools`` call receives."""
    construct = ctx.recognise.agent_construct(call)
    if construct is not None:
        site = ToolSite(call, f"{construct.framework.title} `{construct.qualname.rsplit('.', 1)[-1]}`",
                        agent_type=construct.qualname)
        for keyword in construct.spec.tools_keywords:
            arg = keyword_arg(call, keyword)
            if arg is not None:
                site.lists.append((keyword, arg.value))
        return site
    llm = ctx.recognise.llm_call(call)
    if llm is not None and llm.spec is not None:
        site = ToolSite(call, f"`{_short(llm.qualname)}`", requires=llm.requires)
        for keyword in llm.spec.tools_keywords:
            arg = keyword_arg(call, keyword)
            if arg is not None:
                site.lists.append((keyword, arg.value))
        for keyword in llm.spec.tool_choice_keywords:
            arg = keyword_arg(call, keyword)
            if arg is not None:
                site.tool_choice.append((arg.value, False))
        return site
    qualname = ctx.qualname(call.func)
    if qualname is None or "()." not in qualname:
        return None
    receiver, member = qualname.rsplit("().", 1)
    client = ctx.knowledge_client(receiver)
    if client is None:
        return None
    for binding in client.tool_bindings:
        if member not in binding.methods:
            continue
        site = ToolSite(call, f"`{_short(receiver)}.{member}`")
        arg = next((keyword_arg(call, k) for k in binding.tools_keywords if keyword_arg(call, k)), None)
        if arg is None and binding.tools_positional is not None:
            arg = positional_arg(call, binding.tools_positional)
        if arg is not None:
            site.lists.append(("tools", arg.value))
        for keyword in binding.tool_choice_keywords:
            choice = keyword_arg(call, keyword)
            if choice is not None:
                site.tool_choice.append((choice.value, True))
        return site
    return None


# -- tool names ------------------------------------------------------------------------------------


def _dict_get(node: cst.Dict, key: str) -> cst.BaseExpression | None:
    for element in node.elements:
        if isinstance(element, cst.DictElement) and literal_string(element.key) == key:
            return element.value
    return None


def _schema_name(node: cst.Dict) -> str | None:
    """``{"type": "function", "function": {"name": X}}``, ``{"name": X, ...}``."""
    function = _dict_get(node, "function")
    if isinstance(function, cst.Dict):
        return literal_string(_dict_get(function, "name") or cst.Name("None"))
    name = _dict_get(node, "name")
    return literal_string(name) if name is not None else None


def _decorated_name(function: cst.FunctionDef) -> str | None:
    """``@tool("lookup")`` / ``@function_tool(name_override="lookup")``: a renamed tool."""
    for decorator in function.decorators:
        call = decorator.decorator
        if not isinstance(call, cst.Call):
            continue
        for arg in call.args:
            if arg.keyword is None or arg.keyword.value in ("name", "name_override"):
                text = literal_string(arg.value)
                if text:
                    return text
    return None


def tool_names(ctx, expr: cst.BaseExpression, _depth: int = 0, _stack: Stack | None = None) -> tuple[set[str], bool]:
    """The names the model sees for the tools in a list, and whether every element gave one
    (a plain name in the list counts as the tool's name)."""
    if _depth > 4:
        return set(), False
    if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
        names, complete = set(), True
        for element in expr.elements:
            found, known = tool_names(ctx, element.value, _depth + 1, _stack) if isinstance(
                element, cst.StarredElement
            ) else _element_name(ctx, element.value)
            names |= found
            complete = complete and known
        return names, complete
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        left, right = tool_names(ctx, expr.left, _depth + 1, _stack), tool_names(ctx, expr.right, _depth + 1, _stack)
        return left[0] | right[0], left[1] and right[1]
    if isinstance(expr, (cst.Name, cst.Attribute)):
        found = resolve_in(ctx, expr, _stack)
        if found is not None:
            return tool_names(ctx, found[0], _depth + 1, found[1])
    return set(), False


def _element_name(ctx, value: cst.BaseExpression) -> tuple[set[str], bool]:
    if isinstance(value, cst.Dict):
        name = _schema_name(value)
        return ({name}, True) if name else (set(), False)
    if isinstance(value, cst.Name):
        function = ctx.scan.module_functions.get(value.value)
        if function is not None:
            return {_decorated_name(function) or value.value}, True
        # An imported function, or an object named after its tool: taken as the tool's name.
        return {value.value}, True
    if isinstance(value, cst.Attribute):
        return {value.attr.value}, True
    if isinstance(value, cst.Call):
        for keyword in ("name", "name_override"):
            arg = keyword_arg(value, keyword)
            given = literal_string(arg.value) if arg is not None else None
            if given:
                return {given}, True
        first = positional_arg(value, 0)
        if first is not None and isinstance(first.value, cst.Name):
            return _element_name(ctx, first.value)[0], False
    return set(), False


# -- prompt text -----------------------------------------------------------------------------------


def forced_tool(ctx, value: cst.BaseExpression, strings_name_tools: bool) -> tuple[str, bool] | None:
    """The tool a ``tool_choice`` value forces ("" when named by a variable), and whether the
    forcing is conditional (``FORCED if first else "auto"``)."""
    if isinstance(value, cst.IfExp):
        for branch in (value.body, value.orelse):
            found = forced_tool(ctx, branch, strings_name_tools)
            if found is not None:
                return found[0], True
        return None
    if isinstance(value, (cst.Name, cst.Attribute)):
        resolved = resolve(ctx, value)
        return forced_tool(ctx, resolved, strings_name_tools) if resolved is not None else None
    text = literal_string(value)
    if text is not None:
        if strings_name_tools and text.strip().lower() not in TOOL_CHOICE_MODES and text.strip():
            return text, False
        return None
    if not isinstance(value, cst.Dict):
        return None
    kind = literal_string(_dict_get(value, "type") or cst.Name("None"))
    if kind not in ("function", "tool"):
        return None
    function = _dict_get(value, "function")
    name = _dict_get(function, "name") if isinstance(function, cst.Dict) else _dict_get(value, "name")
    if name is None:
        return None
    return literal_string(name) or "", False
