"""Line and column ranges for the few nodes a file reports, without generating the whole file.

LibCST's ``PositionProvider`` regenerates the code of the entire module to learn where each node
is; on a large file with one finding that is most of the analysis time. A node's range only
depends on where its enclosing statement starts, so this module regenerates just that statement:

- During the batched visit, :class:`StatementOwners` records for every node its *anchor*: the
  innermost statement that sits directly in the module, or directly in the body of a function or
  class that is itself an anchor (so a method of a 3,000-line class is regenerated alone).
- The standard library's ``ast`` tree of the same text (already built by the syntax screen) gives
  the line the anchor's first token is on; the anchor's leading blank and comment lines are
  counted back from there, and the indentation of its enclosing blocks is pushed first.
- A node in a function's or class's header (a decorator, a parameter, a base) has that function
  or class as its anchor; only the header is regenerated then, up to the colon, not the body.
- The regenerated text must equal the file's text at that place, character for character. If it
  does not (or anything is missing), the whole module is regenerated as before, so the ranges are
  always exactly LibCST's.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

import libcst as cst
from libcst.metadata import CodePosition, CodeRange
from libcst.metadata.position_provider import NEWLINE_RE, PositionProvidingCodegenState

# Statements whose body's statements are anchors of their own: a node in an ``if`` body is placed by
# regenerating its own statement, not the whole ``if``. (An ``else`` or ``elif`` branch, an
# ``except`` clause, stays with its statement.)
_CONTAINERS = ("FunctionDef", "ClassDef", "If", "For", "While", "With", "Try", "TryStar")


class StatementOwners:
    """A participant of the batched visit that notes each node's anchor path (outermost first).

    The visit asks :meth:`enter` only of the module and of statements (only those can open a
    frame), records ``path`` as the owner of every node itself, and calls :meth:`leave` for the
    nodes whose ``enter`` opened a frame."""

    def __init__(self) -> None:
        self.owner: dict[int, tuple] = {}
        self.path: tuple = ()  # the anchor path of the node being entered
        # Open frames: (anchor node, ids of its body's direct statements, or None).
        self._frames: list[tuple] = []

    def enter(self, node: cst.CSTNode, kind: str) -> bool:
        """Open a frame if ``node`` is the module or a direct statement of the innermost open
        frame; whether it did."""
        frames = self._frames
        if isinstance(node, cst.Module):
            frames.append((node, {id(s) for s in node.body}))
            return True
        if frames and frames[-1][1] is not None and id(node) in frames[-1][1]:
            self.path = (*self.path, node)
            body = getattr(node, "body", None) if kind in _CONTAINERS else None
            direct = {id(s) for s in body.body} if isinstance(body, cst.IndentedBlock) else None
            frames.append((node, direct))
            return True
        return False

    def leave(self, node: cst.CSTNode) -> None:
        frames = self._frames
        if frames and frames[-1][0] is node:
            frames.pop()
            if self.path and self.path[-1] is node:
                self.path = self.path[:-1]


class _Ranges:
    """What LibCST's codegen state expects of a metadata provider: it only stores ranges, so it
    is duck-typed rather than a full ``BaseMetadataProvider`` (which would resolve metadata)."""

    def __init__(self) -> None:
        self._computed: dict = {}


def node_ranges(
    module: cst.Module,
    text: str,
    tree: ast.Module | None,
    nodes: Iterable[cst.CSTNode],
    owners: StatementOwners | None,
) -> dict:
    """``{node: CodeRange}`` for ``nodes`` (and whatever else shares their statements)."""
    nodes = list(nodes)
    if not nodes:
        return {}
    if tree is not None and owners is not None:
        ranges = _by_statement(module, text, tree, nodes, owners.owner)
        if ranges is not None:
            return ranges
    return _whole_module(module)


def _whole_module(module: cst.Module) -> dict:
    provider = _Ranges()
    module._codegen(
        PositionProvidingCodegenState(
            default_indent=module.default_indent, default_newline=module.default_newline,
            provider=provider,  # type: ignore[arg-type]
        )
    )
    return provider._computed


def _by_statement(module, text: str, tree: ast.Module, nodes: list, owner: dict) -> dict | None:
    groups: dict[int, tuple[tuple, list]] = {}
    for node in nodes:
        path = owner.get(id(node))
        if not path:
            return None  # the module itself, or a node the visit never reached
        groups.setdefault(id(path[-1]), (path, []))[1].append(node)
    line_starts = [0] + [match.end() for match in NEWLINE_RE.finditer(text)]
    ranges: dict = {}
    places = _Places()
    for path, wanted in groups.values():
        provider = _Ranges()
        header_only = _in_header(path[-1], wanted)
        if header_only and not (
            _regenerate(module, text, tree, path, line_starts, provider, places, header_only=True)
            and all(node in provider._computed for node in wanted)
        ):
            provider, header_only = _Ranges(), False
        if not header_only and not _regenerate(module, text, tree, path, line_starts, provider, places):
            return None
        # Keep only the ranges asked for: a large statement has a range for each of its nodes.
        ranges.update((node, provider._computed[node]) for node in wanted if node in provider._computed)
    return ranges


def statement_lines(tree: ast.Module | None, module, nodes: Iterable, owners: StatementOwners | None) -> dict:
    """``{id(node): (first line, last line)}`` for the nodes that are themselves anchor
    statements, read from CPython's tree without regenerating anything.

    Enough for inventory sites, which need lines only: a site is often a whole function or class
    (a function that runs an agent, an agent class), and regenerating those is most of the
    position cost. The lines equal LibCST's syntactic range (a function from its ``def`` or
    ``async`` line to the end of its last statement); the tests compare them on real code.
    """
    if tree is None or owners is None:
        return {}
    found = {}
    places = _Places()
    for node in nodes:
        path = owners.owner.get(id(node))
        if not path or path[-1] is not node:
            continue
        located = _locate(module, tree, path, places)
        if located is not None:
            _, first, _, last = located
            found[id(node)] = (first.lineno, last.end_lineno)
    return found


# Statements whose header (a def's decorators and signature, a test, a loop's target and
# iterable, a with's items) comes before a body of statements that are anchors of their own.
_HEADED = (cst.FunctionDef, cst.ClassDef, cst.If, cst.For, cst.While, cst.With)


def _in_header(anchor, wanted: list) -> bool:
    """Whether the nodes anchored at a compound statement may all lie in its header: its body is
    an indented block, whose statements are anchors of their own, and the statement itself is not
    wanted. (An ``elif``'s test, anchored at the ``if`` too, lies after the body: the caller
    checks that the header gave every node wanted a range.)"""
    return (
        isinstance(anchor, _HEADED)
        and isinstance(anchor.body, cst.IndentedBlock)
        and all(node is not anchor for node in wanted)
    )


class _BodyLeftOut:
    """Stands in for a compound statement's body, so that code generation stops after the
    header's colon. It records an empty range, which the statement's own range is computed from (that
    range is wrong, and never asked for: see ``_in_header``)."""

    def _codegen(self, state) -> None:
        here = CodePosition(state.line, state.column)
        state.provider._computed[self] = CodeRange(here, here)


def _regenerate(module, text: str, tree: ast.Module, path: tuple, line_starts: list, provider, places,
                header_only: bool = False) -> bool:
    located = _locate(module, tree, path, places)
    if located is None:
        return False
    statement, counterpart, indents, _ = located
    if header_only:
        # The header's nodes are the statement's own: their ranges are keyed by them.
        changes: dict[str, object] = {"body": _BodyLeftOut()}
        if isinstance(statement, (cst.If, cst.For, cst.While)):
            changes["orelse"] = None  # after the body: never generated
        statement = statement.with_changes(**changes)
    start_line = _first_code_line(counterpart) - _lines_before_code(statement)
    if start_line < 1 or start_line > len(line_starts):
        return False
    state = PositionProvidingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=provider,
        indent_tokens=list(indents),
        line=start_line,
        column=0,
    )
    statement._codegen(state)
    code = "".join(state.tokens)
    offset = line_starts[start_line - 1]
    if text.startswith(code, offset):
        return True
    # A file without a final newline: the module drops the last statement's newline.
    newline = module.default_newline
    return code.endswith(newline) and offset + len(code) - len(newline) == len(text) and text.startswith(
        code[: -len(newline)], offset
    )


class _Places:
    """Where each statement of a body is, computed once per body and reused for every node.

    ``{id(statement): index of its first ``ast`` statement}`` for the body of the module or of a
    block. Scanning the body again for each node made a module of 20,000 small tool classes
    (each one a site) quadratic, minutes long; a body is now indexed once, in one pass.
    """

    def __init__(self) -> None:
        self._bodies: dict[int, tuple[object, dict[int, int]]] = {}

    def ast_index(self, body, statement) -> int | None:
        entry = self._bodies.get(id(body))
        if entry is None or entry[0] is not body:
            index: dict[int, int] = {}
            position = 0
            for item in body:
                index[id(item)] = position
                position += len(item.body) if isinstance(item, cst.SimpleStatementLine) else 1
            entry = self._bodies[id(body)] = (body, index)  # the body is kept: its id stays its own
        return entry[1].get(id(statement))


def _locate(module, tree: ast.Module, path: tuple, places: _Places):
    """The anchor statement, its ``ast`` counterpart (the first of several for ``a; b``), the
    indentation of its enclosing blocks, and its last ``ast`` statement."""
    body, ast_body, indents = module.body, tree.body, []
    counterpart = last = None
    for depth, statement in enumerate(path):
        ast_index = places.ast_index(body, statement)
        if ast_index is None:
            return None
        if ast_index >= len(ast_body):
            return None
        counterpart = ast_body[ast_index]
        if not _same_kind(statement, counterpart):
            return None
        width = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        if ast_index + width > len(ast_body):
            return None
        last = ast_body[ast_index + width - 1]
        if depth < len(path) - 1:
            block = statement.body
            if not isinstance(block, cst.IndentedBlock):
                return None
            indents.append(block.indent if block.indent is not None else module.default_indent)
            # _same_kind matched a compound statement, which has a body in both trees.
            body, ast_body = block.body, getattr(counterpart, "body", [])
    return path[-1], counterpart, indents, last


def _same_kind(statement, counterpart) -> bool:
    kinds = _COUNTERPARTS.get(type(statement))
    return kinds is None or isinstance(counterpart, kinds)


# What each LibCST statement that opens a frame is in CPython's tree.
_COUNTERPARTS: dict[type, tuple[type, ...]] = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.Try: (ast.Try,),
    cst.TryStar: (getattr(ast, "TryStar", ast.Try),),
}


def _first_code_line(counterpart: ast.stmt) -> int:
    decorators = getattr(counterpart, "decorator_list", None)
    if decorators:
        return min(d.lineno for d in decorators)
    return counterpart.lineno


def _lines_before_code(statement) -> int:
    """Blank and comment lines the statement's code generation writes before its first token."""
    before = len(getattr(statement, "leading_lines", ()))
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        if statement.decorators:
            before += len(statement.decorators[0].leading_lines)
        else:
            before += len(statement.lines_after_decorators)
    return before
