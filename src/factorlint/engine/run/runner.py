"""``lint_file``: one file's bytes in, its findings, diagnostics and facts out.

A pure function of (path, bytes, settings): the CLI, the tests and any future pool, cache or
editor server call it the same way. Cross-file questions (is this imported helper a wrapper around
a model call?) are left open in ``Finding.requires_llm`` and settled by :mod:`project`.
"""

from __future__ import annotations

import ast
import hashlib
import re
import traceback
from pathlib import PurePosixPath

import libcst as cst

from factorlint.checks.base import RawFinding
from factorlint.checks.registry import all_rules
from factorlint.engine.parse.parse import parse_module
from factorlint.engine.parse.positions import StatementOwners, node_ranges, statement_lines
from factorlint.engine.parse.screen import refusal
from factorlint.engine.project.facts import FactsCollector
from factorlint.engine.read.file_roles import ON_TEST_CODE, enabled_for, file_role, judged_as_agent_code
from factorlint.engine.read.notebook import NotebookError, cell_line, cell_markers, is_notebook, read_notebook
from factorlint.engine.read.prefilter import builds_with_framework, could_matter, imports_project, project_names
from factorlint.engine.read.source import UNREADABLE as PARSE_ERROR
from factorlint.engine.read.source import decode_source
from factorlint.engine.read.suppressions import find_suppressions
from factorlint.engine.recognise.inventory import InventoryCollector
from factorlint.engine.run.call_recorder import CallRecorder, Guards
from factorlint.engine.run.fix_imports import bound_names, import_anchor
from factorlint.engine.run.visitor import BatchedVisitor
from factorlint.engine.semantic.context import FileContext
from factorlint.knowledge import Knowledge, default_knowledge
from factorlint.model import Diagnostic, Edit, FileResult, Finding, Fix, Move, Site

INTERNAL_ERROR = "TFA0003"
OVER_BUDGET = "TFA0005"  # the analysis ran past max-file-seconds or max-file-memory
_SNIPPET_LIMIT = 400


def lint_file(
    path: str,
    data: bytes,
    settings,
    *,
    module_name: str,
    package: str,
    knowledge: Knowledge | None = None,
    defer_facts: bool = False,
) -> FileResult:
    """A test that would be read for its facts alone names the project names it imports in its
    result (``FileResult.deferred``); with ``defer_facts`` it is not read yet, and the run reads
    it only if the project pass needs what it may show (see :func:`factorlint.api._analyse`)."""
    # The file's own configuration: the closest configuration file above it (Settings.for_path).
    settings = settings.for_path(path) if hasattr(settings, "for_path") else settings
    # Library mode: a framework's own source sees the tables without itself (Knowledge.without).
    knowledge = (knowledge or default_knowledge()).without(settings.internal_frameworks)
    result = FileResult(path=path, role=file_role(path), digest=hashlib.sha256(data).hexdigest())
    decoded = decode_source(data)
    if decoded.text is None:
        result.diagnostics.append(Diagnostic(PARSE_ERROR, path, f"File could not be decoded: {decoded.error}"))
        return result
    text = decoded.text
    if is_notebook(path):
        try:
            notebook = read_notebook(text)
        except NotebookError as exc:
            result.diagnostics.append(Diagnostic(PARSE_ERROR, path, f"File could not be read: {exc}"))
            return result
        text, result.cells = notebook.script, cell_markers(notebook)
        found = _lint_text(result, text, path, data, settings, module_name, package, knowledge, defer_facts)
        found.diagnostics = [_in_cell(d, found.cells) for d in found.diagnostics]
        return found
    return _lint_text(result, text, path, data, settings, module_name, package, knowledge, defer_facts)


def _in_cell(diagnostic: Diagnostic, cells: tuple[tuple[int, int], ...]) -> Diagnostic:
    """A notebook's diagnostic at a line of its script, told by cell and line."""
    if diagnostic.line is None:
        return diagnostic
    cell, line = cell_line(cells, diagnostic.line)
    # The parser's own "at LINE:COL" counts the script's lines too.
    message = re.sub(r"\bat (\d+):(\d+)", lambda m: f"at {cell_line(cells, int(m.group(1)))[1]}:{m.group(2)}",
                     diagnostic.message)
    return Diagnostic(diagnostic.code, diagnostic.path, f"cell {cell}: {message}", line, diagnostic.column)


