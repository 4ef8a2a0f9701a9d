"""Shared by the factor-5 rules: names that hold execution state, and where a block sets and
reads them."""

from __future__ import annotations

import re

import libcst as cst

from factorlint.engine.parse.walk import ScopeVisitor
from factorlint.engine.semantic.names import dotted_name

# Names of execution state (catalog FA502).
_FLAG = re.compile(
    r"(?i)^(current_)?step$|status|phase|state$|waiting|awaiting_|retry_count|retries|attempts|pending_"
)


# Names of thread data kept aside (a buffer of history), not a flag about the run.
_THREAD_DATA = re.compile(r"(?i)histor|messages|thread|events|transcript")
_COLLECTIONS = frozenset({"list", "dict", "set", "tuple", "deque", "defaultdict", "OrderedDict"})


def _collection(value: cst.BaseExpression) -> bool:
    """A container is data, not a status flag: ``pending = []``, ``list(items)``."""
    if isinstance(value, (cst.List, cst.Dict, cst.Set, cst.Tuple, cst.ListComp, cst.DictComp, cst.SetComp)):
        return True
    if isinstance(value, cst.Call):
        name = dotted_name(value.func)
        return name is not None and name.rsplit(".", 1)[-1] in _COLLECTIONS
    return False


def _is_step(path: str, value: cst.BaseExpression) -> bool:
    """``n = n + 1``: a counter, which bounds the loop (factors 8 and 9)."""
    return (
        isinstance(value, cst.BinaryOperation)
        and isinstance(value.operator, (cst.Add, cst.Subtract))
        and dotted_name(value.left) == path
    )


class FlagScan(ScopeVisitor):
    """Flag assignments and reads in a block (nested definitions skipped)."""

    def __init__(self, self_only: bool = False) -> None:
        self.assigned: list[tuple[str, cst.CSTNode]] = []
        self.reads: set[str] = set()
        self._targets: set[int] = set()
        self._self_only = self_only

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._target(target.target, node.value, node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._target(node.target, node.value, node)

    def _target(self, target, value, node) -> None:
        path = dotted_name(target)
        if path is None:
            return
        self._targets.add(id(target))
        if self._self_only and not path.startswith("self."):
            return
        last = path.rsplit(".", 1)[-1]
        if _FLAG.search(last) and not _THREAD_DATA.search(last) and not _is_step(path, value) and not _collection(value):
            self.assigned.append((path, node))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets.add(id(node.target))

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        path = dotted_name(node)
        if path is not None:
            if id(node) not in self._targets:
                self.reads.add(path)
            return False
        return True

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self._targets:
            self.reads.add(node.value)
