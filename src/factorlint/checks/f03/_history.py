"""Shared by the factor-3 rules: the history an agent loop feeds back, how it grows, and whether
anything trims, compacts, summarises or budgets it."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

import libcst as cst

from factorlint.engine.agents.loop_body import paths_in, related
from factorlint.engine.agents.loops import LoopInfo
from factorlint.engine.parse.walk import find_all, run_visitor
from factorlint.engine.recognise.responses import tracker
from factorlint.engine.semantic.names import call_reads, dotted_name

# Names of functions that shrink a history (the catalog's list); ``compaction-functions`` adds more.
COMPACTION_NAME = re.compile(
    r"(?i)trim|truncat|compact|summar|window|prune|squash|condense|shrink|filter|evict"
)
TOKEN_COUNTING = re.compile(
    r"(?i)(count|num|get_num|calc|calculate|estimate)_?tokens|tokens?_?(count|counter|len|length)"
    r"|token_counter|^encode$"
)
TOKENIZER_ROOTS = frozenset({"tiktoken", "tokenizers", "transformers", "anthropic", "litellm"})
GROWERS = frozenset({"append", "extend", "insert", "appendleft", "extendleft", "add_message",
                     "add_messages", "add_event", "append_event", "push", "put"})
SHRINKERS = frozenset({"pop", "popleft", "clear", "remove"})


@dataclass
class Growth:
    """How the loop changes one history path."""

    path: str
    grows: list[str] = field(default_factory=list)  # "append", "+=", ...
    shrinks: bool = False
    rebuilt: bool = False  # ``V = f(V)`` by a function we cannot see into


class _LoopChanges(cst.CSTVisitor):
    def __init__(self, paths: set[str]) -> None:
        self.paths = paths
        self.growth = {p: Growth(p) for p in paths}

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute):
            path = dotted_name(node.func.value)
            if path in self.growth:
                method = node.func.attr.value
                if method in GROWERS:
                    self.growth[path].grows.append(f".{method}()")
                elif method in SHRINKERS:
                    self.growth[path].shrinks = True

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        path = dotted_name(node.target)
        if path in self.growth and isinstance(node.operator, cst.AddAssign):
            self.growth[path].grows.append("+=")

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            path = dotted_name(target.target)
            if path not in self.growth:
                continue
            value = node.value
            if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add) and (
                dotted_name(value.left) == path
            ):
                self.growth[path].grows.append(f"{path} = {path} + ...")
            elif isinstance(value, (cst.List, cst.Tuple)) and any(
                isinstance(e, cst.StarredElement) and dotted_name(e.value) == path for e in value.elements
            ):
                self.growth[path].grows.append(f"[*{path}, ...]")
            elif isinstance(value, cst.Subscript) and dotted_name(value.value) == path:
                self.growth[path].shrinks = True  # ``V = V[-20:]``
            elif path in paths_in(value):
                self.growth[path].rebuilt = True

    def visit_Del(self, node: cst.Del) -> None:
        target = node.target
        if isinstance(target, cst.Subscript) and dotted_name(target.value) in self.growth:
            self.growth[dotted_name(target.value)].shrinks = True


def history_growth(info: LoopInfo) -> list[Growth]:
    """The paths an agent loop both passes to its model call and grows, with how it grows them."""
    read: set[str] = set()
    for llm in info.llm_calls:
        for arg in llm.node.args:
            read |= paths_in(arg.value)
    from factorlint.engine.agents.loop_body import BodyScan

    scan = BodyScan()
    run_visitor(info.node.body, scan)
    paths = {w for w in scan.mutated if any(related(r, w) for r in read) and w != "self"}
    if not paths:
        return []
    changes = _LoopChanges(paths)
    run_visitor(info.node.body, changes)
    return [g for g in changes.growth.values() if g.grows]


class Compaction:
    """Does anything near the loop trim, compact, summarise or budget a history path?"""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.extra = tuple(getattr(ctx.settings, "compaction_functions", ()) or ())

    def is_compaction_call(self, call: cst.Call) -> bool:
        name = dotted_name(call.func) or ""
        last = name.rsplit(".", 1)[-1]
        if last and COMPACTION_NAME.search(last):
            return True
        if not self.extra:
            return False
        qualname = self.ctx.qualname(call.func) or ""
        return any(
            fnmatch.fnmatchcase(qualname, p) or fnmatch.fnmatchcase(last, p) or p == name
            for p in self.extra
        )

    def is_token_count(self, call: cst.Call) -> bool:
        name = dotted_name(call.func) or ""
        last = name.rsplit(".", 1)[-1]
        qualname = self.ctx.qualname(call.func) or ""
        if qualname.split(".", 1)[0] == "tiktoken":
            return True
        return bool(last) and bool(TOKEN_COUNTING.search(last)) and (
            last != "encode" or qualname.split(".", 1)[0] in TOKENIZER_ROOTS
        )

    def bounded_in(self, region: cst.CSTNode, path: str) -> str | None:
        """How ``region`` keeps ``path`` in check, or None."""
        owner = path.rsplit(".", 1)[0] if "." in path else None
        for node in _nodes(region):
            if isinstance(node, cst.Call):
                if self.is_token_count(node):
                    return f"token counting ({dotted_name(node.func)})"
                if self.is_compaction_call(node) and self._touches(node, path, owner):
                    return f"{dotted_name(node.func)}(...)"
                if isinstance(node.func, cst.Attribute) and node.func.attr.value in SHRINKERS and (
                    dotted_name(node.func.value) == path
                ):
                    return f"{path}.{node.func.attr.value}()"
            elif isinstance(node, cst.Subscript) and dotted_name(node.value) == path and any(
                _windowing(s.slice) for s in node.slice
            ):
                return f"a window of {path}"
            elif isinstance(node, cst.Del):
                target = node.target
                if isinstance(target, cst.Subscript) and dotted_name(target.value) == path:
                    return f"del {path}[...]"
        return None

    def _touches(self, call: cst.Call, path: str, owner: str | None) -> bool:
        read = call_reads(call)
        if any(related(r, path) for r in read):
            return True
        # ``self._trim_history()`` keeps ``self.history`` in check: same object.
        return owner is not None and owner in read

    def bounded_nearby(self, info: LoopInfo, path: str, function: cst.CSTNode | None) -> str | None:
        """The function around the loop, the class for ``self.`` paths, and one call deep."""
        regions: list[cst.CSTNode] = [function or info.node]
        if path.startswith("self.") and self.ctx.class_stack:
            regions.append(self.ctx.class_stack[-1])
        track = tracker(self.ctx)
        for llm in info.llm_calls:
            local = track.local_function(llm.qualname) if llm.requires else None
            if local is not None:
                regions.append(local)
        for node in _nodes(info.node.body):
            if isinstance(node, cst.Call):
                qualname = self.ctx.qualname(node.func)
                local = track.local_function(qualname) if qualname else None
                if local is not None and local not in regions:
                    regions.append(local)
        for region in regions:
            found = self.bounded_in(region, path)
            if found:
                return found
        # A wrapper one call deep: compaction or token counting anywhere in it.
        for region in regions[1:]:
            if region is not (self.ctx.class_stack[-1] if self.ctx.class_stack else None):
                for node in _nodes(region):
                    if isinstance(node, cst.Call) and (
                        self.is_token_count(node) or self.is_compaction_call(node)
                    ):
                        return f"{dotted_name(node.func)}(...) in a function the loop calls"
        return None


def _windowing(index) -> bool:
    """``[-20:]``, ``[-self.window:]``, ``[:limit]``: a slice that caps the size (not ``[1:]``)."""
    if not isinstance(index, cst.Slice):
        return False
    if index.upper is not None:
        return True
    return isinstance(index.lower, cst.UnaryOperation) and isinstance(index.lower.operator, cst.Minus)


def _nodes(region: cst.CSTNode) -> list[cst.CSTNode]:
    return find_all(region, (cst.Call, cst.Subscript, cst.Del))


def int_value(ctx, expr: cst.BaseExpression | None, function: cst.FunctionDef | None) -> int | None:
    """An integer literal, a module constant bound to one, or a parameter's integer default."""
    if expr is None:
        return None
    if isinstance(expr, cst.Integer):
        try:
            return int(expr.evaluated_value)
        except ValueError:
            return None
    if isinstance(expr, cst.Name):
        if function is not None:
            params = function.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                if param.name.value == expr.value:
                    return int_value(ctx, param.default, None)
        constant = ctx.scan.module_constants.get(expr.value)
        if isinstance(constant, cst.Integer):
            return int_value(ctx, constant, None)
    return None

