"""Taint: where text the model chose flows inside a function, and which dangerous calls it reaches.

Sources are a model's reply (an LLM call, a framework agent's run, a project wrapper that turns
out to reach a model; the reply's ``.choices[0].message.content``, tool-call arguments and parsed
objects are followed as attribute and subscript accesses), the parameters of a tool function (a
function decorated with a tool decorator of the knowledge tables, a ``_run``/``forward`` method of a
tool base class subclass, a function handed to an agent in ``tools=[...]``) and, for prompts only,
text fetched from the web. The value is followed through assignments, f-strings, ``.format``,
``%``, concatenation, ``str.join``, containers, attribute and subscript access, methods of the
value, standard-library calls (``json.loads``, ``os.path.join``) and the parsers named in the
knowledge tables, forward through a function's statements (branches merged, loops run twice).

Every parameter is a symbolic source, so one analysis of a function says both what reaches its
sinks from the model and which of its parameters reach a sink or its return value. A call to a
function of the same file uses that summary: a model reply passed to ``run_code(code)`` reaches
the ``exec`` inside it (one call deep). Across files the project pass decides: a sink reached from
a parameter of a function that is no tool is a finding that stands only if a caller in another
file hands that parameter text the model chose, directly or through other project functions
(Finding.requires_tainted); each file records what it hands over (FileFacts.tainted,
:meth:`TaintAnalyser.tainted_arguments`). The finding is at the sink, naming the caller. Sinks are
the knowledge tables' ``[[security.sinks]]``.

The engine's call recorder shows every call to :meth:`TaintAnalyser.observe` during the walk (it
notes which functions hold sinks, call a model and are registered as tools); rules read
:meth:`TaintAnalyser.findings` in ``leave_Module``, when every tool registration of the file is
known. The statement walk lives in
:mod:`taint_walk`, the checks at each call in :mod:`taint_sinks`.
"""

from __future__ import annotations

import libcst as cst

from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.semantic.names import dotted_name
from factorlint.engine.taint.model import (  # noqa: F401  (SinkFinding, host_is_fixed: the rules' API)
    _MUTATORS,
    ANY_SINK,
    Hit,
    Result,
    SinkFinding,
    Source,
    Taint,
    WalkState,
    _statements,
    host_is_fixed,
    union,
)
from factorlint.engine.taint.walk import Walk
from factorlint.model import PARAMETER, TAINTED


def analyser(ctx) -> TaintAnalyser:
    """The file's analyser, shared by every rule."""
    return ctx.analysis(TaintAnalyser)


