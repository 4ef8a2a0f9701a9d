"""What a loop body does, in one scan: its calls, the paths it writes and with what, its counters
and the tests guarding its exits (nested functions, classes and lambdas skipped). The verdicts on a
loop (is it an agent loop, what bounds it) are :mod:`loops`'; this is the evidence they read."""

from __future__ import annotations

import libcst as cst

from factorlint.engine.parse.walk import ScopeVisitor, find_all
from factorlint.engine.semantic.names import dotted_name, paths_in

_MUTATORS = frozenset(
    {"append", "extend", "insert", "add", "update", "appendleft", "extendleft", "add_message",
     "add_messages", "add_event", "append_event", "push", "put", "setdefault"}
)

class BodyScan(ScopeVisitor):
    """Calls, mutated paths, counters and guarded exits in a loop body, nested defs skipped."""

    def __init__(self) -> None:
        self.calls: list[cst.Call] = []
        self.mutated: set[str] = set()
        self.counters: set[str] = set()
        self.exit_guards: list[cst.BaseExpression] = []
        self.rebound: set[str] = set()  # names given a fresh value each iteration (``x = []``)
        self.sources: dict[str, set[str]] = {}  # name -> the paths its assigned values read
        # Every write in the body: (the path written, the paths its value reads, the ids of the
        # calls in that value). Feedback is a write of something a model call's result made.
        self.writes: list[tuple[str, frozenset[str], frozenset[int]]] = []
        # name -> the if-tests under which it is assigned (``if delay > TIMEOUT: retry = False``)
        self.set_under: dict[str, list[cst.BaseExpression]] = {}
        self._if_tests: list[cst.BaseExpression] = []
        self.conditional_calls: set[int] = set()  # ids of calls under an ``if`` of the body

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        if self._if_tests:
            self.conditional_calls.add(id(node))
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _MUTATORS:
            path = dotted_name(node.func.value)
            if path:
                self.mutated.add(path)
                self._write(path, *(arg.value for arg in node.args))

    def _write(self, path: str, *values: cst.BaseExpression) -> None:
        reads: set[str] = set()
        calls: set[int] = set()
        for value in values:
            reads |= paths_in(value)
            calls |= {id(call) for call in find_all(value, cst.Call)}
        self.writes.append((path, frozenset(reads), frozenset(calls)))

    def visit_For(self, node: cst.For) -> None:
        for path in _assigned_paths(node.target):
            self._write(path, node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        for path in _assigned_paths(node.target):
            self._write(path, node.iter)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        path = _target_path(node.target)
        if path:
            self.mutated.add(path)
            self._write(path, node.value)
            if isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign)):
                self.counters.add(path)  # ``delay *= 2`` grows toward a limit as a count does

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            subscripted = isinstance(target.target, cst.Subscript)
            for path in _assigned_paths(target.target):
                # ``x[k] = v`` accumulates; ``x = f(x)`` carries x forward; ``x = next_doc()``
                # merely rebinds and is not feedback.
                reads = paths_in(node.value)
                self._write(path, node.value)
                if self._if_tests and "." not in path:
                    self.set_under.setdefault(path, []).extend(self._if_tests)
                if not subscripted and "." not in path:
                    self.sources.setdefault(path, set()).update(reads)
                if subscripted or any(related(path, read) and len(read) >= len(path) for read in reads):
                    self.mutated.add(path)
                elif "." not in path:
                    self.rebound.add(path)
                if _is_step(path, node.value):
                    self.counters.add(path)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        path = _target_path(node.target)
        if path and node.value is not None:
            self._write(path, node.value)
            if path in paths_in(node.value):
                self.mutated.add(path)

    def visit_If(self, node: cst.If) -> None:
        self._if_tests.append(node.test)

    def leave_If(self, node: cst.If) -> None:
        self._if_tests.pop()

    def _exit(self) -> None:
        if self._if_tests:
            self.exit_guards.append(self._if_tests[-1])

    def visit_Break(self, node) -> None:
        self._exit()

    def visit_Return(self, node) -> None:
        self._exit()

    def visit_Raise(self, node) -> None:
        self._exit()

    def made_by(self, call: cst.Call) -> set[str]:
        """The paths written, in the body, with what ``call`` returned: its result, or a value
        built from one such path (``reply = ask(m)``, ``text = reply.content``, ``m.append(text)``)."""
        made: set[str] = set()
        # A method may leave its result on its object: after ``self.send(message)``, what
        # ``self.reflected_message`` holds came from the call (aider's reflection loop).
        if isinstance(call.func, cst.Attribute):
            receiver = dotted_name(call.func.value)
            if receiver:
                methods = {dotted_name(c.func) for c in self.calls}  # ``self.get_input`` is a method
                made.update(
                    r for _, reads, _ in self.writes for r in reads
                    if r.startswith(receiver + ".") and r not in methods
                )
        changed = True
        while changed:
            changed = False
            for path, reads, calls in self.writes:
                if path in made:
                    continue
                if id(call) in calls or any(related(read, m) and len(read) >= len(m) for read in reads for m in made):
                    made.add(path)
                    changed = True
        return made

    def feeds_back(self, call: cst.Call) -> set[str]:
        """The paths written with ``call``'s results: by a write whose value holds the call, or
        reads a path the result was written to."""
        made = self.made_by(call)
        fed = set()
        for path, reads, calls in self.writes:
            if id(call) in calls or any(related(read, m) and len(read) >= len(m) for read in reads for m in made):
                fed.add(path)
        return fed

    def carried(self) -> set[str]:
        """Names whose new value is built, through other names of the body, from their old one
        (``prompt = Prompt(current.tools)`` then ``current = Response(prompt)``): what one
        iteration hands to the next."""
        found = set()
        for name in self.sources:
            seen: set[str] = set()
            todo = [name]
            while todo and name not in found:
                for read in self.sources.get(todo.pop(), ()):
                    root = read.split(".", 1)[0]
                    if root == name:
                        found.add(name)
                        break
                    if root not in seen:
                        seen.add(root)
                        todo.append(root)
        return found


def _target_path(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Subscript):
        return dotted_name(target.value)
    return dotted_name(target)


def _assigned_paths(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, (cst.Tuple, cst.List)):
        paths = []
        for element in target.elements:
            paths.extend(_assigned_paths(element.value))
        return paths
    path = _target_path(target)
    return [path] if path else []


def _is_step(path: str, value: cst.BaseExpression) -> bool:
    """``n = n + 1`` / ``n = n - 1``."""
    return (
        isinstance(value, cst.BinaryOperation)
        and isinstance(value.operator, (cst.Add, cst.Subtract))
        and dotted_name(value.left) == path
    )


def related(read: str, written: str) -> bool:
    return (
        read == written
        or written.startswith(read + ".")
        or read.startswith(written + ".")
    )


