"""One batched visit: every enabled rule's ``visit_<Node>``/``leave_<Node>`` from a single walk.

The dispatcher keeps the context's function, class and loop stacks current, so a rule asks
``ctx.function_stack`` instead of walking parents. A rule that raises is switched off for the rest
of the file and reported as an internal-error diagnostic; the other rules go on.

The walk is the read-only one of :mod:`engine.parse.walk` (each node's children in source order),
driven here directly: it runs once per node of every analysed file, so the per-node work is kept
to a dictionary look-up by node class, the handlers that node class has, and a leave step only
for the nodes that need one.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from factorlint.engine.parse.walk import LEAVE, children

# The context stack a node class is pushed on while its subtree is walked (by class name:
# ``isinstance`` against LibCST's ABC-based classes costs a Python-level call).
_NO_STACK, _FUNCTION, _CLASS, _LOOP = 0, 1, 2, 3
_STACK_OF_KIND = {"FunctionDef": _FUNCTION, "ClassDef": _CLASS, "For": _LOOP, "While": _LOOP}

_HANDLER_NAMES = "_factorlint_batched_handler_names"


def handler_names(visitor_class: type) -> tuple[tuple[str, str, bool], ...]:
    """``(node class name, attribute, is a visit handler)`` for each ``visit_<Node>`` and
    ``leave_<Node>`` of ``visitor_class``, in ``dir`` order; worked out once per class (kept on
    the class itself, so a class made at run time does not outlive its use)."""
    names = visitor_class.__dict__.get(_HANDLER_NAMES)
    if names is None:
        names = tuple(
            (attribute[6:], attribute, attribute.startswith("visit_"))
            for attribute in dir(visitor_class)
            if attribute.startswith(("visit_", "leave_"))
        )
        setattr(visitor_class, _HANDLER_NAMES, names)
    return names


class _Dispatch:
    """What the walk does at one node class: the enabled visitors' bound ``visit_`` and
    ``leave_`` handlers (as ``(visitor, handler)``), the context stack the node goes on, and
    whether the node can open a statement frame for :class:`StatementOwners`."""

    __slots__ = ("leave_always", "leaves", "stack", "statement", "visits")

    def __init__(self, visits: tuple, leaves: tuple, stack: int, statement: bool) -> None:
        self.visits = visits
        self.leaves = leaves
        self.stack = stack
        self.statement = statement
        self.leave_always = bool(leaves) or stack != _NO_STACK


class BatchedVisitor:
    def __init__(self, ctx, visitors: list, on_error: Callable[[object, BaseException], None], owners=None) -> None:
        self.ctx = ctx
        self.owners = owners  # engine.positions.StatementOwners: each node's enclosing statement
        self.on_error = on_error
        self._visitors = visitors
        self._disabled: set[int] = set()
        self._dispatch: dict[type, _Dispatch] = {}
        self._bind()

    def _bind(self) -> None:
        """The handlers of the visitors still enabled, by node class name, in visitor order."""
        visit: dict[str, list] = {}
        leave: dict[str, list] = {}
        for visitor in self._visitors:
            if id(visitor) in self._disabled:
                continue
            for kind, attribute, is_visit in handler_names(type(visitor)):
                (visit if is_visit else leave).setdefault(kind, []).append((visitor, getattr(visitor, attribute)))
        self._visit = visit
        self._leave = leave
        self._dispatch.clear()  # rebuilt per node class as the walk meets it

    def _dispatch_for(self, node_class: type) -> _Dispatch:
        name = node_class.__name__
        dispatch = self._dispatch[node_class] = _Dispatch(
            tuple(self._visit.get(name, ())),
            tuple(self._leave.get(name, ())),
            _STACK_OF_KIND.get(name, _NO_STACK),
            issubclass(node_class, cst.BaseStatement),
        )
        return dispatch

    def _switch_off(self, visitor, exc: BaseException) -> None:
        self._disabled.add(id(visitor))
        self.on_error(visitor, exc)
        self._bind()

    def run(self, root: cst.CSTNode) -> None:
        """Walk ``root``'s tree once, calling every handler at each node: ``visit_`` handlers
        before the node's children, ``leave_`` handlers after them."""
        dispatch_table = self._dispatch
        owners = self.owners
        owner_of = owners.owner if owners is not None else None
        stack: list = [root]
        pop = stack.pop
        push = stack.append
        while stack:
            current = pop()
            if current is LEAVE:
                self._leave_node(pop())
                continue
            node_class = type(current)
            dispatch = dispatch_table.get(node_class)
            if dispatch is None:
                dispatch = self._dispatch_for(node_class)
            opened = False
            if owner_of is not None:
                if dispatch.statement or current is root:
                    opened = owners.enter(current, node_class.__name__)
                owner_of[id(current)] = owners.path
            for visitor, handler in dispatch.visits:
                try:
                    handler(current)
                except Exception as exc:
                    self._switch_off(visitor, exc)
            if dispatch.leave_always or opened:
                if dispatch.stack != _NO_STACK:
                    self._stack_of(dispatch.stack).append(current)
                push(current)
                push(LEAVE)
            below = children(current)
            if below:
                below.reverse()
                stack.extend(below)

    def _leave_node(self, node: cst.CSTNode) -> None:
        node_class = type(node)
        dispatch = self._dispatch.get(node_class)
        if dispatch is None:  # the table was rebuilt after a rule was switched off
            dispatch = self._dispatch_for(node_class)
        if dispatch.stack != _NO_STACK:
            self._stack_of(dispatch.stack).pop()
        for visitor, handler in dispatch.leaves:
            try:
                handler(node)
            except Exception as exc:
                self._switch_off(visitor, exc)
        if self.owners is not None:
            self.owners.leave(node)

    def _stack_of(self, stack: int) -> list:
        # Read from the context each time: an analysis may swap a stack for the length of a call.
        if stack == _FUNCTION:
            return self.ctx.function_stack
        if stack == _CLASS:
            return self.ctx.class_stack
        return self.ctx.loop_stack
