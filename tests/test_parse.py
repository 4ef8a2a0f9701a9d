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


def test_one_parser_thread_serves_every_caller_and_hands_back_their_errors():
    """The parser thread lives as long as the process; callers on several threads each get
    their own tree, and a syntax error is raised in the caller's thread."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import pytest

    from factorlint.engine.parse.parse import parse_module

    sources = [f"def f{n}(x):\n    return x + {n}\n" for n in range(40)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        trees = list(pool.map(parse_module, sources))
    assert [tree.code for tree in trees] == sources
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def (:\n")
    assert parse_module("x = 1\n").code == "x = 1\n"  # the thread survives the error
    assert [t.name for t in threading.enumerate()].count("factorlint-parse") == 1
