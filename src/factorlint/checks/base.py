"""What every rule is: metadata, documentation, examples and a visitor over one file.

A rule module holds one :class:`Rule` subclass. Its docstring follows ruff's template (What it
does / Why is this bad? / Example / Use instead / Fix safety / Options / References). Its
``invalid`` examples mark each line that must be reported with ``# expect: CODE``; its ``valid``
and ``near_miss`` examples must stay silent. One parametrised test runs them all. An example is a
source string, or a dict of file name to source for a multi-file project.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import libcst as cst

from factorlint.model import Confidence, Severity

Example = str | dict[str, str]


@dataclass(frozen=True)
class RuleMeta:
    code: str
    name: str
    factor: int | None  # 1-13; None for security (TFS) and analysis (TFA00) rules
    severity: Severity
    confidence: Confidence
    summary: str  # one line: what the finding means
    fix_advice: str  # one or two sentences: the concrete change
    fix: Literal["none", "sometimes", "always"] = "none"
    # A security rule whose findings also break a factor (eval of model output: factor 4); the
    # scorecard counts them there as well as in the security score.
    also_factor: int | None = None
    status: Literal["stable", "preview"] = "stable"
    since: str = "0.1.0"

    @property
    def default_enabled(self) -> bool:
        return self.confidence != "low" and self.status == "stable"

    @property
    def group(self) -> str:
        """The selector prefix of the rule's family: TFA02, TFS, TFA00."""
        if self.code.startswith("TFS"):
            return "TFS"
        return self.code[:5]


@dataclass(frozen=True)
class RawEdit:
    """One change of a fix, before positions are resolved: ``node``'s text (through ``until``'s
    end when given) replaced by ``content``, or (``after``) ``content`` inserted right after the
    node. With ``indented``, every line of ``content`` after its first starts with the
    indentation of the node's first line (a clause added to a nested statement)."""

    node: cst.CSTNode
    content: str
    after: bool = False
    until: cst.CSTNode | None = None
    indented: bool = False


@dataclass(frozen=True)
class CodeFix:
    """A fix a rule offers: its edits, the imports they need (``(module, name)``: ``from module
    import name``, or ``import module`` when the name is "", added to the module's imports unless
    the name is already bound there), and
    whether it may change behaviour (``unsafe``: applied only with ``--unsafe-fixes``)."""

    edits: tuple[RawEdit, ...]
    imports: tuple[tuple[str, str], ...] = ()
    unsafe: bool = False
    # Module-level statements the edits need (a constant a literal moved into), placed after
    # the module's imports.
    preamble: tuple[str, ...] = ()
    # Constants moved to the project's prompts module, ``(name, value)``: a fix in two files,
    # settled and written together when it is applied (see engine/run/moves.py).
    moves: tuple[tuple[str, str], ...] = ()


@dataclass
class RawFinding:
    """A finding before positions are resolved (positions cost a pass; only files with findings pay)."""

    meta: RuleMeta
    node: cst.CSTNode
    message: str
    requires_llm: tuple[str, ...] = ()
    severity: Severity | None = None
    fix_message: str | None = None
    unless_human: tuple[str, ...] = ()  # see Finding.unless_human
    requires_tainted: tuple[str, ...] = ()  # see Finding.requires_tainted
    requires_cycle: tuple[str, ...] = ()  # see Finding.requires_cycle
    requires_text: tuple[str, ...] = ()  # see Finding.requires_text
    requires_scrape: tuple[str, ...] = ()  # see Finding.requires_scrape
    fix: CodeFix | None = None


class Rule:
    meta: ClassVar[RuleMeta]
    # Optional analyses the engine builds only when an enabled rule declares it reads them
    # (``"prompt_taint"``: the taint analysis also follows text into prompts).
    needs: ClassVar[frozenset[str]] = frozenset()
    invalid: ClassVar[list[Example]] = []
    valid: ClassVar[list[Example]] = []
    near_miss: ClassVar[list[Example]] = []
    # The fix's specification: (source before, source after ``check --fix --unsafe-fixes``[,
    # settings]); a "before" may be several files, of which ``agent.py`` is the one fixed, and a
    # third item sets what the fix reads from the configuration (``{"approval_function": ...}``).
    # The rule tests apply the fix to each "before" and compare; the "after" must parse, hold no
    # finding of the rule, and stay the same under another --fix.
    fixes: ClassVar[list[tuple]] = []

    def __init__(self, ctx, sink: Callable[[RawFinding], None]) -> None:
        self.ctx = ctx
        self._sink = sink

    @property
    def settings(self):
        return self.ctx.settings

    def report(
        self,
        node: cst.CSTNode,
        message: str | None = None,
        *,
        requires_llm: tuple[str, ...] = (),
        severity: Severity | None = None,
        fix_message: str | None = None,
        unless_human: tuple[str, ...] = (),
        requires_tainted: tuple[str, ...] = (),
        requires_cycle: tuple[str, ...] = (),
        requires_text: tuple[str, ...] = (),
        requires_scrape: tuple[str, ...] = (),
        fix: CodeFix | None = None,
    ) -> None:
        self._sink(
            RawFinding(
                self.meta, node, message or self.meta.summary, requires_llm, severity, fix_message,
                unless_human, requires_tainted, requires_cycle, requires_text, requires_scrape, fix,
            )
        )

    @classmethod
    def may_report(cls, text: str, tree: ast.Module | None, knowledge) -> bool:
        """Could the rule report anything in this module? A rule that runs on test and example
        code (``file_roles.ON_TEST_CODE``) answers from the text and CPython's tree (``None``
        when CPython does not parse it), so that test code it cannot report in is not parsed by
        LibCST; the answer must hold for everything the rule reports. By default: it could."""
        return True

    @classmethod
    def documentation(cls) -> str:
        """The rule's docstring, with where its calibration is written down."""
        import inspect

        text = inspect.cleandoc(cls.__doc__ or "")
        if cls.meta.factor is not None:
            section = f"factor {cls.meta.factor}"
        elif cls.meta.code.startswith("TFS"):
            section = "security"
        else:
            return text
        return (f"{text}\n\n## What counts as a violation\n"
                f"This rule is calibrated to docs/violations.md ({section}): what a reviewer flags there, "
                "and what they leave alone.")
