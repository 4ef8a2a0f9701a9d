"""The text of prompts handed to agents and model calls, followed through names (factors 10 and 13)."""


from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from factorlint.engine.agents.agents_shape import _TEXT_FUNCTIONS, _TEXT_WRAPPERS, Stack, resolve, resolve_in
from factorlint.engine.recognise.recognisers import keyword_arg
from factorlint.engine.semantic.names import literal_string


@dataclass(frozen=True)
class PromptText:
    text: str
    node: cst.BaseExpression  # the literal (or the constant's value) holding the text
    constant: str | None = None  # the module-level name it came through


def prompt_text(ctx, expr: cst.BaseExpression, _depth: int = 0, _stack: Stack | None = None) -> PromptText | None:
    """The literal text of a prompt value: a literal, a wrapped literal, or a name bound to one.

    f-string holes are kept as ``{}``; a concatenation with an unknown part keeps the known parts.
    """
    if _depth > 4:
        return None
    if isinstance(expr, cst.SimpleString):
        text = literal_string(expr)
        return PromptText(text, expr) if text is not None else None
    if isinstance(expr, cst.FormattedString):
        parts = [p.value if isinstance(p, cst.FormattedStringText) else "{}" for p in expr.parts]
        return PromptText("".join(parts), expr)
    if isinstance(expr, cst.ConcatenatedString):
        left, right = prompt_text(ctx, expr.left, _depth + 1, _stack), prompt_text(ctx, expr.right, _depth + 1, _stack)
        if left is None or right is None:
            return None
        return PromptText(left.text + right.text, expr)
    if isinstance(expr, cst.BinaryOperation):
        if isinstance(expr.operator, cst.Modulo):
            return prompt_text(ctx, expr.left, _depth + 1, _stack)
        if isinstance(expr.operator, cst.Add):
            left, right = prompt_text(ctx, expr.left, _depth + 1, _stack), prompt_text(ctx, expr.right, _depth + 1, _stack)
            if left is None and right is None:
                return None
            text = (left.text if left else "{}") + (right.text if right else "{}")
            return PromptText(text, expr)
        return None
    if isinstance(expr, cst.Call):
        qualname = ctx.qualname(expr.func) or ""
        if qualname in _TEXT_FUNCTIONS and expr.args:
            return prompt_text(ctx, expr.args[0].value, _depth + 1, _stack)
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _TEXT_WRAPPERS:
            return prompt_text(ctx, expr.func.value, _depth + 1, _stack)
        return None
    if isinstance(expr, (cst.Name, cst.Attribute)):
        resolved = resolve_in(ctx, expr, _stack)
        if resolved is None:
            return None
        found = prompt_text(ctx, resolved[0], _depth + 1, resolved[1])
        if found is None:
            return None
        constant = expr.value if isinstance(expr, cst.Name) and resolved[1] == () else None
        return PromptText(found.text, found.node, found.constant or constant)
    return None


def prompt_values(ctx, call: cst.Call) -> list[tuple[str, cst.BaseExpression, tuple[str, ...]]]:
    """Every prompt value handed to a model call, an agent constructor or a prompt builder:
    (where, value, requires). A ``messages=`` name bound once to a list literal is read too."""
    from factorlint.engine.recognise import prompts

    llm = ctx.recognise.llm_call(call)
    if llm is not None and llm.spec is not None:
        sites = prompts.call_prompt_sites(ctx, call, llm.spec)
        seen = {id(s.node) for s in sites}
        for keyword in llm.spec.message_keywords:
            arg = keyword_arg(call, keyword)
            if arg is not None and isinstance(arg.value, (cst.Name, cst.Attribute)):
                value = resolve(ctx, arg.value)
                if isinstance(value, (cst.List, cst.Tuple)):
                    sites.extend(s for s in prompts._message_sites(ctx, value, f"{keyword}=")
                                 if id(s.node) not in seen)
        return [(s.where, s.node, llm.requires) for s in sites]
    agent = ctx.recognise.agent_construct(call)
    if agent is not None:
        if agent.spec.prompt is None:
            return []
        return [(s.where, s.node, ()) for s in prompts.agent_prompt_sites(ctx, call, agent.spec.prompt)]
    return [(s.where, s.node, ()) for s in prompts.builder_sites(ctx, call)]


# -- forced tool choice -----------------------------------------------------------------------------
