"""One batched visit: every enabled rule's ``visit_<Node>``/``leave_<Node>`` from a single walk.

The dispatcher keeps the context's function, class and loop stacks current, so a rule asks
``ctx.function_stack`` instead of walking parents. A rule that raises is switched off for the rest
of the file and reported as an internal-error diagnostic; the other rules go on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import libcst as cst

# By class name: ``isinstance`` against LibCST's ABC-based classes costs a Python-level call.
_LOOPS = frozenset({"For", "While"})


class BatchedVisitor(cst.CSTVisitor):
    def __init__(self, ctx, visitors: list, on_error: Callable[[object, BaseException], None], owners=None) -> None:
        super().__init__()
        self.ctx = ctx
        self.owners = owners  # engine.positions.StatementOwners: each node's enclosing statement
        self.on_error = on_error
        self._visit: dict[str, list] = defaultdict(list)
        self._leave: dict[str, list] = defaultdict(list)
        self._disabled: set[int] = set()
        for visitor in visitors:
            for attribute in dir(type(visitor)):
                if attribute.startswith("visit_"):
                    self._visit[attribute[6:]].append((visitor, getattr(visitor, attribute)))
                elif attribute.startswith("leave_"):
                    self._leave[attribute[6:]].append((visitor, getattr(visitor, attribute)))

    def _run(self, handlers, node) -> None:
        for visitor, handler in handlers:
            if id(visitor) in self._disabled:
                continue
            try:
                handler(node)
            except Exception as exc:
                self._disabled.add(id(visitor))
                self.on_error(visitor, exc)

    def on_visit(self, node: cst.CSTNode) -> bool:
        kind = type(node).__name__
        if self.owners is not None:
            self.owners.enter(node, kind)
        handlers = self._visit.get(kind)
        if handlers:
            self._run(handlers, node)
        if kind == "FunctionDef":
            self.ctx.function_stack.append(node)
        elif kind == "ClassDef":
            self.ctx.class_stack.append(node)
        elif kind in _LOOPS:
            self.ctx.loop_stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        kind = type(original_node).__name__
        if kind == "FunctionDef":
            self.ctx.function_stack.pop()
        elif kind == "ClassDef":
            self.ctx.class_stack.pop()
        elif kind in _LOOPS:
            self.ctx.loop_stack.pop()
        handlers = self._leave.get(kind)
        if handlers:
            self._run(handlers, original_node)
        if self.owners is not None:
            self.owners.leave(original_node)
