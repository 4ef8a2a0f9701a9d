"""Applying a run's fixes file by file, and a fix that spans files as one change.

Most fixes edit the file of their finding. A fix with moves (a prompt moved to the project's
prompts module) also writes the prompts module, and may create it; the files such fixes join
are a group, prepared together and written together: when one of them cannot be fixed (changed
since it was analysed, would not parse, cannot be written), none of the group is, and a file
already written is put back as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import libcst as cst

from factorlint.engine.read.module_names import module_name_for
from factorlint.engine.run.fixes import (
    STALE,
    FixOutcome,
    parses,
    prepare_fix,
    refused,
    write_atomically,
    write_outcome,
)
from factorlint.engine.run.moves import (
    MoveRefused,
    Placed,
    PromptHome,
    imports_module,
    names_used,
    place,
    prompt_home,
    with_constants,
    with_import,
)
from factorlint.model import Diagnostic, FileResult, Finding

DIAGNOSTIC = "TFA0004"


def apply_all(
    findings: list[Finding],
    files: list[FileResult],
    root: Path,
    prompt_modules: tuple[str, ...],
    *,
    write: bool,
) -> tuple[list[FixOutcome], list[Diagnostic]]:
    """Each file's outcome, in path order, and the diagnostics of the fixes not applied."""
    analysed = {f.path: f for f in files}
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    diagnostics: list[Diagnostic] = []
    homes: dict[str, PromptHome] = {}
    for path, found in list(by_path.items()):
        if not any(f.fix and f.fix.moves for f in found):
            continue
        home = _home(analysed.get(path), files, root, prompt_modules)
        if isinstance(home, str):
            diagnostics.append(Diagnostic(DIAGNOSTIC, path, f"Fix not applied: {home}"))
            by_path[path] = [f for f in found if not (f.fix and f.fix.moves)]
        else:
            homes[path] = home
    outcomes: list[FixOutcome] = []
    for group in _groups(by_path, homes):
        group_outcomes = _apply_group(group, by_path, homes, analysed, write)
        for outcome in group_outcomes:
            if outcome.error:
                diagnostics.append(Diagnostic(DIAGNOSTIC, outcome.path, f"Fix not applied: {outcome.error}"))
        outcomes.extend(group_outcomes)
    outcomes.sort(key=lambda o: o.path)
    return outcomes, diagnostics


def _home(caller: FileResult | None, files, root: Path, patterns) -> PromptHome | str:
    if caller is None or not caller.digest:
        return STALE
    if caller.path.endswith(".ipynb"):
        return "a notebook's prompt cannot be imported from a prompts module"
    try:
        return prompt_home(caller, files, root, patterns)
    except MoveRefused as exc:
        return str(exc)


def _groups(by_path: dict[str, list[Finding]], homes: dict[str, PromptHome]) -> list[list[str]]:
    """The paths joined by moves (a file and its prompts module), each group in path order."""
    parent = {path: path for path in by_path}
    for home in homes.values():
        parent.setdefault(home.relative, home.relative)

    def find(path: str) -> str:
        while parent[path] != path:
            parent[path] = parent[parent[path]]
            path = parent[path]
        return path

    for path, home in homes.items():
        parent[find(path)] = find(home.relative)
    members: dict[str, list[str]] = {}
    for path in parent:
        members.setdefault(find(path), []).append(path)
    return sorted(sorted(group) for group in members.values())


@dataclasses.dataclass
class _Home:
    """A prompts module of the group: its outcome (its own fixes first), the names it holds and
    the modules it imports, and the constants placed in it."""

    placed: Placed
    outcome: FixOutcome
    taken: set[str]
    tree: cst.Module | None  # None: a module the fix creates


def _apply_group(
    paths: list[str],
    by_path: dict[str, list[Finding]],
    homes: dict[str, PromptHome],
    analysed: dict[str, FileResult],
    write: bool,
) -> list[FixOutcome]:
    targets = {homes[p].relative: homes[p] for p in paths if p in homes}
    opened: dict[str, _Home] = {}
    for relative, home in targets.items():
        found = _open_home(home, by_path.get(relative, []))
        if isinstance(found, str):
            # The prompts module cannot be read as analysed: none of the group is written.
            return [FixOutcome(path, error=found) for path in paths if by_path.get(path)]
        opened[relative] = found
    callers: list[FixOutcome] = []
    for path in paths:
        if path not in targets and by_path.get(path):
            if path not in analysed or not analysed[path].digest:
                callers.append(FixOutcome(path, error=STALE))  # no record of the bytes: nothing to trust
                continue
            state = opened[homes[path].relative] if path in homes else None
            callers.append(_prepare_caller(path, by_path[path], state, analysed[path]))
    # The prompts modules are written first: a constant nobody imports yet breaks nothing.
    outcomes = [_close_home(state) for state in opened.values()] + callers
    moved = any(state.placed.statements for state in opened.values())
    if moved and any(o.error for o in outcomes):
        # A file of the group cannot be fixed: a moved constant and its import go together.
        for outcome in outcomes:
            if not outcome.error:
                refused(outcome, "another file of the same fix cannot be fixed; left unchanged")
        return outcomes
    if write:
        _write_all(outcomes)
    return outcomes


