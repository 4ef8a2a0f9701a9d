"""The parse entry point: parser-built trees skip node validation, hand-built nodes keep it."""

from __future__ import annotations

import libcst as cst


def test_the_parse_skips_validation_only_while_parsing():
    from libcst._nodes.base import CSTNode

    from factorlint.engine.parse.parse import parse_module

    before = CSTNode.__dict__["__post_init__"]
    source = "def f(a, *, b=1):\n    return [x async for x in a] if b else {**a}\n"
    module = parse_module(source)
    assert module.code == source and module.deep_equals(cst.parse_module(source))
    assert CSTNode.__dict__["__post_init__"] is before
    try:
        cst.Name("")  # built by hand: still validated
    except cst.CSTValidationError:
        pass
    else:
        raise AssertionError("hand-built nodes are no longer validated")
