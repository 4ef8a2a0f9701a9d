"""Evidence: the positive signals next to each score ("bounded loops 3/4").

Evidence explains a grade and adds no points, so sprinkling signals cannot game a score. Each
line counts sites of the factor that show a practice, out of the sites where it applies; a line
whose total is zero is left out.
"""

from __future__ import annotations

from collections.abc import Callable

from factorlint.audit.model import Evidence
from factorlint.model import Site

_OWNED_PROMPT_SOURCES = ("file", "constant", "template")

# factor -> [(label, which sites it is about, which of those show the practice)]
Line = tuple[str, Callable[[Site], bool], Callable[[Site], bool]]


def _is(kind: str) -> Callable[[Site], bool]:
    return lambda s: s.kind == kind


def _direct(site: Site) -> bool:
    return site.kind == "llm_call" and bool(site.detail.get("direct"))


def _flag(name: str) -> Callable[[Site], bool]:
    return lambda s: bool(s.detail.get(name))


_LINES: dict[int | None, list[Line]] = {
    1: [("model calls asking for structured output", _direct, _flag("structured"))],
    2: [
        ("prompts kept in files or named constants", _is("prompt"),
         lambda s: s.detail.get("source") in _OWNED_PROMPT_SOURCES),
    ],
    3: [("agents without framework-owned memory", _is("agent"), lambda s: not s.detail.get("memory"))],
    4: [("model calls asking for structured output", _direct, _flag("structured"))],
    6: [
        ("persistent checkpointers", _is("checkpointer"), _flag("persistent")),
        ("agents built with a checkpointer", _is("agent"), _flag("checkpointer")),
    ],
    7: [("tools behind an approval", _is("tool"), _flag("approval"))],
    8: [
        ("bounded agent loops", _is("loop"), _flag("bounded")),
        ("framework agents with an explicit step bound", lambda s: s.kind == "agent" and s.detail.get("bounded") is not None, _flag("bounded")),
        ("hand-offs with an explicit bound", _is("handoff"), _flag("bounded")),
    ],
    9: [
        ("bounded retry wrappers", _is("retry"), _flag("bounded")),
        ("bounded agent loops", _is("loop"), _flag("bounded")),
    ],
}


def evidence_for(factor: int | None, sites: list[Site], scored_sites: int, flagged: int) -> list[Evidence]:
    """The factor's evidence lines; ``scored_sites`` and ``flagged`` come from its score."""
    lines = []
    for label, about, shows in _LINES.get(factor, []):
        relevant = [s for s in sites if about(s)]
        if relevant:
            lines.append(Evidence(label, sum(1 for s in relevant if shows(s)), len(relevant)))
    if factor == 11:
        entries = {(s.path, s.function) for s in sites if s.kind == "entry_point"}
        runners = [s for s in sites if s.kind == "function" and s.detail.get("runs_agent")]
        if runners:
            hits = sum(1 for s in runners if (s.path, s.function) in entries)
            lines.append(Evidence("agent-running functions that are service or CLI entry points", hits, len(runners)))
    if scored_sites:
        lines.append(Evidence("sites with no finding", scored_sites - flagged, scored_sites))
    return lines
