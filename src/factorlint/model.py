"""The data every stage passes on: findings, diagnostics, per-file facts and the whole report.

These are plain dataclasses: cheap to build in the hot path, and carried to the cache and
across the worker pipe as validated JSON by engine.cache_codec (never pickled).
The JSON reporter turns them into the versioned, pydantic-validated output schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "advice"]
Confidence = Literal["high", "medium", "low"]
Applicability = Literal["safe", "unsafe", "display-only"]
FileRole = Literal["app", "test", "example"]

SEVERITY_RANK = {"error": 3, "warning": 2, "advice": 1}

# In a message, stands for the first of ``requires_llm`` that the project pass finds reaching a
# model (its last name): a rule that cannot know which candidate it is writes this instead.
REACHING = "{reaching}"

# In a message, stands for the text the model chose that a caller in another file hands to a
# finding's ``requires_tainted`` parameter, filled in by the project pass.
TAINTED = "{tainted}"

# Joins a function's qualified name and one of its parameters (``app.run.<param>.client``): what
# an untyped parameter resolves to, bound in the project pass to what callers pass in its place.
PARAMETER = ".<param>."
STOPS = "|stops"  # see Finding.unless_human


def through_parameter(qualname: str) -> bool:
    """Does ``qualname`` start from an untyped parameter (its callers in other files decide)?"""
    return PARAMETER in qualname


@dataclass(frozen=True)
class Edit:
    """Replace the text between two 1-based (line, column) positions."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass(frozen=True)
class Move:
    """A module-level constant a fix moves to the project's prompts module: ``name = value``
    there, imported where the edits of the fix use ``name``. The module (the nearest one the
    ``prompt-modules`` patterns name, or a new ``prompts.py`` beside the file) and the final
    name (``name`` unless the module binds it already) are settled when the fix is applied."""

    name: str
    value: str


@dataclass(frozen=True)
class Fix:
    applicability: Applicability
    message: str
    edits: tuple[Edit, ...] = ()
    moves: tuple[Move, ...] = ()


@dataclass
class Finding:
    code: str
    name: str
    factor: int | None
    severity: Severity
    confidence: Confidence
    path: str  # relative to the scanned root, '/'-separated
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fix: Fix | None = None
    snippet: str = ""  # normalised source text of the flagged node (fingerprints, reports)
    # The first source line of the flagged node, as written; a line over 400 characters is kept
    # as a window around the finding (reporters.escape.stored_offset finds where it starts).
    source_line: str = ""
    context: str = ""  # up to six lines of the flagged node, as written (audit reports)
    # The finding stands only if one of these names turns out, in the project pass, to be a model
    # call or a function that makes one (a wrapper defined in this file or another).
    requires_llm: tuple[str, ...] = ()
    # The finding stands only if none of these names turns out, in the project pass, to ask a
    # person at the console: a loop around ``review()`` that prompts is a REPL, not a runaway.
    # A name ending in ``STOPS`` is a call whose answer alone ends the loop: asking a person on
    # some path is enough.
    unless_human: tuple[str, ...] = ()
    # The finding stands only if one of these parameters (``app.run.run_code.<param>.code``)
    # turns out, in the project pass, to be handed text the model chose by a caller in another
    # file, directly or through other project functions.
    requires_tainted: tuple[str, ...] = ()
    # ``(callee, function)``: the finding stands only if the project pass finds ``callee`` leading
    # back to ``function`` through project calls (an agent loop written as recursion across
    # functions, threads included).
    requires_cycle: tuple[str, ...] = ()
    # The finding reads a project function's result as free text: it stands only if the project
    # pass does not find that every ``return`` of these functions hands back something else (a
    # bool, a number, a reply asked for with a schema: ``FunctionFacts.returns_kind``).
    requires_text: tuple[str, ...] = ()
    # ``callee|place|scrapes`` or ``callee|place|parses``: the finding stands only if the project
    # pass finds the function a call of ``callee`` runs scraping (or turning into data) the
    # parameter filled at ``place`` (a position or a keyword).
    requires_scrape: tuple[str, ...] = ()
    suppressed: str | None = None  # why, when a suppression comment silenced it
    fingerprint: str = ""
    # In a notebook: the cell (1-based, among all its cells) whose lines ``line`` and ``end_line``
    # count; None in a Python file. Set by the project pass, last (see FileResult.cells).
    cell: int | None = None


@dataclass(frozen=True)
class Diagnostic:
    """Something about the analysis itself: a file that could not be read or parsed."""

    code: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None


