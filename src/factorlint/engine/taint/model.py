"""The values of the taint analysis: sources, taints, hits, a function's result, and the state
the statement walk is assembled around. Shared by :mod:`taint` (the analyser), :mod:`taint_walk`
(the statement walk), :mod:`taint_values` (expressions) and :mod:`taint_sinks` (checks at a call);
it imports none of them."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import libcst as cst

if TYPE_CHECKING:
    from factorlint.engine.semantic.context import FileContext
    from factorlint.knowledge import Knowledge

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"builtins"}
_PREDICATES = frozenset(
    {"startswith", "endswith", "isdigit", "isalpha", "isalnum", "isnumeric", "isdecimal", "isspace",
     "islower", "isupper", "istitle", "isidentifier", "count", "find", "rfind", "index", "rindex",
     "__len__", "__contains__", "exists", "is_file", "is_dir"}
)
_MUTATORS = frozenset({"append", "extend", "insert", "add", "update", "appendleft", "extendleft", "put"})
_SAFE_ANNOTATIONS = frozenset({"int", "float", "bool", "complex"})
_UNKNOWN = "\0"  # a clean value whose text is not known (a variable), in a URL's leading text
_SCHEME_ONLY = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*:/{0,2}$")


@dataclass(frozen=True)
class Source:
    kind: str  # "model", "tool_arg", "web", or "param" (a parameter, before the function is known)
    label: str  # for messages: "the reply of `client.chat.completions.create`"
    requires: tuple[str, ...] = ()  # candidate wrappers the project pass must find reaching a model
    param: str = ""


@dataclass(frozen=True)
class Taint:
    sources: frozenset
    interpolated: bool = False  # built into a larger string with literal text (f-string, +, format)
    lead: str | None = ""  # clean text before the first tainted part (None: not a string)
    checked: bool = False  # tested before use: compared, or passed to a check (``is_allowed(url)``)
    safe_for: frozenset = frozenset()  # sink kinds a sanitiser made it safe for (shlex.quote)
    allowed: bool = False  # known to equal a value of the program's (``if cmd in ALLOWED:``)

    def union(self, other: Taint | None) -> Taint:
        if other is None:
            return self
        return Taint(
            self.sources | other.sources, self.interpolated or other.interpolated, self.lead,
            self.checked and other.checked, self.safe_for & other.safe_for,
            self.allowed and other.allowed,
        )


def union(*taints: Taint | None) -> Taint | None:
    result = None
    for taint in taints:
        if taint is not None:
            result = taint if result is None else result.union(taint)
    return result


# The kind of a hit at a call of a project function in another file: which sink (if any) the
# argument reaches there is known only in the project pass.
ANY_SINK = "*"


@dataclass
class Hit:
    """A sink call (or prompt value) reached in one function, before tool parameters are known."""

    kind: str  # a sink kind, or "system_prompt"
    node: cst.CSTNode
    label: str
    taint: Taint | None
    via: str = ""  # the same-file function that holds the sink, when it is one call deep
    interpolation_only: bool = False


@dataclass
class Result:
    hits: dict = field(default_factory=dict)  # (id(node), kind, via) -> Hit
    returns: Taint | None = None


@dataclass(frozen=True)
class SinkFinding:
    """A hit with its sources resolved: parameters of tools became tool arguments."""

    kind: str
    node: cst.CSTNode
    label: str
    via: str
    sources: tuple  # Source, never "param"
    taint: Taint | None
    tool: str  # how the enclosing function is a tool ("" if it is not one)
    function: cst.FunctionDef | None
    interpolation_only: bool = False
    # Set when the text reaches the sink through a parameter a caller in another file fills:
    # the parameter slots (Finding.requires_tainted); the source's label is model.TAINTED.
    requires_tainted: tuple[str, ...] = ()


def host_is_fixed(lead: str | None) -> bool:
    """Does the clean text before the model's part already name the host of a URL?"""
    if not lead:
        return False
    if lead.startswith(_UNKNOWN):
        return True
    if "://" in lead:
        rest = lead.split("://", 1)[1]
        if any(c in rest for c in "/?#"):
            return True  # the host ended before the model's part began
        return bool(rest.replace(_UNKNOWN, ""))  # "https://api.example.com" + path
    return not _SCHEME_ONLY.match(lead)


def _statements(block) -> list:
    if isinstance(block, cst.IndentedBlock):
        return list(block.body)
    if isinstance(block, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=block.body)]
    return []


def _exits(statements: list) -> bool:
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, cst.SimpleStatementLine) and last.body:
        return isinstance(last.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))
    if isinstance(last, cst.If) and isinstance(last.orelse, cst.Else):
        return _exits(_statements(last.body)) and _exits(_statements(last.orelse.body))
    return False


def _merge(a: dict, b: dict) -> dict:
    merged = dict(a)
    for path, taint in b.items():
        merged[path] = taint.union(merged.get(path)) if path in merged else taint
    return merged


class Summaries(Protocol):
    """What the walk asks of the analyser that runs it (:class:`taint.TaintAnalyser`)."""

    want_prompts: bool

    def _local_def(self, qualname: str) -> cst.FunctionDef | None: ...

    def summary(self, function: cst.FunctionDef) -> Result: ...


class WalkState:
    """What the statement walk (``taint_walk.Walk``) holds, set by its ``__init__``: declared once
    here for the parts it is assembled from (``TaintValues``, ``SinkChecks``)."""

    a: Summaries
    ctx: FileContext
    k: Knowledge
    function: cst.FunctionDef | None
    result: Result

    if TYPE_CHECKING:

        def _text(self, node: cst.CSTNode) -> str: ...
