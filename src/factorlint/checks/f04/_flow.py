"""Shared by the factor-4 rules: what one function body does with the tool calls a model returns.

Everything here reads one function at a time (nested defs and classes are their own functions).
Tool-call values are recognised by the wire format's field names on values that come from a model
response: ``<call>.function.arguments`` / ``["function"]["arguments"]`` (Chat Completions),
``<item>.arguments`` and ``<item>.name`` of a Responses ``function_call`` item, ``<block>.input`` and
``<block>.name`` of an Anthropic ``tool_use`` block, and the elements of a ``.tool_calls`` list.
"""

from __future__ import annotations

import libcst as cst

from factorlint.engine.semantic.flow import FunctionFlow
from factorlint.engine.semantic.names import dotted_name, literal_string

# Item types that mark a value as a tool call (Anthropic ``tool_use`` blocks, Responses items).
TOOL_CALL_TYPES = frozenset({"tool_use", "function_call"})
JSON_LOADERS = frozenset(
    {"json.loads", "orjson.loads", "ujson.loads", "simplejson.loads", "json_repair.loads",
     "json_repair.repair_json"}
)


Body = FunctionFlow


def body_of(ctx, function: cst.FunctionDef) -> Body:
    """The function's value-flow index (the engine builds one per function)."""
    return ctx.flow(function)


def last_attribute(expr: cst.BaseExpression) -> str | None:
    """``tool_calls`` for ``resp.choices[0].message.tool_calls`` (or ``... or []``)."""
    if isinstance(expr, cst.BooleanOperation):
        return last_attribute(expr.left)
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None


def root_name(expr: cst.BaseExpression) -> str | None:
    """The name an attribute/subscript/call chain starts from."""
    while True:
        if isinstance(expr, (cst.Attribute, cst.Subscript)):
            expr = expr.value
        elif isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, cst.Await):
            expr = expr.expression
        else:
            return expr.value if isinstance(expr, cst.Name) else None


def subscript_key(node: cst.Subscript) -> str | None:
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return literal_string(node.slice[0].slice.value)
    return None


def tool_call_items(body: Body) -> set[str]:
    """Names that hold one tool call: loop variables over ``.tool_calls``, and names compared
    with a tool-call item type (``block.type == "tool_use"``)."""
    items = set()
    for target, iterable in body.loops:
        if isinstance(target, cst.Name) and last_attribute(iterable) == "tool_calls":
            items.add(target.value)
    for compare in body.comparisons:
        operands = [compare.left, *(c.comparator for c in compare.comparisons)]
        if not any(literal_string(o) in TOOL_CALL_TYPES for o in operands):
            continue
        for operand in operands:
            path = dotted_name(operand)
            if path and path.endswith(".type") and path.count(".") == 1:
                items.add(path.split(".", 1)[0])
    return items


def is_field(expr: cst.BaseExpression, field_name: str, items: set[str], *, wire: bool = True) -> bool:
    """``<x>.function.<field>`` / ``<x>["function"]["<field>"]`` anywhere (``wire``), or
    ``<item>.<field>`` / ``<item>["<field>"]`` / ``<item>.get("<field>")`` of a tool-call item."""
    if isinstance(expr, cst.Attribute) and expr.attr.value == field_name:
        inner = expr.value
        if wire and isinstance(inner, cst.Attribute) and inner.attr.value == "function":
            return True
        return isinstance(inner, cst.Name) and inner.value in items
    if isinstance(expr, cst.Subscript) and subscript_key(expr) == field_name:
        inner = expr.value
        if wire and isinstance(inner, cst.Subscript) and subscript_key(inner) == "function":
            return True
        return isinstance(inner, cst.Name) and inner.value in items
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "get"
        and expr.args
        and literal_string(expr.args[0].value) == field_name
    ):
        inner = expr.func.value
        if wire and isinstance(inner, cst.Subscript) and subscript_key(inner) == "function":
            return True
        return isinstance(inner, cst.Name) and inner.value in items
    return False


def propagate(body: Body, seeds: dict[str, cst.CSTNode], carries, hops: int = 2) -> dict[str, cst.CSTNode]:
    """Names that hold a seeded value, following ``a = <expr of b>`` where ``carries(expr, names)``
    says the expression still holds it; each name maps to the node it came from."""
    tainted = dict(seeds)
    for _ in range(hops):
        added = False
        for names, value in body.assigns:
            source = carries(value, tainted)
            if source is None:
                continue
            for name in names:
                if name not in tainted:
                    tainted[name] = source
                    added = True
        if not added:
            break
    return tainted


def guarded_names(ctx, body: Body) -> set[str]:
    """Expressions tested for membership in a collection (``if name in TOOLS``), as source text."""
    guarded = set()
    for compare in body.comparisons:
        if any(isinstance(c.operator, (cst.In, cst.NotIn)) for c in compare.comparisons):
            guarded.add(ctx.code_for(compare.left).strip())
    return guarded


_VALIDATOR_SUFFIXES = (
    ".model_validate", ".model_validate_json", ".validate_python", ".validate_json", ".parse_obj",
    ".parse_raw", ".validate", ".from_dict",
)
_VALIDATOR_MODULES = ("jsonschema.", "fastjsonschema.", "cerberus.", "voluptuous.", "marshmallow.")


def looks_up(ctx, value: cst.BaseExpression, qualnames) -> bool:
    """``TOOLS[name]``, ``getattr(obj, name)``, ``registry.get(name)``: a callable found by name."""
    if isinstance(value, cst.Subscript):
        return True
    if isinstance(value, cst.Call):
        if qualnames.get(id(value)) == "builtins.getattr":
            return True
        return isinstance(value.func, cst.Attribute) and value.func.attr.value == "get"
    return False


def any_arguments(expr: cst.BaseExpression) -> bool:
    """``x.arguments`` / ``x["arguments"]`` / ``x.get("arguments")`` on any value."""
    if isinstance(expr, cst.Attribute):
        return expr.attr.value == "arguments"
    if isinstance(expr, cst.Subscript):
        return subscript_key(expr) == "arguments"
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "get":
        return bool(expr.args) and literal_string(expr.args[0].value) == "arguments"
    return False


def is_validator(qualname: str | None) -> bool:
    if not qualname:
        return False
    if qualname.endswith(_VALIDATOR_SUFFIXES) or qualname.startswith(_VALIDATOR_MODULES):
        return True
    return "validat" in qualname.rsplit(".", 1)[-1].lower()


def constructs_type(ctx, call: cst.Call, qualname: str | None) -> bool:
    """``Model(**args)``: a class (Pydantic model, dataclass) built from the arguments."""
    if qualname is None:
        return False
    last = qualname.replace("()", "").rsplit(".", 1)[-1]
    return last[:1].isupper() and not qualname.endswith("()")
