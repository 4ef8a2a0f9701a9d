"""A read-only walk over LibCST nodes, several times cheaper than ``node.visit(...)``.

``CSTNode.visit`` rebuilds every node it passes (it is shared with transformers); rules that only
look at a subtree (a loop body, a call's arguments) need none of that. This walk follows each
node type's child fields, computed once per type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import libcst as cst

_FIELDS: dict[type, tuple[str, ...]] = {}
_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _FIELDS.get(kind)
    if fields is None:
        skip = {"whitespace", "leading_lines", "lines_after_decorators", "header", "footer"}
        fields = tuple(
            f.name for f in dataclasses.fields(kind)
            if not f.name.startswith("whitespace") and f.name not in skip
            and not f.name.startswith("lpar") and not f.name.startswith("rpar")
        )
        _FIELDS[kind] = fields
    return fields


# Punctuation and whitespace: nodes that carry no meaning of their own (what an analysis needs
# of them it reads from their parent: a call's arguments, not the commas between them). The walk
# does not enter them: they were a quarter of the nodes of a typical module (a comma per
# argument, a dot per attribute, a newline and its trailing whitespace per line). Operators are
# still walked: ``not``, ``is`` and ``in`` are meaning.
TOKENS: tuple[type, ...] = (
    cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual,
    cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
    cst.LeftCurlyBrace, cst.RightCurlyBrace,
    cst.TrailingWhitespace, cst.Newline, cst.EmptyLine, cst.Comment,
    cst.SimpleWhitespace, cst.ParenthesizedWhitespace,
)

# Whether a value's type is a node (1), a sequence that may hold nodes (2) or neither (0, which
# includes the tokens). ``isinstance(value, cst.CSTNode)`` goes through
# ``ABCMeta.__instancecheck__``, which was the single largest cost of walking a large repository.
_KIND_OF_TYPE: dict[type, int] = {tuple: 2, list: 2}


def _value_kind(value_type: type) -> int:
    answer = _KIND_OF_TYPE.get(value_type)
    if answer is None:
        is_node = issubclass(value_type, cst.CSTNode) and not issubclass(value_type, TOKENS)
        answer = _KIND_OF_TYPE[value_type] = 1 if is_node else 0
    return answer


def children(node: cst.CSTNode, fields=_child_fields) -> list:
    """The node's children in source order (those in ``fields(type(node))``, tokens left out)."""
    found = []
    kinds = _KIND_OF_TYPE
    for name in fields(type(node)):
        value: Any = getattr(node, name, None)
        kind = kinds.get(type(value))
        if kind is None:
            kind = _value_kind(type(value))
        if kind == 1:
            found.append(value)
        elif kind == 2:
            for item in value:
                item_kind = kinds.get(type(item))
                if item_kind is None:
                    item_kind = _value_kind(type(item))
                if item_kind == 1:
                    found.append(item)
    return found


class ScopeVisitor(cst.CSTVisitor):
    """A visitor that stays in one scope: nested functions, lambdas and classes are not entered."""

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False


def iter_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    return iter(children(node))


def walk(node: cst.CSTNode, *, into_scopes: bool = True, include_self: bool = True) -> Iterator[cst.CSTNode]:
    """Every node under ``node`` in source order (depth first). Without ``into_scopes`` the
    bodies of nested functions, classes and lambdas are not entered."""
    stack = [node] if include_self else children(node)[::-1]
    while stack:
        current = stack.pop()
        yield current
        if not into_scopes and current is not node and isinstance(current, _SCOPES):
            continue
        below = children(current)
        below.reverse()
        stack.extend(below)


def find_all(node: cst.CSTNode, kind, *, into_scopes: bool = True) -> list:
    return [n for n in walk(node, into_scopes=into_scopes) if isinstance(n, kind)]


def statement_blocks(stmt: cst.CSTNode, body_of) -> list:
    """The statement blocks nested in a compound statement (if, its elifs and else; for and
    while with their else; try with its handlers, else and finally; with; match cases), each
    read by ``body_of``."""
    blocks = []
    if isinstance(stmt, (cst.If, cst.For, cst.While, cst.Try, cst.TryStar, cst.With)):
        blocks.append(body_of(stmt))
    if isinstance(stmt, cst.If):
        orelse = stmt.orelse
        while orelse is not None:
            blocks.append(body_of(orelse))
            orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    elif isinstance(stmt, (cst.For, cst.While)) and stmt.orelse is not None:
        blocks.append(body_of(stmt.orelse))
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        blocks.extend(body_of(h) for h in stmt.handlers)
        for extra in (stmt.orelse, stmt.finalbody):
            if extra is not None:
                blocks.append(body_of(extra))
    elif isinstance(stmt, cst.Match):
        blocks.extend(body_of(case) for case in stmt.cases)
    return blocks


def first(node: cst.CSTNode, kind) -> cst.CSTNode | None:
    return next((n for n in walk(node) if isinstance(n, kind)), None)


_HANDLER_TABLE = "_factorlint_walk_handlers"

# Put on a walk's stack above a node whose subtree is to be finished before the node is left:
# only nodes with something to do on leaving get one, instead of a (node, leaving) pair per node.
LEAVE = object()


def run_visitor(node: cst.CSTNode, visitor) -> None:
    """Drive a ``CSTVisitor``-style object (``visit_<Node>`` returning False to skip children,
    ``leave_<Node>``) over ``node`` with the cheap walk instead of ``node.visit(visitor)``."""
    kind_of_visitor = type(visitor)
    if getattr(kind_of_visitor, "on_visit", None) is not cst.CSTVisitor.on_visit:
        _run_generic(node, visitor)  # a visitor that overrides on_visit/on_leave itself
        return
    # The handlers per node type live on the visitor class itself, not in a module-level table
    # keyed by class, which would keep alive any visitor class made at run time (and whatever it
    # refers to). Helper visitors are module-level classes: a class statement per call costs more
    # than the walk of a small expression.
    table = kind_of_visitor.__dict__.get(_HANDLER_TABLE)
    if table is None:
        table = {}
        setattr(kind_of_visitor, _HANDLER_TABLE, table)
    stack: list = [node]
    pop = stack.pop
    push = stack.append
    while stack:
        current = pop()
        if current is LEAVE:
            current = pop()
            table[type(current)][1](visitor, current)
            continue
        node_type = type(current)
        handlers = table.get(node_type)
        if handlers is None:
            name = node_type.__name__
            handlers = (getattr(kind_of_visitor, "visit_" + name, None), getattr(kind_of_visitor, "leave_" + name, None))
            table[node_type] = handlers
        visit, leave = handlers
        if visit is not None and visit(visitor, current) is False:
            if leave is not None:
                leave(visitor, current)
            continue
        if leave is not None:
            push(current)
            push(LEAVE)
        below = children(current)
        if below:
            below.reverse()
            stack.extend(below)


def _run_generic(node: cst.CSTNode, visitor) -> None:
    stack: list = [node]
    pop = stack.pop
    push = stack.append
    while stack:
        current = pop()
        if current is LEAVE:
            visitor.on_leave(pop())
            continue
        if visitor.on_visit(current) is False:
            visitor.on_leave(current)
            continue
        push(current)
        push(LEAVE)
        below = children(current)
        if below:
            below.reverse()
            stack.extend(below)
