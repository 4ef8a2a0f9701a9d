"""Edits that fixes share: a keyword argument added to a call, as the call is written."""

from __future__ import annotations

import libcst as cst

from factorlint.checks.base import RawEdit


def add_keyword(ctx, call: cst.Call, keyword: str, value: str) -> RawEdit:
    """``keyword=value`` after the call's last argument (its layout and trailing comma kept), or
    inside the parentheses of a call without arguments."""
    if call.args:
        return RawEdit(call.args[-1].value, f", {keyword}={value}", after=True)
    return RawEdit(call, f"{ctx.code_for(call.func)}({keyword}={value})")


def keyword_arg(call: cst.Call, keyword: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == keyword), None)