@dataclass
class FunctionFacts:
    """What the project pass needs to know about one function, without its syntax tree."""

    qualname: str
    line: int
    calls_llm: bool = False  # makes a model call resolved in this file
    asks_human: bool = False  # reads the console (``input()``, ``click.prompt``)
    callees: list[str] = field(default_factory=list)  # qualified names of calls it makes
    # The callees it calls on every path (outside any if, loop or handler): a function asks a
    # person only if one of these does, or it reads the console itself.
    always_calls: list[str] = field(default_factory=list)
    # Its parameters a caller fills by position (``self``/``cls`` left out), in order: what a
    # call elsewhere passes in the n-th place types the n-th of these.
    params: list[str] = field(default_factory=list)
    # What it returns when the type is unknown in its file: the call every ``return`` hands back
    # (``return conversation.chain(...)``, directly or through a local), as that file names it.
    # The project pass types its callers' results with that call's own return type.
    returns_call: str = ""
    # What every ``return`` hands back when it is not the model's free text: "value" (a bool, a
    # number or None: ``True if output == "yes" else False``) or "structured" (the reply of a
    # model call of this function that asked for a schema or tools); "" otherwise.
    returns_kind: str = ""
    # Its parameters it pulls pieces or structure out of (a regular expression, ``split``,
    # ``json.loads``): text a caller hands in there is scraped (metagpt's ``parse_code(text)``).
    scrapes: list[str] = field(default_factory=list)
    # Those of them it turns into data: parsed directly, or scraped in a function that parses
    # (gptme's ``_parse_ranges``: a regular expression, then ``json.loads`` of the match).
    parses: list[str] = field(default_factory=list)


@dataclass
class FileFacts:
    module: str
    relevant: bool = False  # imports an LLM or agent framework
    imports: list[str] = field(default_factory=list)  # modules it imports (resolved, absolute)
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    bindings: dict[str, str] = field(default_factory=dict)  # module-level name -> type QN
    aliases: dict[str, str] = field(default_factory=dict)  # module-level import -> what it names
    classes: dict[str, list[str]] = field(default_factory=dict)  # class QN -> base QNs
    llm_call_count: int = 0
    # What this file passes to project functions: (callee, "0"-based position or keyword, what the
    # argument is: an instance type ``X()``, a function, another function's parameter).
    arguments: list[tuple[str, str, str]] = field(default_factory=list)
    # Text the model chose handed to a project function of another file: (callee, place, what it
    # is, the wrappers the project pass must find reaching a model, comma-separated).
    tainted: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass
class Site:
    """A place a factor applies to: an agent, a model call, a prompt, a tool, a loop, ...

    ``kind`` is one of: agent, llm_call, prompt, tool, loop, handoff, retry, checkpointer, memory,
    approval, interrupt, entry_point, function. ``detail`` holds what the inventory shows about it
    (the model, the prompt's source, whether a loop is bounded). Lines are 1-based.
    """

    kind: str
    path: str
    line: int
    end_line: int
    label: str
    function: str = ""  # the enclosing function's qualified name, "" at module level
    detail: dict = field(default_factory=dict)
    requires_llm: tuple[str, ...] = ()  # settled in the project pass, as for findings
    unless_human: tuple[str, ...] = ()  # a loop's calls that may wait for a person (see Finding)
    requires_cycle: tuple[str, ...] = ()  # see Finding.requires_cycle


@dataclass
class FileResult:
    path: str
    disk_path: str = ""  # where it was read from (for --fix)
    # SHA-256 of the exact bytes analysed: a cache hit and a fix are trusted only for those bytes.
    digest: str = ""
    findings: list[Finding] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    facts: FileFacts | None = None
    lines: int = 0
    role: FileRole = "app"
    skipped: bool = False  # prefiltered: nothing in it can reach agent code
    suppressions: list = field(default_factory=list)  # engine.suppressions.Suppression
    sites: list[Site] = field(default_factory=list)
    # A notebook's code cells as the analysed script holds them: (the line of the cell's marker,
    # the cell's number). Findings are analysed in script lines and shown in cell lines.
    cells: tuple[tuple[int, int], ...] = ()
    # A test that would be read for its facts alone, which count only if the project pass needs
    # them (see api._analyse): the project names it imports. None: any other file.
    deferred: list[str] | None = None


@dataclass(frozen=True)
class FixedEntry:
    """A baseline entry that no finding matches any more: fixed (or its code deleted)."""

    code: str
    path: str
    line: int
    message: str


@dataclass
class BaselineResult:
    """What ``check --baseline FILE`` did: the findings it held back as known, and its entries
    that nothing matches any more."""

    file: str
    known: int
    fixed: list[FixedEntry] = field(default_factory=list)


@dataclass
class DiffScope:
    """What ``--diff-base REF`` kept: findings on lines changed since the merge base of REF."""

    revision: str
    commit: str
    outside: int  # findings left out: on lines the change did not touch


@dataclass
class Report:
    root: str
    files: list[FileResult]
    findings: list[Finding]
    diagnostics: list[Diagnostic]
    suppressed: list[Finding] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)  # those standing after the project pass
    baseline: BaselineResult | None = None
    diff_scope: DiffScope | None = None
    # What was scanned, as the command line named it, when ``root`` (what paths are relative to)
    # is the working directory above it: report headers name it.
    scanned: str = ""

    @property
    def title(self) -> str:
        return self.scanned or self.root

    @property
    def files_scanned(self) -> int:
        return len(self.files)

    @property
    def lines_scanned(self) -> int:
        return sum(f.lines for f in self.files)
