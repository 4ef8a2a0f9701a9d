"""Edits that fixes share: a keyword argument added to a call, as the call is written."""

from __future__ import annotations

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit
from factorlint.engine.recognise.recognisers import keyword_arg


def replace_whole(node: cst.CSTNode, content: str) -> RawEdit:
    """``node`` replaced by ``content``, with the parentheses written around it: positions leave
    an expression's own parentheses out of its range, and the new text brings its own."""
    lpar, rpar = getattr(node, "lpar", None), getattr(node, "rpar", None)
    if lpar and rpar:
        return RawEdit(lpar[0], content, until=rpar[-1])
    return RawEdit(node, content)


def add_keyword(ctx, call: cst.Call, keyword: str, value: str) -> RawEdit:
    """``keyword=value`` after the call's last argument (its layout and trailing comma kept), or
    inside the parentheses of a call without arguments."""
    if call.args:
        return RawEdit(call.args[-1].value, f", {keyword}={value}", after=True)
    return RawEdit(call, f"{ctx.code_for(call.func)}({keyword}={value})")


def explicit_bound(ctx, check, *, unsafe: bool = False) -> CodeFix | None:
    """A framework's step bound (an ``engine.agents.bounds.BoundCheck``) made explicit at the
    ``max-steps`` setting: a disabled or infinite value replaced, or the keyword (or the
    ``config`` entry, for LangGraph's ``recursion_limit``) added to the call. None where the
    bound sits in an object or in a config passed by position."""
    steps = str(ctx.settings.max_steps)
    spec = check.spec
    if check.state in ("disabled", "too_large"):
        return None if spec.value_keyword is not None else CodeFix((RawEdit(check.node, steps),), unsafe=unsafe)
    call = check.node
    if not isinstance(call, cst.Call):
        return None
    if spec.where != "config":
        return CodeFix((add_keyword(ctx, call, spec.parameter, steps),), unsafe=unsafe)
    key = spec.config_key or spec.parameter
    config = keyword_arg(call, "config")
    if config is None and spec.config_position is not None and len(call.args) > spec.config_position:
        return None  # a config passed by position: left to the person
    if config is None:
        return CodeFix((add_keyword(ctx, call, "config", f'{{"{key}": {steps}}}'),), unsafe=unsafe)
    if isinstance(config.value, cst.Dict) and config.value.elements:
        last = config.value.elements[-1]
        return CodeFix((RawEdit(last.value, f', "{key}": {steps}', after=True),), unsafe=unsafe)
    if isinstance(config.value, cst.Dict):
        return CodeFix((RawEdit(config.value, f'{{"{key}": {steps}}}'),), unsafe=unsafe)
    return None


def approval_call(ctx, call: cst.CSTNode) -> CodeFix | None:
    """A console prompt (``input(...)``, ``click.confirm(...)``) made a call of the project's
    approval function (the ``approval-function`` setting), with the same arguments; None when
    the setting names none. Unsafe: that function decides how the person is reached."""
    target = getattr(ctx.settings, "approval_function", None)
    if not target or not isinstance(call, cst.Call):
        return None
    module, _, name = target.rpartition(".")
    return CodeFix((RawEdit(call.func, name),), ((module, name),), unsafe=True)
