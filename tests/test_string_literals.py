"""String literals are read without ``ast.literal_eval`` when nothing in them needs interpreting."""

from __future__ import annotations

import libcst as cst
import pytest


@pytest.mark.parametrize(
    "token",
    ["'a'", '"b"', "'''x\ny'''", '"""q"""', "r'\\d+'", "u'x'", "R'x'", 'U"x"', "b'x'", "f'x'", "'a\\nb'",
     "''", '""', "''''''", "'\"'", "r'\\''", "rb'x'", "'''a'b'''", '"""a""b"""', "'''a\r\nb'''", "'\\\\'"],
)
def test_string_values_read_without_literal_eval_agree_with_libcst(token):
    from factorlint.engine.semantic.names import literal_string

    node = cst.parse_module(f"x = {token}\n").body[0].body[0].value
    try:
        expected = node.evaluated_value
    except Exception:
        expected = None
    assert literal_string(node) == (expected if isinstance(expected, str) else None)
