"""Ranges from regenerating one statement must equal LibCST's whole-module PositionProvider."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from factorlint.engine.parse.positions import StatementOwners, _by_statement, node_ranges, statement_lines
from factorlint.engine.parse.walk import walk
from factorlint.engine.run.visitor import BatchedVisitor

TRICKY = {
    "decorators and comments": (
        "# header\n\nimport os\n\n\n# about f\n@dec  # why\n# between\n@other(\n    1,\n)\n"
        "async def f(a,\n      b):\n    # first\n    x = 1; y = 2\n    return x\n"
    ),
    "class with methods and footer comments": (
        "class A(Base):\n    '''doc'''\n\n    # lead\n    @property\n    def p(self):\n        return 1\n\n"
        "    class Inner:\n        def g(self):\n            pass\n        # inner footer\n    # class footer\n\n"
        "x = A()\n"
    ),
    "no final newline": "def f():\n    return 1\nvalue = f()",
    "windows newlines": "def f():\r\n    # c\r\n    return 1\r\n\r\nclass B:\r\n    y = 2\r\n",
    "tabs and odd indents": "class T:\n\tdef m(self):\n\t\tif x:\n\t\t\treturn 1\n\t\treturn 2\n",
    "continuations and suites": (
        "total = 1 + \\\n    2\nif total: print(total); print(2)\nwith open('f') as h, \\\n     open('g') as k:\n"
        "    pass\ntry:\n    import x\nexcept ImportError:  # fine\n    x = None\nelse:\n    pass\n"
    ),
    "nested functions in blocks": (
        "def outer():\n    if cond:\n        def inner():\n            return 1\n    for i in range(3):\n"
        "        while True:\n            break\n    return inner\n"
    ),
    "form feed and semicolons": "import a\n\x0c\ndef f(): return 1; \nx = 1;\n",
    "match statement": "match cmd:\n    case [x, y]:\n        pass\n    case _:\n        pass\n",
}


def _owners_and_module(text: str):
    module = cst.parse_module(text)
    owners = StatementOwners()

    class _Ctx:
        function_stack, class_stack, loop_stack = [], [], []

    BatchedVisitor(_Ctx(), [], lambda *_: None, owners).run(module)
    return module, owners


def _all_nodes(module):
    return [n for n in walk(module) if n is not module]


def _assert_same(text: str) -> None:
    module, owners = _owners_and_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = _all_nodes(module)
    ranges = _by_statement(module, text, ast.parse(text), nodes, owners.owner)
    assert ranges is not None, "fell back to the whole module"
    for node in nodes:
        assert ranges[node] == expected[node], type(node).__name__


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_statement_ranges_match_libcst(name):
    _assert_same(TRICKY[name])


def test_every_file_of_the_fixtures_examples_and_this_package_matches():
    project = Path(__file__).parent.parent
    checked = 0
    paths = [p for folder in ("tests/fixtures", "examples", "src/factorlint/engine") for p in (project / folder).rglob("*.py")]
    for path in sorted(paths):
        text = path.read_text(encoding="utf-8")
        try:
            ast.parse(text)
        except SyntaxError:
            continue  # the parse-error fixtures
        if text.strip():
            _assert_same(text)
            checked += 1
    assert checked >= 40


def _header_nodes(module, owners) -> list:
    """The nodes anchored at a compound statement they are not part of the body of: a def's
    decorators, names, parameters, annotations and bases; an if's or while's test; a for's
    target and iterable; a with's items (an indented body's statements are anchors of their own)."""
    found = []
    heads = {cst.If: ("test",), cst.While: ("test",), cst.For: ("target", "iter"), cst.With: ("items",)}
    for node in _all_nodes(module):
        path = owners.owner.get(id(node))
        anchor = path[-1] if path else None
        if node is anchor or anchor is None or node is getattr(anchor, "body", None):
            continue
        if isinstance(anchor, (cst.FunctionDef, cst.ClassDef)):
            found.append(node)
        elif type(anchor) in heads:
            header = [part for field in heads[type(anchor)] for value in [getattr(anchor, field)]
                      for part in (value if isinstance(value, (list, tuple)) else [value])]
            if any(node is part or any(node is n for n in walk(part)) for part in header):
                found.append(node)
    return found


def test_header_nodes_match_libcst_with_only_the_header_regenerated(monkeypatch):
    project = Path(__file__).parent.parent
    texts = [*TRICKY.values(), *(p.read_text(encoding="utf-8") for p in sorted((project / "src/factorlint/engine").rglob("*.py")))]
    checked = 0
    for text in texts:
        module, owners = _owners_and_module(text)
        expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        nodes = [n for n in _header_nodes(module, owners) if isinstance(owners.owner[id(n)][-1].body, cst.IndentedBlock)]
        with monkeypatch.context() as patch:
            # A body generated anyway would fail here: header nodes need the header only.
            patch.setattr(cst.IndentedBlock, "_codegen_impl", lambda *_args, **_kwargs: pytest.fail("body generated"))
            ranges = _by_statement(module, text, ast.parse(text), nodes, owners.owner)
        assert ranges is not None
        for node in nodes:
            assert ranges[node] == expected[node], type(node).__name__
            checked += 1
    assert checked > 1000


def test_a_def_asked_for_with_its_header_is_regenerated_whole():
    text = "@dec\ndef f(a: int) -> int:\n    return a\n"
    module, owners = _owners_and_module(text)
    function = module.body[0]
    nodes = [function, function.params.params[0], function.decorators[0]]
    ranges = _by_statement(module, text, ast.parse(text), nodes, owners.owner)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert ranges is not None and all(ranges[node] == expected[node] for node in nodes)


def test_falls_back_to_the_whole_module_when_the_text_disagrees():
    text = "def f():\n    return 1\n"
    module, owners = _owners_and_module(text)
    target = module.body[0].body.body[0]
    # A tree of other text: the regenerated statement does not match where it points.
    ranges = node_ranges(module, text, ast.parse("\n\ndef f():\n    return 1\n"), [target], owners)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert ranges[target] == expected[target]
    assert _by_statement(module, text, ast.parse("\n\ndef f():\n    return 1\n"), [target], owners.owner) is None


def test_only_the_owning_statement_is_regenerated():
    text = "def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    module, owners = _owners_and_module(text)
    target = module.body[1].body.body[0]
    ranges = _by_statement(module, text, ast.parse(text), [target], owners.owner)
    assert list(ranges) == [target]
    assert (ranges[target].start.line, ranges[target].start.column) == (6, 4)



def test_lines_of_whole_statements_from_ast_match_libcst():
    project = Path(__file__).parent.parent
    compared = 0
    for path in sorted([*(project / "src/factorlint/engine").rglob("*.py"), *(project / "examples").rglob("*.py")]):
        text = path.read_text(encoding="utf-8")
        module, owners = _owners_and_module(text + TRICKY["decorators and comments"] + TRICKY["form feed and semicolons"])
        text = module.code
        anchors = [n for n in walk(module) if owners.owner.get(id(n)) and owners.owner[id(n)][-1] is n]
        lines = statement_lines(ast.parse(text), module, anchors, owners)
        expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        for node in anchors:
            assert lines[id(node)] == (expected[node].start.line, expected[node].end.line), type(node).__name__
            compared += 1
    assert compared > 1000