def _open_home(home: PromptHome, own: list[Finding]) -> _Home | str:
    if not home.exists:
        outcome = FixOutcome(home.relative, disk_path=home.disk_path, created=True)
        return _Home(Placed(home), outcome, set(), None)
    outcome = prepare_fix(home.disk_path, home.relative, own, analysed_digest=home.digest)
    if outcome.error:
        return outcome.error
    tree = _parsed(outcome.original)
    if tree is None:
        return "the prompts module does not parse"
    return _Home(Placed(home), outcome, names_used(tree), tree)


def _prepare_caller(path: str, findings: list[Finding], home: _Home | None, result: FileResult) -> FixOutcome:
    """The file's fixes, the moved literals named as their constants will be, and the import of
    the constants placed."""
    disk = Path(result.disk_path or path)
    if home is None or not any(f.fix and f.fix.moves for f in findings):
        return prepare_fix(disk, path, findings, analysed_digest=result.digest)
    caller_module = module_name_for(disk.absolute())[0]
    if home.tree is not None and imports_module(home.tree, module_name_for(home.placed.home.disk_path)[1], caller_module):
        # The prompts module imports this file: the import the fix adds would close a cycle.
        findings = [f for f in findings if not (f.fix and f.fix.moves)]
        return prepare_fix(disk, path, findings, analysed_digest=result.digest)
    renamed: dict[int, tuple[Finding, list[tuple[str, str]]]] = {}

    def named(original: str) -> list[Finding] | None:
        """The findings to apply, each moved literal under a name free in both files."""
        tree = _parsed(original)
        if tree is None:
            return None
        own = names_used(tree)
        plan: list[Finding] = []
        for finding in findings:
            if not (finding.fix and finding.fix.moves):
                plan.append(finding)
                continue
            names = []
            edits = finding.fix.edits
            for move in finding.fix.moves:
                final = _free(move.name, home.taken, own)
                names.append((final, move.value))
                edits = tuple(dataclasses.replace(e, content=final) if e.content == move.name else e for e in edits)
            copy = dataclasses.replace(finding, fix=dataclasses.replace(finding.fix, edits=edits))
            renamed[id(copy)] = (finding, names)
            plan.append(copy)
        return plan

    outcome = prepare_fix(disk, path, findings, analysed_digest=result.digest,
                          arrange=named, finish=_importing(home, renamed))
    outcome.applied = [renamed[id(f)][0] if id(f) in renamed else f for f in outcome.applied]
    outcome.skipped = [renamed[id(f)][0] if id(f) in renamed else f for f in outcome.skipped]
    return outcome


def _free(name: str, taken: set[str], own: set[str]) -> str:
    """``name``, or ``name_2``... when the prompts module (``taken``, which keeps it) or the
    file (``own``) holds it already."""
    final, number = name, 2
    while final in taken or final in own:
        final, number = f"{name}_{number}", number + 1
    taken.add(final)
    return final


def _importing(home: _Home, renamed: dict) -> Callable[[str, list[Finding]], str]:
    """The step after the edits: the constants of the moves applied are placed in the prompts
    module and imported by the file."""

    def finish(script: str, applied: list[Finding]) -> str:
        names = []
        for finding in applied:
            if id(finding) in renamed:
                for name, value in renamed[id(finding)][1]:
                    place(home.placed, name, value)
                    names.append(name)
        return with_import(script, home.placed.home.module, names) if names else script

    return finish


def _close_home(state: _Home) -> FixOutcome:
    """The prompts module's outcome: its own fixes and the constants placed in it."""
    outcome = state.outcome
    statements = state.placed.statements
    if not statements:
        return outcome
    outcome.fixed = with_constants(outcome.fixed, statements, state.placed.home.exists)
    if not parses(outcome.fixed):
        return refused(outcome, "the prompts module would not parse; left unchanged")
    return outcome


def _write_all(outcomes: list[FixOutcome]) -> None:
    """Write every changed file, in order; after a failure, put the files written before it
    back as they were and record the failure on all."""
    written: list[FixOutcome] = []
    for outcome in outcomes:
        if outcome.error or outcome.fixed == outcome.original:
            continue
        write_outcome(outcome)
        if outcome.error:
            for done in written:
                _restore(done)
                refused(done, f"{outcome.path} could not be written; put back as it was")
            return
        written.append(outcome)


def _restore(outcome: FixOutcome) -> None:
    assert outcome.disk_path is not None
    if outcome.created:
        with contextlib.suppress(OSError):
            outcome.disk_path.unlink()
        return
    try:
        now = outcome.disk_path.read_bytes()
    except OSError:
        return
    if hashlib.sha256(now).hexdigest() != hashlib.sha256(outcome.fixed.encode("utf-8")).hexdigest():
        return  # changed since: not ours to put back
    write_atomically(outcome.disk_path, outcome.original, now)


def _parsed(text: str) -> cst.Module | None:
    try:
        return cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return None