def _lint_text(result: FileResult, text: str, path: str, data: bytes, settings, module_name: str, package: str,
               knowledge, defer_facts: bool = False) -> FileResult:
    """The analysis of one module's text, into ``result``."""
    result.lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    too_deep, tree = nesting_problem(text)
    parses = tree is not None
    if too_deep is not None:
        result.diagnostics.append(Diagnostic(PARSE_ERROR, path, f"File could not be parsed: {too_deep}"))
        return result
    codes = enabled_for(path, settings)
    # Test and example code outside check-test-code is listed for what it builds: with a framework,
    # or, in an example, with the project's own functions (a test of those exercises the agents
    # listed where they are written). What a test hands the project's functions is a fact.
    judged = judged_as_agent_code(path, settings)
    of_project = not judged and imports_project(text, settings)
    listed = judged or builds_with_framework(text, tree, knowledge) or (result.role == "example" and of_project)
    if tree is not None and not listed:
        reported = _rules_may_report(text, tree, knowledge, codes)
        if not reported and of_project:
            # Read for its facts alone, which count only where the project needs them (see
            # api._analyse): the project names it imports say whether it does.
            result.deferred = project_names(tree, package, settings)
            if defer_facts:
                result.skipped = True
                result.suppressions = find_suppressions(text)
                return result
        elif not reported:
            result.skipped = True  # parses, and nothing in it can reach agent code: no LibCST pass
            result.suppressions = find_suppressions(text)
            return result
    elif parses and listed and not could_matter(text, knowledge, settings):
        result.skipped = True
        result.suppressions = find_suppressions(text)
        return result
    # Only text LibCST's native parser can take without crashing or stalling reaches it.
    refused = refusal(text, tree)
    if refused is not None:
        result.diagnostics.append(
            Diagnostic(PARSE_ERROR, path, f"File could not be parsed: {refused.reason}", refused.line, 1)
        )
        return result
    try:
        module = parse_module(text)
    except cst.ParserSyntaxError as exc:
        result.diagnostics.append(
            Diagnostic(PARSE_ERROR, path, f"File could not be parsed: {exc.message}", exc.raw_line, exc.raw_column + 1)
        )
        return result
    except RecursionError:
        result.diagnostics.append(Diagnostic(PARSE_ERROR, path, "File could not be parsed: nesting too deep"))
        return result

    raw: list[RawFinding] = []
    ctx = None
    try:
        ctx = FileContext(path, module, text, module_name, package, knowledge, settings)
        enabled = [rule for rule in all_rules() if rule.meta.code in codes]
        ctx.needs = frozenset().union(*(rule.needs for rule in enabled))
        rules = [rule(ctx, raw.append) for rule in enabled]
        facts = FactsCollector(ctx)
        inventory = InventoryCollector(ctx)
        engine = [Guards(ctx), CallRecorder(ctx), facts, inventory] if listed else [facts]

        def on_error(visitor, exc: BaseException) -> None:
            name = getattr(getattr(visitor, "meta", None), "code", type(visitor).__name__)
            where = traceback.extract_tb(exc.__traceback__)[-1]
            result.diagnostics.append(
                Diagnostic(
                    INTERNAL_ERROR,
                    path,
                    f"Internal error in rule {name}: {type(exc).__name__}: {exc} "
                    f"({PurePosixPath(where.filename).name}:{where.lineno}); the other rules ran",
                )
            )

        owners = StatementOwners()
        # The read-only walk: ``module.visit`` would rebuild every node, which costs more than
        # all the rules together.
        BatchedVisitor(ctx, [*engine, *rules], on_error, owners).run(module)
        result.facts = facts.result()
    except RecursionError:
        result.diagnostics.append(
            Diagnostic(PARSE_ERROR, path, "File could not be analysed: nesting too deep")
        )
        return result
    finally:
        if ctx is not None:
            ctx.release()  # positions and findings need the tree and the nodes, not the context
    if raw or inventory.sites:
        # Sites need lines only: whole statements (a function, an agent class) get them from
        # CPython's tree; the rest, and every finding, get LibCST's exact ranges.
        site_lines = statement_lines(tree, module, [item.node for item in inventory.sites], owners)
        anchor = import_anchor(module) if any(item.fix and (item.fix.imports or item.fix.preamble) for item in raw) else None
        targets = [item.node for item in raw] + [
            item.node for item in inventory.sites if id(item.node) not in site_lines
        ] + [
            node for item in raw if item.fix for edit in item.fix.edits for node in (edit.node, edit.until) if node
        ] + ([anchor] if anchor else [])
        positions = node_ranges(module, text, tree, targets, owners)
        result.findings = _findings(module, positions, raw, path, text.splitlines(), anchor)
        result.sites = _sites(positions, site_lines, inventory.sites, path)
    result.suppressions = find_suppressions(text)
    return result


