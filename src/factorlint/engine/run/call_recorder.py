"""What the batched walk records call by call for the file's own analyses, before any rule sees
the call: registrations of handlers (web routes, chat events: :mod:`entrypoints`), the
framework agents built and run (:mod:`file_agents`), and what the taint analysis needs to know
of each call (which functions hold sinks, call models, are handed over as tools). Rules read both in ``leave_Module``, when
every call of the file has been recorded, whichever rules are enabled.
"""

from __future__ import annotations

import libcst as cst

from factorlint.engine.agents.entrypoints import entry_points
from factorlint.engine.agents.file_agents import file_agents
from factorlint.engine.semantic.names import literal_string
from factorlint.engine.taint.analyser import analyser as taint_analyser


class CallRecorder:
    def __init__(self, ctx) -> None:
        self.ctx = ctx

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        qualname = ctx.qualname(node.func)
        if qualname is None:
            return
        if ctx.knowledge.route_functions.first(qualname) is not None:
            entry_points(ctx).record_call(node)
        file_agents(ctx).record(ctx, node)
        taint_analyser(ctx).observe(node)

    def visit_Dict(self, node: cst.Dict) -> None:
        """A ``{"role": ...}`` message builds a prompt outside any call the taint analysis sees."""
        analyser = taint_analyser(self.ctx)
        if not analyser.want_prompts:
            return
        for element in node.elements:
            if isinstance(element, cst.DictElement) and literal_string(element.key) == "role":
                analyser.mark_prompt()
                return


class Guards:
    """Keeps ``ctx.guard_depths`` current during the walk: the function depth of each ``if``,
    ``while`` and ``for`` it is in. A call outside every test and loop of its own function is
    never decided by the model's reply there, which an analysis can then say without reading the
    function (:func:`engine.agents.recursion.onward_agent_loop`). First among the participants,
    so the depths are current when the others visit."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        ctx.guard_depths = []

    def _open(self, node: cst.CSTNode) -> None:
        self.ctx.guard_depths.append(len(self.ctx.function_stack))

    def _close(self, node: cst.CSTNode) -> None:
        self.ctx.guard_depths.pop()

    visit_If = visit_While = visit_For = _open
    leave_If = leave_While = leave_For = _close
