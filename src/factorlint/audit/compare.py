"""``audit --diff-base REF``: each factor's status and score before the change and after it.

Before is the audit of the tree at the merge base of REF and HEAD (read from git, see
:func:`factorlint.git_diff.extract_tree`), with the same settings; after is the audit of the
scanned folder. A factor is worse when its status drops (pass to warn to fail) or its score falls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from factorlint.audit.model import Scorecard

# How good a status is, for telling better from worse; "n/a" and "no evidence" say nothing.
_RANK = {"fail": 0, "warn": 1, "pass": 2}


@dataclass(frozen=True)
class FactorChange:
    key: str  # F01..F13, SEC, or "overall"
    title: str
    before_status: str
    before_score: float | None
    after_status: str
    after_score: float | None

    @property
    def changed(self) -> bool:
        return (self.before_status, self.before_score) != (self.after_status, self.after_score)

    @property
    def worse(self) -> bool:
        before, after = _RANK.get(self.before_status), _RANK.get(self.after_status)
        if before is not None and after is not None and after != before:
            return after < before
        if self.before_score is not None and self.after_score is not None:
            return self.after_score < self.before_score
        return False

    @property
    def better(self) -> bool:
        return self.changed and not self.worse and (
            _RANK.get(self.after_status, -1) > _RANK.get(self.before_status, -1)
            or (self.before_score or 0) < (self.after_score or 0)
        )


@dataclass
class AuditChange:
    revision: str  # as given to --diff-base
    commit: str  # the merge base the "before" audit read
    factors: list[FactorChange] = field(default_factory=list)  # every factor, then SEC, then overall

    @property
    def worse(self) -> list[FactorChange]:
        return [f for f in self.factors if f.worse]

    @property
    def headline(self) -> str:
        """One line: which factors this change makes worse (or better), since REF."""
        worse = [f for f in self.factors if f.worse and f.key != "overall"]
        better = [f for f in self.factors if f.better and f.key != "overall"]
        if worse:
            return f"Since {self.revision}: " + "; ".join(_describe(f, "worse") for f in worse)
        if better:
            return f"Since {self.revision}: " + "; ".join(_describe(f, "better") for f in better)
        return f"Since {self.revision}: no factor changed"


def _describe(change: FactorChange, word: str) -> str:
    return (f"{change.key} {word} ({change.before_status} {_number(change.before_score)} -> "
            f"{change.after_status} {_number(change.after_score)})").replace("  ", " ").replace(" )", ")")


def _number(score: float | None) -> str:
    return "" if score is None else f"{score:.1f}"


def compare(before: Scorecard, after: Scorecard, revision: str, commit: str) -> AuditChange:
    change = AuditChange(revision, commit)
    for old, new in zip([*before.factors, before.security], [*after.factors, after.security], strict=True):
        change.factors.append(FactorChange(new.key, new.title, old.status, old.score, new.status, new.score))
    change.factors.append(FactorChange(
        "overall", "overall", before.overall.status, before.overall.score, after.overall.status, after.overall.score,
    ))
    return change


def audit_change(report, settings, after, revision: str, jobs: int | None) -> AuditChange:
    """Each factor before the change (the tree at the merge base of ``revision`` and HEAD, read
    from git into a temporary folder and audited with the same settings) and after it."""
    import dataclasses
    import tempfile
    from pathlib import Path

    from factorlint.api import lint_paths
    from factorlint.audit.build import build_audit
    from factorlint.git_diff import extract_tree, scanned_changes

    changes, prefix = scanned_changes(report, revision)
    with tempfile.TemporaryDirectory(prefix="factorlint-base-") as folder:
        extract_tree(changes.repository, changes.base, Path(folder))
        root = Path(folder) / prefix if prefix else Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        base_settings = dataclasses.replace(settings, root=root.resolve())
        before = lint_paths([root], base_settings, cache_dir=None, jobs=jobs)
        before_audit = build_audit(before, base_settings)
    return compare(before_audit.scorecard, after.scorecard, revision, changes.base)