class TaintAnalyser:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.knowledge = ctx.knowledge
        # Also follow text into prompt sites, when an enabled rule reads them (TFS008).
        self.want_prompts = "prompt_taint" in ctx.needs
        self._seen: set[int] = set()
        self._frames: dict[int, tuple] = {}  # id(def) or 0 -> (def or None, function stack)
        self._sink_keys: set[int] = set()  # functions that call a sink
        self._prompt_keys: set[int] = set()  # functions that build a prompt (TFS008)
        self._calls: dict[int, set[int]] = {}  # function -> the same-file functions it calls
        self._tools: set[int] = set()  # id(def) of functions handed to an agent or a tool wrapper
        # Functions that hand something to a project function of another file, and those that
        # call a model: the first are analysed when they are the second, or tools.
        self._project_callers: set[int] = set()
        self._model_callers: set[int] = set()
        self._results: dict[int, Result] = {}
        self._busy: set[int] = set()
        self._findings: list[SinkFinding] | None = None

    # -- during the visit -------------------------------------------------------------------

    def observe(self, call: cst.Call) -> None:
        if id(call) in self._seen:
            return
        self._seen.add(id(call))
        qualname = self.ctx.qualname(call.func)
        if qualname is None:
            return
        self._note_tools(call, qualname)
        key = self._frame()
        if self.knowledge.sinks.get(qualname):
            self._sink_keys.add(key)
        local = self._local_def(qualname)
        if local is not None:
            self._calls.setdefault(key, set()).add(id(local))
        elif call.args and self.ctx.is_project_candidate(qualname):
            self._project_callers.add(key)
        if self.ctx.recognise.llm_call(call) is not None:
            self._model_callers.add(key)
        if self.want_prompts and self._has_prompt(call, qualname):
            self._prompt_keys.add(key)

    def _frame(self) -> int:
        stack = tuple(self.ctx.function_stack)
        function = stack[-1] if stack else None
        key = id(function) if function is not None else 0
        self._frames.setdefault(key, (function, stack))
        return key

    def mark_prompt(self) -> None:
        """The current function builds a prompt outside a call (a ``{"role": "system"}`` dict)."""
        self._prompt_keys.add(self._frame())

    def _has_prompt(self, call: cst.Call, qualname: str) -> bool:
        recognise = self.ctx.recognise
        llm = recognise.llm_call(call)
        if llm is not None and llm.spec is not None:
            return True
        construct = recognise.agent_construct(call)
        if construct is not None and construct.spec.prompt is not None:
            return True
        return self.knowledge.prompt_builders.first(qualname) is not None

    def _note_tools(self, call: cst.Call, qualname: str) -> None:
        """Functions handed to an agent (``tools=[f]``) or a tool wrapper (``Tool.from_function(f)``)."""
        values: list[cst.BaseExpression] = []
        construct = self.ctx.recognise.agent_construct(call)
        keywords = list(construct.spec.tools_keywords) if construct is not None else []
        llm = self.ctx.recognise.llm_call(call)
        if llm is not None and llm.spec is not None:
            keywords += llm.spec.tools_keywords
        for keyword in keywords:
            arg = keyword_arg(call, keyword)
            if arg is not None and isinstance(arg.value, (cst.List, cst.Tuple)):
                values += [e.value for e in arg.value.elements]
        if self.knowledge.tool_decorators.first(qualname) is not None:
            first = positional_arg(call, 0)
            values += [first.value] if first is not None else []
            values += [a.value for k in ("func", "fn", "function") if (a := keyword_arg(call, k))]
        for value in values:
            if isinstance(value, (cst.Name, cst.Attribute)):
                target = self._local_def(self.ctx.qualname(value) or "")
                if target is not None:
                    self._tools.add(id(target))

    # -- after the visit --------------------------------------------------------------------

    def findings(self) -> list[SinkFinding]:
        if self._findings is not None:
            return self._findings
        found: list[SinkFinding] = []
        for key, (function, stack) in list(self._frames.items()):
            if key not in self._reach() | self._prompt_keys:
                continue
            result = self._analyse(function, stack)
            tool = self.tool_label(function) if function is not None else ""
            for hit in result.hits.values():
                if hit.kind == ANY_SINK:
                    continue
                sources = _resolve(hit.taint, tool)
                if sources or tool:
                    found.append(SinkFinding(
                        hit.kind, hit.node, hit.label, hit.via, sources, hit.taint, tool, function,
                        hit.interpolation_only,
                    ))
                if not tool and function is not None and not hit.via:
                    found.extend(self._from_callers(hit, function))
        self._findings = found
        return found

    def _reach(self) -> set[int]:
        """Functions that hold a sink, and their callers in this file (a few calls deep)."""
        reach = set(self._sink_keys)
        for _ in range(3):
            reach |= {key for key, callees in self._calls.items() if callees & reach}
        return reach

    def _from_callers(self, hit: Hit, function: cst.FunctionDef) -> list[SinkFinding]:
        """A sink reached from a parameter of a function that is no tool: it stands if a caller
        in another file hands that parameter text the model chose, directly or through other
        project functions (settled in the project pass: Finding.requires_tainted)."""
        if hit.taint is None or hit.kind in hit.taint.safe_for:
            return []
        qualname = self.ctx.function_qualname(function)
        slots = tuple(sorted({
            f"{qualname}{PARAMETER}{source.param}"
            for source in hit.taint.sources if source.kind == "param" and source.param
        }))
        if not slots:
            return []
        return [SinkFinding(
            hit.kind, hit.node, hit.label, "", (Source("model", TAINTED),), hit.taint, "", function,
            hit.interpolation_only, requires_tainted=slots,
        )]

    def tainted_arguments(self) -> list[tuple[str, str, str, str]]:
        """For the project pass (FileFacts.tainted): text the model chose handed to a project
        function of another file, ``(callee, place, what it is, the wrappers it requires)``,
        once per callee and place. Read from the functions that call a model or are tools."""
        found: dict[tuple[str, str], tuple[str, str, str, str]] = {}
        for key, (function, stack) in list(self._frames.items()):
            if key not in self._project_callers:
                continue
            tool = self.tool_label(function) if function is not None else ""
            if key not in self._model_callers and not tool:
                continue
            for hit in self._analyse(function, stack).hits.values():
                if hit.kind != ANY_SINK:
                    continue
                chosen = [s for s in _resolve(hit.taint, tool) if s.kind in ("model", "tool_arg")]
                if not chosen:
                    continue
                callee, place = hit.via.rsplit("#", 1)
                source = next((s for s in chosen if not s.requires), chosen[0])
                requires = "" if not source.requires else ",".join(sorted({q for s in chosen for q in s.requires}))
                found.setdefault((callee, place), (callee, place, source.label, requires))
        return list(found.values())

    def tool_label(self, function: cst.FunctionDef) -> str:
        """How ``function`` is a tool the model calls, or "" when it is not one."""
        ctx = self.ctx
        saved = ctx.function_stack
        try:
            ctx.function_stack = []
            for decorator in function.decorators:
                expr = decorator.decorator
                target = expr.func if isinstance(expr, cst.Call) else expr
                qualname = ctx.qualname(target)
                if qualname and self.knowledge.tool_decorators.first(qualname) is not None:
                    return f"decorated with `@{dotted_name(target) or qualname}`"
            owner = ctx.scan.class_of_function.get(id(function))
            if owner is not None and function.name.value in self.knowledge.tool_methods:
                base = self._tool_base(owner, 0)
                if base:
                    return f"`{function.name.value}` of a `{base}` subclass"
        finally:
            ctx.function_stack = saved
        if id(function) in self._tools:
            return "handed to an agent as a tool"
        return ""

    def _tool_base(self, class_qualname: str, depth: int) -> str:
        if depth > 4:
            return ""
        for base in self.ctx.scan.class_bases.get(class_qualname, []):
            qualname = self.ctx.qualname(base)
            if qualname and self.knowledge.tool_base_classes.first(qualname) is not None:
                return qualname.rsplit(".", 1)[-1]
            name = dotted_name(base)
            if name is not None and name in self.ctx.scan.classes and name != class_qualname:
                found = self._tool_base(name, depth + 1)
                if found:
                    return found
        return ""

    def _local_def(self, qualname: str) -> cst.FunctionDef | None:
        prefix = self.ctx.module_name + "."
        if not qualname.startswith(prefix):
            return None
        rest = qualname[len(prefix):]
        scan = self.ctx.scan
        if rest in scan.module_functions:
            return scan.module_functions[rest]
        if rest in scan.nested_functions:
            return scan.nested_functions[rest]
        owner, _, member = rest.rpartition(".")
        return scan.methods.get(owner, {}).get(member) if owner else None

    def _analyse(self, function: cst.FunctionDef | None, stack: tuple) -> Result:
        key = id(function) if function is not None else 0
        if key in self._results:
            return self._results[key]
        if key in self._busy:
            return Result()
        self._busy.add(key)
        ctx = self.ctx
        saved = ctx.function_stack
        ctx.function_stack = list(stack)
        try:
            walk = Walk(self, function)
            if function is None:
                walk.block([s for s in ctx.module.body if not isinstance(s, (cst.FunctionDef, cst.ClassDef))], {})
            else:
                walk.block(_statements(function.body), walk.parameters())
        finally:
            ctx.function_stack = saved
            self._busy.discard(key)
        self._results[key] = walk.result
        return walk.result

    def summary(self, function: cst.FunctionDef) -> Result:
        """What reaches the sinks and the return value of a same-file function from its parameters."""
        return self._analyse(function, (function,))


def _resolve(taint: Taint | None, tool: str) -> tuple:
    if taint is None:
        return ()
    out = []
    for source in sorted(taint.sources, key=lambda s: (s.kind, s.label)):
        if source.kind == "param":
            if tool:
                out.append(Source("tool_arg", f"the tool argument `{source.param}`"))
        else:
            out.append(source)
    return tuple(dict.fromkeys(out))