def _rules_may_report(text: str, tree: ast.Module | None, knowledge, codes: set[str]) -> bool:
    """Whether a rule that runs on test and example code may report in this module (its screen)."""
    return any(
        rule.may_report(text, tree, knowledge) for rule in all_rules()
        if rule.meta.code in codes and rule.meta.code in ON_TEST_CODE
    )


def unanalysed(path: str, kind: str, detail: str, settings) -> FileResult:
    """The result of a file whose analysis gave no result (see :mod:`engine.pool`): ``kind``
    ``"time"`` or ``"memory"`` is over its budget, anything else (``"crash"``, ``"error"``) is
    factorlint's failure, reported as an internal error. The run goes on with the other files.
    The result records no digest, so the cache never keeps it: the next run tries again."""
    result = FileResult(path=path, role=file_role(path))
    code, message = OVER_BUDGET, "Analysis budget exceeded: over "
    if kind == "time":
        message += f"{settings.max_file_seconds:g} s (max-file-seconds)"
    elif kind == "memory":
        message += f"{settings.max_file_memory:,} MiB (max-file-memory)"
    else:
        code, message = INTERNAL_ERROR, f"Internal error: {detail}"
    result.diagnostics.append(Diagnostic(code, path, message + "; the file was not analysed"))
    return result


_TOO_DEEP_MARKERS = ("too many nested", "too many levels of indentation", "too many statically nested")


def nesting_problem(text: str) -> tuple[str | None, ast.Module | None]:
    """Why ``text`` is too deeply nested to parse safely (or None), and CPython's tree of it (or
    None when CPython does not parse it). The tree also places statements for
    :mod:`engine.positions`.

    LibCST's native parser can overflow the C stack on pathological nesting (thousands of nested
    brackets, a 100,000-term expression) and take the process down, which no ``except`` can
    catch. CPython's own parser guards its stack and answers with an exception, so it screens the
    text first. Other syntax errors are left to LibCST, which also reads syntax newer than the
    running interpreter. What CPython accepts but LibCST nests deeper (an 8,000-term ``and``
    chain is one flat node here) is screened by :func:`engine.parse.screen.refusal`, for the files that
    go on to LibCST.
    """
    try:
        tree = _cpython_tree(text)
    except RecursionError:
        return "nesting too deep to analyse safely", None
    except MemoryError:
        # CPython's parser also reports very deep nesting as MemoryError. In a worker that ran
        # out of its memory budget the file may be fine: parse again without the budget.
        from factorlint.engine.run.pool import budget_lifted

        with budget_lifted() as lifted:
            if lifted and not _beyond_cpython(text):
                raise MemoryError("over the memory budget") from None
        return "nesting too deep to analyse safely", None
    except SyntaxError as exc:
        message = str(exc.msg if hasattr(exc, "msg") else exc)
        if any(marker in message for marker in _TOO_DEEP_MARKERS):
            return message, None
        return None, None
    except ValueError:
        return None, None
    return None, tree


def _cpython_tree(text: str) -> ast.Module:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings about the scanned code are not ours
        return ast.parse(text)


def _beyond_cpython(text: str) -> bool:
    """Whether CPython's parser gives up on ``text`` for its nesting (again, every time)."""
    try:
        _cpython_tree(text)
    except (RecursionError, MemoryError):
        return True
    except (SyntaxError, ValueError):
        return False
    return False


def _sites(positions, site_lines: dict, raw: list, path: str) -> list[Site]:
    sites = []
    for item in raw:
        lines = site_lines.get(id(item.node))
        if lines is None:
            where = positions.get(item.node)
            if where is None:
                continue
            lines = (where.start.line, where.end.line)
        sites.append(Site(item.kind, path, lines[0], lines[1], item.label, item.function, item.detail, item.requires,
                          item.unless_human, item.requires_cycle))
    return sites


