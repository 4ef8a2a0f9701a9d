"""What the taint rules share: feeding the analyser during the visit, reading its hits at the end."""

from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule
from factorlint.engine.taint import analyser as taint
from factorlint.engine.taint.analyser import SinkFinding, Source

MODEL_CHOSEN = ("model", "tool_arg")


class TaintRule(Rule):
    """A rule about one sink kind: the taint analyser's hits of that kind, read at the end."""

    kind = ""
    _finding: SinkFinding | None = None

    def leave_Module(self, node: cst.Module) -> None:
        self._pending: list[tuple[cst.CSTNode, str | None, dict]] = []
        for finding in taint.analyser(self.ctx).findings():
            if finding.kind == self.kind:
                self._finding = finding
                self.check(finding)
        self._finding = None
        # ``exec(compile(code, ...))`` is one construct: when both sinks are reported, the outer
        # call is the finding.
        reported = [n for n, _, _ in self._pending]
        inner = {id(arg.value) for n in reported if isinstance(n, cst.Call) for arg in n.args}
        for found, message, kwargs in self._pending:
            if id(found) not in inner:
                super().report(found, message, **kwargs)
        self._pending = []

    def report(self, node: cst.CSTNode, message: str | None = None, **kwargs) -> None:
        """A finding about the hit being checked: one reached through a parameter stands only if
        the project pass finds a caller handing it text the model chose (``requires_tainted``)."""
        if self._finding is not None and self._finding.requires_tainted:
            kwargs.setdefault("requires_tainted", self._finding.requires_tainted)
        self._pending.append((node, message, kwargs))

    def check(self, finding: SinkFinding) -> None:  # pragma: no cover - every rule overrides it
        raise NotImplementedError


def chosen_source(
    finding: SinkFinding, kinds: tuple[str, ...] = MODEL_CHOSEN, module: str = ""
) -> tuple[Source, tuple[str, ...]] | None:
    """The source to name in the message, and the wrappers the project pass must confirm.

    None when an allow-list test (``if cmd in ALLOWED:``) constrained the value first. A certain
    source (a direct model call, a tool argument) wins; otherwise the finding stands
    only if one of the candidate wrappers turns out to reach a model, and the message names a
    candidate of the project's own package (``module``'s top package) before a library call.
    """
    if finding.taint is not None and finding.taint.allowed:
        return None  # ``if cmd in ALLOWED:``: the value is one the program chose
    chosen = [s for s in finding.sources if s.kind in kinds]
    if not chosen:
        return None
    for source in chosen:
        if not source.requires:
            return source, ()
    top = module.split(".", 1)[0]
    requires = tuple(sorted({q for s in chosen for q in s.requires}))
    own = [s for s in chosen if any(q.split(".", 1)[0] == top for q in s.requires)]
    chosen = sorted(own or chosen, key=lambda s: s.label)
    if len(chosen) > 1:  # which of them reaches a model is settled later: name two
        names = " or ".join(s.label.split("`")[1] for s in chosen[:2] if s.label.count("`") >= 2)
        return Source("model", f"the result of `{names}`".replace(" or ", "` or `"), requires), requires
    return chosen[0], requires


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def where(finding: SinkFinding) -> str:
    """`` inside `run_code()` `` when the sink is in the function called (this file or another)."""
    return f" inside `{finding.via}`" if finding.via else ""
