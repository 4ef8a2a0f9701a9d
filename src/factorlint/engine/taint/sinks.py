"""Checks at each call of the taint walk: sinks, calls into same-file functions, prompt sites.

A mixin of :class:`taint_walk.Walk`: it reads the walk's state before each statement and records
:class:`Hit` objects in the walk's result.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

import libcst as cst

from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.recognise import prompts
from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.semantic.names import literal_string
from factorlint.engine.taint.model import ANY_SINK, Hit, WalkState, union
from factorlint.knowledge import qn_matches
from factorlint.model import through_parameter

_SYSTEM_ROLES = frozenset({"system", "developer"})

if TYPE_CHECKING:
    from factorlint.engine.taint.model import Taint


class _Finder(cst.CSTVisitor):
    """Calls and dict literals in an expression or a simple statement (lambdas skipped)."""

    def __init__(self) -> None:
        self.calls: list[cst.Call] = []
        self.dicts: list[cst.Dict] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Dict(self, node: cst.Dict) -> None:
        self.dicts.append(node)

    def visit_Lambda(self, node) -> bool:
        return False


def _literal(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, (cst.Integer, cst.Float)):
        return node.value
    return literal_string(node)


class SinkChecks(WalkState):
    """Sink, helper-call and prompt-site checks; needs ``value``, ``_bound_arg``, ``_compose``."""

    if TYPE_CHECKING:

        def value(self, node: cst.BaseExpression | None, state: dict) -> Taint | None: ...

        def _bound_arg(self, local: cst.FunctionDef, call: cst.Call, name: str): ...

        @staticmethod
        def _compose(inner: Taint, outer: Taint) -> Taint: ...

    def scan(self, node: cst.CSTNode, state: dict) -> None:
        finder = _Finder()
        run_visitor(node, finder)
        for call in finder.calls:
            self.check_call(call, state)
        if self.a.want_prompts:
            for item in finder.dicts:
                self._system_dict(item, state)

    def _hit(self, kind, node, label, taint, via="", interpolation_only=False) -> None:
        key = (id(node), kind, via)
        found = self.result.hits.get(key)
        if found is None:
            self.result.hits[key] = Hit(kind, node, label, taint, via, interpolation_only)
        elif taint is not None:
            found.taint = taint.union(found.taint)

    def check_call(self, call: cst.Call, state: dict) -> None:
        qualname = self.ctx.qualname(call.func)
        if qualname is None:
            return
        for spec in self.k.sinks.get(qualname):
            payload = self._payload(spec, call)
            if payload is None:
                continue
            taint = union(*(self.value(p, state) for p in payload))
            if taint is not None and spec.kind in taint.safe_for:
                taint = None
            label = spec.label or f"`{self._text(call.func)}()`"
            self._hit(spec.kind, call, label, taint, interpolation_only=spec.interpolation_only)
        local = self.a._local_def(qualname)
        if local is not None and local is not self.function:
            for hit in list(self.a.summary(local).hits.values()):
                sources = hit.taint.sources if hit.taint is not None else frozenset()
                if any(s.kind in ("model", "tool_arg") for s in sources):
                    # The callee reaches the sink with text the model chose on its own: that is
                    # its finding, and every call of it would repeat it (one construct, one finding).
                    continue
                for source in sources:
                    if source.kind != "param":
                        continue
                    arg = self._bound_arg(local, call, source.param)
                    arg_taint = self.value(arg, state) if arg is not None else None
                    if arg_taint is None or hit.kind in arg_taint.safe_for:
                        continue
                    via = hit.via or f"{local.name.value}()"
                    self._hit(hit.kind, call, hit.label, self._compose(hit.taint, arg_taint), via,
                              hit.interpolation_only)
        elif local is None:
            self._into_project(call, qualname, state)
        if self.a.want_prompts:
            self._prompt_sites(call, qualname, state)

    def _into_project(self, call: cst.Call, qualname: str, state: dict) -> None:
        """A tainted argument handed to a project function of another file: recorded for the
        project pass (FileFacts.tainted), which settles the findings at that file's sinks."""
        if qualname.endswith("()") or through_parameter(qualname) or not self.ctx.is_project_candidate(qualname):
            return
        for position, arg in enumerate(call.args):
            if arg.star:
                break  # the places after ``*args`` are unknown
            taint = self.value(arg.value, state)
            if taint is not None:
                place = arg.keyword.value if arg.keyword is not None else str(position)
                self._hit(ANY_SINK, call, qualname, taint, via=f"{qualname}#{place}")

    def _payload(self, spec, call: cst.Call) -> list | None:
        active = True
        if spec.when_keyword:
            arg = keyword_arg(call, spec.when_keyword)
            active = arg is not None and _literal(arg.value) in spec.when_values
        if spec.safe_keyword or spec.safe_positional is not None:
            arg = keyword_arg(call, spec.safe_keyword) if spec.safe_keyword else None
            if arg is None and spec.safe_positional is not None:
                arg = positional_arg(call, spec.safe_positional)
            if arg is not None:
                loader = self.ctx.qualname(arg.value)
                if loader is None or any(qn_matches(v, loader) for v in spec.safe_values):
                    return None
        values = [a.value for i in spec.arguments if (a := positional_arg(call, i)) is not None]
        values += [a.value for k in spec.keywords if (a := keyword_arg(call, k)) is not None]
        if active:
            return values or None
        if spec.argv_shell:
            for value in values:
                command = self._shell_command(value)
                if command is not None:
                    return command
        return None

    def _shell_command(self, value: cst.BaseExpression) -> list | None:
        """``["bash", "-c", cmd]``: the elements after the shell's command flag."""
        if not isinstance(value, (cst.List, cst.Tuple)) or len(value.elements) < 3:
            return None
        program = literal_string(value.elements[0].value)
        flag = literal_string(value.elements[1].value)
        if program is None or flag not in self.k.shell_flags:
            return None
        if program not in self.k.shell_programs and posixpath.basename(program) not in self.k.shell_programs:
            return None
        return [e.value for e in value.elements[2:]]

    def _system_dict(self, node: cst.Dict, state: dict) -> None:
        role = content = None
        for item in node.elements:
            if isinstance(item, cst.DictElement):
                key = literal_string(item.key)
                if key == "role":
                    role = literal_string(item.value)
                elif key == "content":
                    content = item.value
        if role in _SYSTEM_ROLES and content is not None:
            taint = self.value(content, state)
            if taint is not None:
                self._hit("system_prompt", content, f"a `{role}` message", taint)

    def _prompt_sites(self, call: cst.Call, qualname: str, state: dict) -> None:
        recognise = self.ctx.recognise
        sites = []
        llm = recognise.llm_call(call)
        if llm is not None and llm.spec is not None:
            system_keywords = {f"{k}=" for k in llm.spec.prompt_keywords}
            sites += [
                s for s in prompts.call_prompt_sites(self.ctx, call, llm.spec)
                if s.where in system_keywords or "[system]" in s.where or "[developer]" in s.where
            ]
        construct = recognise.agent_construct(call)
        if construct is not None and construct.spec.prompt is not None and construct.spec.owns_loop:
            sites += prompts.agent_prompt_sites(self.ctx, call, construct.spec.prompt)
        if self.k.prompt_builders.first(qualname) is not None:
            sites += [s for s in prompts.builder_sites(self.ctx, call) if "system" in s.where.lower()]
        for site in sites:
            taint = self.value(site.node, state)
            if taint is not None:
                self._hit("system_prompt", site.node, f"`{site.where}`", taint)
