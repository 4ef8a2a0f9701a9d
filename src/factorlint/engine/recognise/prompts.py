"""Prompt sites and where their text comes from.

A prompt site is a value handed to a model or an agent as instructions: ``system=``,
``instructions=``, a ``{"role": "system", "content": ...}`` message, ``SystemMessage(...)``,
``PromptTemplate.from_template(...)``, a CrewAI ``role=``/``goal=``. Its source is one of:

- ``inline``: a literal written at the site;
- ``constant``: a module-level UPPER_CASE name (this module's or imported);
- ``file``: text read from a file or template (``Path.read_text``, ``open().read``, Jinja);
- ``remote``: fetched at run time (``hub.pull``);
- ``dynamic``: anything else (a parameter, a local built from parts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import libcst as cst

from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.semantic.names import dotted_name, string_literal_text

SourceKind = Literal["inline", "constant", "file", "remote", "dynamic"]

_TEXT_WRAPPERS = frozenset({"format", "format_map", "strip", "lstrip", "rstrip", "replace"})
_FILE_READERS = frozenset({"read_text", "read", "render", "get_template", "from_file", "read_bytes"})
_FILE_FUNCTIONS = frozenset(
    {"textwrap.dedent", "inspect.cleandoc", "importlib.resources.read_text", "pkgutil.get_data",
     "yaml.safe_load", "json.load", "tomllib.load"}
)
_PROMPT_ROLES = frozenset({"system", "developer", "user"})


@dataclass(frozen=True)
class PromptSite:
    node: cst.BaseExpression  # the value
    where: str  # "system=", "messages[system]", "SystemMessage"
    kind: SourceKind
    text_chars: int = 0
    text_lines: int = 0
    # Written in the call itself; False for a local the function binds once and hands over
    # (``system_prompt = f"""..."""``) or messages handed to a project wrapper.
    at_call: bool = True


def classify(ctx, expr: cst.BaseExpression) -> tuple[SourceKind, int, int]:
    """Where the text of ``expr`` comes from, with its literal size when inline."""
    text = string_literal_text(expr)
    if text is not None:
        return "inline", len(text.strip()), text.strip().count("\n") + 1
    if isinstance(expr, cst.Call):
        qualname = ctx.qualname(expr.func) or ""
        if ctx.knowledge.remote_prompts.first(qualname) is not None:
            return "remote", 0, 0
        if qualname in _FILE_FUNCTIONS and expr.args:
            if qualname in ("textwrap.dedent", "inspect.cleandoc"):
                return classify(ctx, expr.args[0].value)
            return "file", 0, 0
        if isinstance(expr.func, cst.Attribute):
            method = expr.func.attr.value
            if method in _TEXT_WRAPPERS:
                return classify(ctx, expr.func.value)
            if method in _FILE_READERS:
                return "file", 0, 0
        return "dynamic", 0, 0
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo):
        return classify(ctx, expr.left)
    if isinstance(expr, (cst.Name, cst.Attribute)):
        name = dotted_name(expr) or ""
        last = name.rsplit(".", 1)[-1]
        if last.isupper() or (last.lstrip("_").isupper() and last.startswith("_")):
            return "constant", 0, 0
    return "dynamic", 0, 0


def _site(ctx, value: cst.BaseExpression, where: str, at_call: bool = True) -> PromptSite:
    bound = _bound_once(ctx, value)
    if bound is not None and string_literal_text(bound) is not None:
        value, at_call = bound, False  # ``system_prompt = f"""..."""`` in the function that sends it
    kind, chars, lines = classify(ctx, value)
    return PromptSite(value, where, kind, chars, lines, at_call)


def _bound_once(ctx, value: cst.BaseExpression) -> cst.BaseExpression | None:
    """What a local name of the current function is bound to, when it is bound exactly once."""
    if not isinstance(value, cst.Name) or not ctx.function_stack:
        return None
    bindings = ctx.current_flow().bindings.get(value.value, [])
    if len(bindings) != 1 or bindings[0][0] != "value":
        return None
    return bindings[0][1]


def _message_sites(ctx, messages: cst.BaseExpression, where: str, at_call: bool = True) -> list[PromptSite]:
    sites: list[PromptSite] = []
    if not isinstance(messages, (cst.List, cst.Tuple)):
        return sites
    for element in messages.elements:
        value = element.value
        if isinstance(value, cst.Dict):
            role = content = None
            for item in value.elements:
                if not isinstance(item, cst.DictElement):
                    continue
                key = string_literal_text(item.key)
                if key == "role":
                    role = string_literal_text(item.value)
                elif key == "content":
                    content = item.value
            if role in _PROMPT_ROLES and content is not None:
                sites.append(_site(ctx, content, f"{where}[{role}]", at_call))
        elif isinstance(value, cst.Tuple) and len(value.elements) == 2:
            role = string_literal_text(value.elements[0].value)
            if role in _PROMPT_ROLES or role in ("human", "ai"):
                sites.append(_site(ctx, value.elements[1].value, f"{where}[{role}]", at_call))
        elif isinstance(value, cst.Call):
            sites.extend(builder_sites(ctx, value))
    return sites


def builder_sites(ctx, call: cst.Call) -> list[PromptSite]:
    """Prompt text handed to a prompt builder (SystemMessage, PromptTemplate.from_template)."""
    qualname = ctx.qualname(call.func)
    if qualname is None:
        return []
    builder = ctx.knowledge.prompt_builders.first(qualname)
    if builder is None:
        return []
    name = qualname.rsplit(".", 1)[-1]
    sites = []
    for keyword in builder.keywords:
        arg = keyword_arg(call, keyword)
        if arg is not None:
            sites.append(_site(ctx, arg.value, f"{name}({keyword}=)"))
    if builder.positional is not None:
        arg = positional_arg(call, builder.positional)
        if arg is not None:
            sites.append(_site(ctx, arg.value, name))
    if builder.message_tuples_positional is not None:
        arg = positional_arg(call, builder.message_tuples_positional)
        if arg is not None:
            sites.extend(_message_sites(ctx, arg.value, name))
    return sites


def call_prompt_sites(ctx, call: cst.Call, spec) -> list[PromptSite]:
    """Prompt sites in a model call, from its CallSpec."""
    sites = []
    for keyword in spec.prompt_keywords:
        arg = keyword_arg(call, keyword)
        if arg is not None:
            sites.append(_site(ctx, arg.value, f"{keyword}="))
    for keyword in spec.message_keywords:
        arg = keyword_arg(call, keyword)
        if arg is not None:
            sites.extend(_text_or_message_sites(ctx, arg.value, f"{keyword}=", keyword))
    if spec.prompt_positional is not None:
        arg = positional_arg(call, spec.prompt_positional)
        if arg is not None:
            sites.extend(_text_or_message_sites(ctx, arg.value, "prompt", "messages"))
    return sites


def wrapper_message_sites(ctx, call: cst.Call) -> list[PromptSite]:
    """Chat messages handed to a project function that may reach a model (gpt-researcher's
    ``create_chat_completion(messages=[{"role": "system", "content": ...}])``): whatever the
    argument is called, a list of role/content dicts is a prompt."""
    sites: list[PromptSite] = []
    for arg in call.args:
        if arg.star:
            continue
        value = _bound_once(ctx, arg.value) or arg.value
        if isinstance(value, (cst.List, cst.Tuple)):
            where = f"{arg.keyword.value}=" if arg.keyword is not None else "messages"
            sites.extend(_message_sites(ctx, value, where, at_call=False))
    return sites


def _text_or_message_sites(
    ctx, value: cst.BaseExpression, text_where: str, list_where: str
) -> list[PromptSite]:
    """A value that is either the prompt text itself or a list of messages.

    A list or tuple is read message by message. Anything else is text: a literal, or a literal
    behind a wrapper (``textwrap.dedent(...)``, ``"...".format(...)``), a constant or a file.
    A value of unknown origin (``messages=history``) is not a site: it is most often a list.
    """
    bound = _bound_once(ctx, value)
    if isinstance(bound, (cst.List, cst.Tuple)):
        # ``messages = [{"role": "system", ...}, ...]`` then ``messages=messages``
        return _message_sites(ctx, bound, list_where, at_call=False)
    if isinstance(value, (cst.List, cst.Tuple)):
        return _message_sites(ctx, value, list_where)
    site = _site(ctx, value, text_where)
    return [site] if site.kind != "dynamic" else []


def agent_prompt_sites(ctx, call: cst.Call, prompt_spec) -> list[PromptSite]:
    sites = []
    for keyword in (*prompt_spec.keywords, *prompt_spec.override_keywords):
        arg = keyword_arg(call, keyword)
        if arg is not None:
            sites.append(_site(ctx, arg.value, f"{keyword}="))
    return sites


def is_inline_prompt(site: PromptSite, min_chars: int) -> bool:
    return site.kind == "inline" and (site.text_chars >= min_chars or site.text_lines >= 3)


def literal_text(expr: cst.BaseExpression) -> str | None:
    return string_literal_text(expr)