def _findings(
    module: cst.Module, positions, raw: list[RawFinding], path: str, lines: list[str], anchor=None
) -> list[Finding]:
    """The findings of one file, each with the source text reporters show, bounded here: the
    snippet (normalised node text, hashed into the fingerprint) at 400 characters; the source
    line, when longer than 400 characters, clipped around the flagged column so the column
    still maps into it (``escape.stored_source_line``); the context at six lines, its first
    clipped the same way and the others at 400 characters. A one-line file of 90 KB with a
    finding every hundred characters thus keeps a few hundred bytes a finding, not the line.
    """
    # Reporters undo the clipping (escape.stored_offset): one module holds both halves.
    from factorlint.reporters.escape import STORED_LIMIT, clip, stored_source_line

    findings = []
    seen: set[tuple] = set()
    # The names the module imports, read once for every fix that adds an import.
    bound = frozenset(bound_names(module)) if any(item.fix and item.fix.imports for item in raw) else frozenset()
    for item in raw:
        where = positions.get(item.node)
        if where is None:
            continue
        key = (item.meta.code, where.start.line, where.start.column, item.message)
        if key in seen:
            continue
        seen.add(key)
        snippet = " ".join(module.code_for_node(item.node).split())[:_SNIPPET_LIMIT]
        first = stored_source_line(lines[where.start.line - 1], where.start.column + 1) if where.start.line <= len(lines) else ""
        rest = lines[where.start.line : min(where.end.line, where.start.line + 5)]
        meta = item.meta
        findings.append(
            Finding(
                code=meta.code,
                name=meta.name,
                factor=meta.factor,
                severity=item.severity or meta.severity,
                confidence=meta.confidence,
                path=path,
                line=where.start.line,
                column=where.start.column + 1,
                end_line=where.end.line,
                end_column=where.end.column + 1,
                message=item.message,
                fix=_fix(item, meta, positions, anchor, lines, bound),
                snippet=snippet,
                source_line=first,
                context="\n".join([first, *(clip(line, STORED_LIMIT) for line in rest)]),
                requires_llm=item.requires_llm,
                unless_human=item.unless_human,
                requires_tainted=item.requires_tainted,
                requires_cycle=item.requires_cycle,
                requires_text=item.requires_text,
                requires_scrape=item.requires_scrape,
            )
        )
    return findings


def _fix(item: RawFinding, meta, positions, anchor, lines: list[str], bound: frozenset[str]) -> Fix:
    """The finding's fix: the rule's edits at their positions (and the imports they need), or
    the advice alone when the rule offers no edit or an edit has no position."""
    message = item.fix_message or meta.fix_advice
    code_fix = item.fix
    if code_fix is None:
        return Fix("display-only", message)
    edits = []
    for edit in code_fix.edits:
        where = positions.get(edit.node)
        last = positions.get(edit.until) if edit.until is not None else where
        if where is None or last is None:
            return Fix("display-only", message)
        start, end = (where.end, where.end) if edit.after else (where.start, last.end)
        content = edit.content
        if edit.indented and where.start.line <= len(lines):
            first = lines[where.start.line - 1]
            indent = first[: len(first) - len(first.lstrip(" \t"))]
            content = content.replace("\n", "\n" + indent)
        edits.append(Edit(start.line, start.column + 1, end.line, end.column + 1, content))
    for source, name in code_fix.imports:
        if (name or source) in bound:
            continue
        statement = f"from {source} import {name}" if name else f"import {source}"
        edits.append(_import_edit(statement, anchor, positions))
    for statement in code_fix.preamble:
        edits.append(_import_edit(statement, anchor, positions))
    moves = tuple(Move(name, value) for name, value in code_fix.moves)
    return Fix("unsafe" if code_fix.unsafe or moves else "safe", message, tuple(edits), moves)


def _import_edit(statement: str, anchor, positions) -> Edit:
    """``statement`` (one or more lines) after the module's last top-level import, or at its
    top (after a docstring) when it has none."""
    where = positions.get(anchor) if anchor is not None else None
    if where is None:
        return Edit(1, 1, 1, 1, statement + "\n")
    line = where.end.line + 1
    return Edit(line, 1, line, 1, statement + "\n")
