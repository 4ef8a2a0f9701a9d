"""The result cache's file format: FileResults as plain JSON data and back, validated on the way in.

A cache file is read from disk, and whatever is on disk is untrusted input: it may be truncated,
corrupt, forged, or not even ours. So the format is data only (JSON; never pickle, whose loading
runs code) and :func:`decode_result` rebuilds every object explicitly, checking each field's type
and range as it goes: strings are ``str`` of bounded length, integers are ``int`` (never ``bool``)
within bounds, literal fields hold one of their allowed values, lists are lists of bounded length,
``Site.detail`` is JSON of bounded depth and size. Anything else raises :class:`CacheFormatError`,
the one exception this module lets out, and the caller drops the entry or the file.

A cache file is ASCII text, one record per line::

    {"tool":"factorlint","format":2,"root":"/abs/project","key":"<settings key>"}
    <check>TAB["relative/path.py",<size>,"<sha256 of the file>","module.name"]TAB<result>
    ...

``<result>`` is the FileResult as JSON arrays, each dataclass an array of its fields in
declaration order (:data:`LAYOUT`; a test checks it against the model), which keeps a file with
40,000 sites small and quick to load. ``disk_path`` is not stored: it is where this run found the
file, set again on every hit. ``<check>`` is the SHA-256 of everything after the first tab, so a
damaged line is dropped before any of it is parsed, a truncated file loses only its last line, and
a result is parsed (one line at a time, bounded by :data:`MAX_LINE_BYTES`) only when it is used.
The check catches corruption, not forgery: someone who can write the cache folder can compute it
too, which is why the cache module reads only a folder that the current user owns and no one else
can write, and never one inside a scanned tree.

This module imports only the standard library and the model (no LibCST): a warm run uses it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import sys
from typing import Any, NoReturn, get_args

from factorlint.engine.read.suppressions import Suppression
from factorlint.model import (
    Applicability,
    Confidence,
    Diagnostic,
    Edit,
    FileFacts,
    FileResult,
    Finding,
    Fix,
    FunctionFacts,
    Move,
    Severity,
    Site,
)

# The version of this layout. It is part of the settings key as well, so a new layout never even
# opens an old file; a file that claims another version is dropped.
FORMAT = 13

# Bounds. A legitimate result stays far inside them; a value outside one makes the entry invalid
# (and a result of ours that would not fit is simply not cached: see ``encode_result``).
MAX_POSITION = 2**31 - 1  # lines, columns, counts
MAX_FILE_SIZE = 2**53  # bytes of a source file
MAX_NAME = 4096  # paths, module and qualified names, labels
MAX_TEXT = 1 << 23  # messages, snippets, fix contents (characters)
MAX_ITEMS = 1 << 20  # elements of any one list or mapping
MAX_LINE_BYTES = 32 << 20  # one entry's line: parsed alone, so this bounds its memory too
MAX_HEADER_BYTES = 64 << 10
MAX_DETAIL_DEPTH = 8  # nesting of lists and mappings inside Site.detail
MAX_DETAIL_NODES = 10_000  # values in one Site.detail, all levels together
MAX_DETAIL_INT = 2**63 - 1

SEVERITIES = frozenset(get_args(Severity))
CONFIDENCES = frozenset(get_args(Confidence))
APPLICABILITIES = frozenset(get_args(Applicability))
RETURN_KINDS = frozenset({"", "value", "structured"})  # FunctionFacts.returns_kind
ROLES = frozenset(("app", "test", "example"))  # FileResult.role; a test keeps it in step

_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_FINGERPRINT = re.compile(r"(?:[0-9a-f]{16})?\Z")
_CODE = re.compile(r"[A-Z]{2,8}[0-9]{1,8}\Z")  # TFA0802, TFA0001
_SELECTOR = re.compile(r"[A-Z]{2,8}[0-9]{0,8}\Z")  # a suppression's TFA08, TFS, TFA0802
_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")  # Site.kind: agent, llm_call, entry_point, ...

# Field order of each stored dataclass (FileResult without ``disk_path``).
LAYOUT: dict[type, tuple[str, ...]] = {
    Edit: ("line", "column", "end_line", "end_column", "content"),
    Fix: ("applicability", "message", "edits", "moves"),
    Move: ("name", "value"),
    Finding: (
        "code", "name", "factor", "severity", "confidence", "path", "line", "column", "end_line",
        "end_column", "message", "fix", "snippet", "source_line", "context", "requires_llm",
        "unless_human", "requires_tainted", "requires_cycle", "requires_text", "requires_scrape", "suppressed",
        "fingerprint", "cell",
    ),
    Diagnostic: ("code", "path", "message", "line", "column"),
    FunctionFacts: ("qualname", "line", "calls_llm", "asks_human", "callees", "always_calls", "params",
                    "returns_call", "returns_kind", "scrapes", "parses"),
    FileFacts: (
        "module", "relevant", "imports", "functions", "bindings", "aliases", "classes", "llm_call_count",
        "arguments", "tainted",
    ),
    Site: ("kind", "path", "line", "end_line", "label", "function", "detail", "requires_llm",
           "unless_human", "requires_cycle"),
    Suppression: (
        "line", "column", "end_column", "target_line", "codes", "file_level", "reason", "comment",
        "used", "own_line", "space_before", "line_has_newline",
    ),
    FileResult: (
        "path", "digest", "findings", "diagnostics", "facts", "lines", "role", "skipped",
        "suppressions", "sites", "cells", "deferred",
    ),
}


class CacheFormatError(ValueError):
    """Cache data of the wrong shape or out of bounds: the entry (or file) is dropped, never used."""


def _fail(what: str) -> NoReturn:
    raise CacheFormatError(what)


# -- JSON text ------------------------------------------------------------------------------------


def _no_constant(name: str) -> NoReturn:
    _fail(f"non-finite number {name}")


def _bounded_int(text: str) -> int:
    # Only for interpreters without the int-from-str digit limit (3.10 before 3.10.7), where a
    # long digit string would take quadratic time to convert.
    if len(text) > 40:
        _fail("integer literal too long")
    return int(text)


def parse_json(data: bytes | str) -> Any:
    """Strict JSON (bytes must be UTF-8), with no NaN or Infinity; else CacheFormatError.

    Deep nesting (RecursionError), huge numbers (ValueError, OverflowError) and memory exhaustion
    from a hostile file all come back as CacheFormatError. Callers bound ``len(data)`` first.
    """
    limited = getattr(sys, "get_int_max_str_digits", lambda: 0)() != 0
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_constant=_no_constant, parse_int=None if limited else _bounded_int)
    except CacheFormatError:
        raise
    except (ValueError, TypeError, RecursionError, OverflowError, MemoryError) as exc:
        raise CacheFormatError(f"not valid JSON: {type(exc).__name__}") from None


def dump_json(value: Any) -> str:
    """Compact, ASCII-only JSON (lone surrogates from odd file names survive as escapes)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"), check_circular=False)


# -- scalars --------------------------------------------------------------------------------------


def _int(value: Any, what: str, low: int = 0, high: int = MAX_POSITION) -> int:
    if type(value) is not int or not low <= value <= high:
        _fail(f"{what}: expected an integer in [{low}, {high}]")
    return value


def _opt_int(value: Any, what: str) -> int | None:
    return None if value is None else _int(value, what)


def _bool(value: Any, what: str) -> bool:
    if type(value) is not bool:
        _fail(f"{what}: expected true or false")
    return value


def _str(value: Any, what: str, limit: int = MAX_NAME) -> str:
    if type(value) is not str or len(value) > limit:
        _fail(f"{what}: expected a string of at most {limit} characters")
    return value


def _opt_str(value: Any, what: str, limit: int = MAX_TEXT) -> str | None:
    return None if value is None else _str(value, what, limit)


def _text(value: Any, what: str) -> str:
    return _str(value, what, MAX_TEXT)


def _pattern(value: Any, what: str, pattern: re.Pattern[str], limit: int = 64) -> str:
    if type(value) is not str or len(value) > limit or pattern.match(value) is None:
        _fail(f"{what}: not of the expected form")
    return value


def _choice(value: Any, what: str, allowed: frozenset) -> str:
    if type(value) is not str or value not in allowed:
        _fail(f"{what}: expected one of {sorted(allowed)}")
    return value


def _list(value: Any, what: str, limit: int = MAX_ITEMS) -> list:
    if type(value) is not list or len(value) > limit:
        _fail(f"{what}: expected a list of at most {limit} items")
    return value


def _fields(value: Any, cls: type) -> list:
    """The array that stores one ``cls``: a list with exactly one item per stored field."""
    if type(value) is not list or len(value) != len(LAYOUT[cls]):
        _fail(f"{cls.__name__}: expected an array of {len(LAYOUT[cls])} fields")
    return value


def _name_list(value: Any, what: str) -> list[str]:
    """A list of names, checked in one loop rather than a call per item: names are most of what
    a warm run decodes. The list is the decoded one (a new object for each record)."""
    items = _list(value, what)
    for item in items:
        if type(item) is not str or len(item) > MAX_NAME:
            _str(item, what)  # fails, with its message
    return items


def _names(value: Any, what: str) -> tuple[str, ...]:
    return tuple(_name_list(value, what))


def _tuple(value: Any, size: int, what: str) -> tuple[str, ...]:
    names = _names(value, what)
    if len(names) != size:
        _fail(f"{what}: expected lists of {size} strings")
    return names


def _str_map(value: Any, what: str) -> dict[str, str]:
    if type(value) is not dict or len(value) > MAX_ITEMS:
        _fail(f"{what}: expected a mapping")
    for key, item in value.items():
        if type(key) is not str or len(key) > MAX_NAME or type(item) is not str or len(item) > MAX_NAME:
            _str(key, what)  # one of them fails, with its message
            _str(item, what)
    return value


def _same_path(value: Any, what: str, path: str) -> str:
    if value != path:
        _fail(f"{what}: belongs to another file")
    return path


# -- Site.detail: bounded JSON --------------------------------------------------------------------


def _detail(value: Any) -> dict:
    """A copy of ``value`` if it is a mapping of JSON values within the depth and size bounds."""
    if type(value) is not dict:
        _fail("Site.detail: expected a mapping")
    budget = [MAX_DETAIL_NODES - 1]  # the mapping itself is the first value
    return {_str(k, "Site.detail key"): _detail_value(v, 1, budget) for k, v in value.items()}


def _detail_value(value: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        _fail("Site.detail: too many values")
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is int:
        return _int(value, "Site.detail", -MAX_DETAIL_INT - 1, MAX_DETAIL_INT)
    if kind is float:
        if not math.isfinite(value):
            _fail("Site.detail: non-finite number")
        return value
    if kind is str:
        return _text(value, "Site.detail")
    if depth >= MAX_DETAIL_DEPTH:
        _fail("Site.detail: nested too deeply")
    if kind is list:
        return [_detail_value(item, depth + 1, budget) for item in value]
    if kind is dict:
        return {_str(k, "Site.detail key"): _detail_value(v, depth + 1, budget) for k, v in value.items()}
    _fail(f"Site.detail: {kind.__name__} is not a JSON value")


# -- decoding -------------------------------------------------------------------------------------


def _edit(value: Any) -> Edit:
    line, column, end_line, end_column, content = _fields(value, Edit)
    return Edit(
        _int(line, "Edit.line"), _int(column, "Edit.column"), _int(end_line, "Edit.end_line"),
        _int(end_column, "Edit.end_column"), _text(content, "Edit.content"),
    )


def _fix(value: Any) -> Fix | None:
    if value is None:
        return None
    applicability, message, edits, moves = _fields(value, Fix)
    return Fix(
        _choice(applicability, "Fix.applicability", APPLICABILITIES),  # type: ignore[arg-type]
        _text(message, "Fix.message"),
        tuple(_edit(item) for item in _list(edits, "Fix.edits")),
        tuple(_move(item) for item in _list(moves, "Fix.moves")),
    )


def _move(value: Any) -> Move:
    name, text = _fields(value, Move)
    name = _text(name, "Move.name")
    if not name.isidentifier():
        _fail("Move.name: not an identifier")
    return Move(name, _text(text, "Move.value"))


def _finding(value: Any, path: str) -> Finding:
    (code, name, factor, severity, confidence, where, line, column, end_line, end_column, message,
     fix, snippet, source_line, context, requires_llm, unless_human, requires_tainted, requires_cycle,
     requires_text, requires_scrape, suppressed, fingerprint, cell) = _fields(value, Finding)
    return Finding(
        code=_pattern(code, "Finding.code", _CODE),
        name=_str(name, "Finding.name"),
        factor=None if factor is None else _int(factor, "Finding.factor", 0, 99),
        severity=_choice(severity, "Finding.severity", SEVERITIES),  # type: ignore[arg-type]
        confidence=_choice(confidence, "Finding.confidence", CONFIDENCES),  # type: ignore[arg-type]
        path=_same_path(where, "Finding.path", path),
        line=_int(line, "Finding.line"),
        column=_int(column, "Finding.column"),
        end_line=_int(end_line, "Finding.end_line"),
        end_column=_int(end_column, "Finding.end_column"),
        message=_text(message, "Finding.message"),
        fix=_fix(fix),
        snippet=_text(snippet, "Finding.snippet"),
        source_line=_text(source_line, "Finding.source_line"),
        context=_text(context, "Finding.context"),
        requires_llm=_names(requires_llm, "Finding.requires_llm"),
        unless_human=_names(unless_human, "Finding.unless_human"),
        requires_tainted=_names(requires_tainted, "Finding.requires_tainted"),
        requires_cycle=_names(requires_cycle, "Finding.requires_cycle"),
        requires_text=_names(requires_text, "Finding.requires_text"),
        requires_scrape=_names(requires_scrape, "Finding.requires_scrape"),
        suppressed=_opt_str(suppressed, "Finding.suppressed"),
        fingerprint=_pattern(fingerprint, "Finding.fingerprint", _FINGERPRINT),
        cell=None if cell is None else _int(cell, "Finding.cell"),
    )


def _diagnostic(value: Any, path: str) -> Diagnostic:
    code, where, message, line, column = _fields(value, Diagnostic)
    return Diagnostic(
        _pattern(code, "Diagnostic.code", _CODE), _same_path(where, "Diagnostic.path", path),
        _text(message, "Diagnostic.message"), _opt_int(line, "Diagnostic.line"),
        _opt_int(column, "Diagnostic.column"),
    )


def _function(value: Any) -> FunctionFacts:
    qualname, line, calls_llm, asks_human, callees, always_calls, params, returns_call, returns_kind, scrapes, parses = (
        _fields(value, FunctionFacts))
    return FunctionFacts(
        _str(qualname, "FunctionFacts.qualname"), _int(line, "FunctionFacts.line"),
        _bool(calls_llm, "FunctionFacts.calls_llm"), _bool(asks_human, "FunctionFacts.asks_human"),
        _name_list(callees, "FunctionFacts.callees"),
        _name_list(always_calls, "FunctionFacts.always_calls"),
        _name_list(params, "FunctionFacts.params"),
        _str(returns_call, "FunctionFacts.returns_call"),
        _choice(returns_kind, "FunctionFacts.returns_kind", RETURN_KINDS),
        _name_list(scrapes, "FunctionFacts.scrapes"),
        _name_list(parses, "FunctionFacts.parses"),
    )


def _facts(value: Any) -> FileFacts | None:
    if value is None:
        return None
    (module, relevant, imports, functions, bindings, aliases, classes, llm_call_count, arguments,
     tainted) = _fields(value, FileFacts)
    passed = [_tuple(item, 3, "FileFacts.arguments") for item in _list(arguments, "FileFacts.arguments")]
    handed = [_tuple(item, 4, "FileFacts.tainted") for item in _list(tainted, "FileFacts.tainted")]
    functions = _list(functions, "FileFacts.functions")
    built = [_function(item) for item in functions]
    classes = _list(classes, "FileFacts.classes")
    bases: dict[str, list[str]] = {}
    for item in classes:
        if type(item) is not list or len(item) != 2:
            _fail("FileFacts.classes: expected [class, bases] pairs")
        bases[_str(item[0], "FileFacts.classes")] = _name_list(item[1], "FileFacts.classes")
    return FileFacts(
        module=_str(module, "FileFacts.module"),
        relevant=_bool(relevant, "FileFacts.relevant"),
        imports=_name_list(imports, "FileFacts.imports"),
        functions={f.qualname: f for f in built},
        bindings=_str_map(bindings, "FileFacts.bindings"),
        aliases=_str_map(aliases, "FileFacts.aliases"),
        classes=bases,
        llm_call_count=_int(llm_call_count, "FileFacts.llm_call_count"),
        arguments=passed,  # type: ignore[arg-type]
        tainted=handed,  # type: ignore[arg-type]
    )


def _site(value: Any, path: str) -> Site:
    kind, where, line, end_line, label, function, detail, requires_llm, unless_human, requires_cycle = _fields(
        value, Site)
    return Site(
        _pattern(kind, "Site.kind", _KIND), _same_path(where, "Site.path", path), _int(line, "Site.line"),
        _int(end_line, "Site.end_line"), _str(label, "Site.label", MAX_TEXT), _str(function, "Site.function"),
        _detail(detail), _names(requires_llm, "Site.requires_llm"),
        _names(unless_human, "Site.unless_human"), _names(requires_cycle, "Site.requires_cycle"),
    )


def _suppression(value: Any) -> Suppression:
    (line, column, end_column, target_line, codes, file_level, reason, comment, used, own_line,
     space_before, line_has_newline) = _fields(value, Suppression)
    return Suppression(
        line=_int(line, "Suppression.line"),
        column=_int(column, "Suppression.column"),
        end_column=_int(end_column, "Suppression.end_column"),
        target_line=_int(target_line, "Suppression.target_line"),
        codes=tuple(_pattern(c, "Suppression.codes", _SELECTOR) for c in _list(codes, "Suppression.codes")),
        file_level=_bool(file_level, "Suppression.file_level"),
        reason=_text(reason, "Suppression.reason"),
        comment=_text(comment, "Suppression.comment"),
        used={_pattern(c, "Suppression.used", _CODE) for c in _list(used, "Suppression.used")},
        own_line=_bool(own_line, "Suppression.own_line"),
        space_before=_int(space_before, "Suppression.space_before"),
        line_has_newline=_bool(line_has_newline, "Suppression.line_has_newline"),
    )


def decode_result(data: bytes | str, path: str, digest: str, *, facts_only: bool = False) -> FileResult:
    """The FileResult stored as ``data`` for the file ``path`` whose bytes hash to ``digest``.

    Every finding, site and diagnostic must name ``path`` and the result must record ``digest``:
    an entry can describe only the file and the bytes it was looked up for.

    With ``facts_only``, the findings, diagnostics, suppressions and sites are left out (neither
    rebuilt nor checked): the result then serves only as another file's context in the project
    pass, which reads its facts, and a run on a few files of a large project skips most of the
    decoding.
    """
    if len(data) > MAX_LINE_BYTES:
        _fail("result: too long")
    (where, stored_digest, findings, diagnostics, facts, lines, role, skipped, suppressions,
     sites, cells, deferred) = _fields(parse_json(data), FileResult)
    _same_path(where, "FileResult.path", path)
    if stored_digest != digest:
        _fail("FileResult.digest: describes other bytes")
    if facts_only:
        return FileResult(
            path=path, digest=digest, facts=_facts(facts), lines=_int(lines, "FileResult.lines"),
            role=_choice(role, "FileResult.role", ROLES),  # type: ignore[arg-type]
            skipped=_bool(skipped, "FileResult.skipped"), deferred=_deferred(deferred),
        )
    return FileResult(
        path=path,
        digest=digest,
        findings=[_finding(item, path) for item in _list(findings, "FileResult.findings")],
        diagnostics=[_diagnostic(item, path) for item in _list(diagnostics, "FileResult.diagnostics")],
        facts=_facts(facts),
        lines=_int(lines, "FileResult.lines"),
        role=_choice(role, "FileResult.role", ROLES),  # type: ignore[arg-type]
        skipped=_bool(skipped, "FileResult.skipped"),
        suppressions=[_suppression(item) for item in _list(suppressions, "FileResult.suppressions")],
        sites=[_site(item, path) for item in _list(sites, "FileResult.sites")],
        cells=tuple(
            (_int(line, "FileResult.cells"), _int(cell, "FileResult.cells"))
            for line, cell in (_pair(item) for item in _list(cells, "FileResult.cells"))
        ),
        deferred=_deferred(deferred),
    )


def _deferred(value: Any) -> list[str] | None:
    return None if value is None else _name_list(value, "FileResult.deferred")


def _pair(value: Any) -> tuple[Any, Any]:
    items = _list(value, "FileResult.cells")
    if len(items) != 2:
        _fail("FileResult.cells: expected pairs of numbers")
    return items[0], items[1]


# -- encoding -------------------------------------------------------------------------------------


def _json_detail(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data, refusing what JSON would silently change (tuples, non-str keys)."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if depth < MAX_DETAIL_DEPTH and kind is list:
        return [_json_detail(item, depth + 1) for item in value]
    if depth < MAX_DETAIL_DEPTH and kind is dict and all(type(k) is str for k in value):
        return {k: _json_detail(v, depth + 1) for k, v in value.items()}
    _fail(f"Site.detail: {kind.__name__} does not round-trip through JSON")


def _encode(result: FileResult) -> list:
    facts = result.facts
    return [
        result.path,
        result.digest,
        [
            [f.code, f.name, f.factor, f.severity, f.confidence, f.path, f.line, f.column, f.end_line,
             f.end_column, f.message,
             None if f.fix is None else [
                 f.fix.applicability, f.fix.message,
                 [[e.line, e.column, e.end_line, e.end_column, e.content] for e in f.fix.edits],
                 [[m.name, m.value] for m in f.fix.moves],
             ],
             f.snippet, f.source_line, f.context, list(f.requires_llm), list(f.unless_human),
             list(f.requires_tainted), list(f.requires_cycle), list(f.requires_text), list(f.requires_scrape), f.suppressed,
             f.fingerprint, f.cell]
            for f in result.findings
        ],
        [[d.code, d.path, d.message, d.line, d.column] for d in result.diagnostics],
        None if facts is None else [
            facts.module, facts.relevant, list(facts.imports),
            [[f.qualname, f.line, f.calls_llm, f.asks_human, list(f.callees), list(f.always_calls),
              list(f.params), f.returns_call, f.returns_kind, list(f.scrapes), list(f.parses)]
             for f in facts.functions.values()],
            dict(facts.bindings), dict(facts.aliases),
            [[name, list(bases)] for name, bases in facts.classes.items()],
            facts.llm_call_count,
            [list(item) for item in facts.arguments],
            [list(item) for item in facts.tainted],
        ],
        result.lines,
        result.role,
        result.skipped,
        [
            [s.line, s.column, s.end_column, s.target_line, list(s.codes), s.file_level, s.reason,
             s.comment, sorted(s.used), s.own_line, s.space_before, s.line_has_newline]
            for s in result.suppressions
        ],
        [
            [s.kind, s.path, s.line, s.end_line, s.label, s.function, _json_detail(s.detail),
             list(s.requires_llm), list(s.unless_human), list(s.requires_cycle)]
            for s in result.sites
        ],
        [[line, cell] for line, cell in result.cells],
        None if result.deferred is None else list(result.deferred),
    ]


def encode_result(result: FileResult) -> bytes:
    """``result`` (less ``disk_path``) as JSON that :func:`decode_result` reads back equal.

    The JSON is decoded again here and compared with ``result``: anything the format cannot carry
    exactly (a tuple in ``Site.detail``, a facts mapping keyed by another name, a value out of
    bounds) raises CacheFormatError, and the caller leaves that file out of the cache.
    """
    try:
        data = dump_json(_encode(result)).encode("ascii")
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise CacheFormatError(f"cannot be stored: {type(exc).__name__}: {exc}") from None
    expected = dataclasses.replace(result, disk_path="")
    if decode_result(data, result.path, result.digest) != expected:
        _fail("cannot be stored exactly")
    return data


# -- a worker's answer to its parent --------------------------------------------------------------


def encode_outcome(result: FileResult) -> bytes:
    """A FileResult as a worker process sends it to its parent: ``[path, digest]``, a newline,
    then the result as the cache stores it. A worker parses untrusted code with native code, so
    its parent reads its answers as data, validated like a cache entry, never as pickles."""
    return dump_json([result.path, result.digest]).encode("ascii") + b"\n" + encode_result(result)


def decode_outcome(data: bytes) -> FileResult:
    """The FileResult a worker sent (CacheFormatError for anything else)."""
    head, newline, body = data.partition(b"\n")
    if not newline or len(head) > 2 * MAX_NAME + 100:
        _fail("outcome: no result")
    fields = parse_json(head)
    if type(fields) is not list or len(fields) != 2:
        _fail("outcome: expected [path, digest]")
    path, digest = fields
    _str(path, "outcome path")
    if digest != "":
        _pattern(digest, "outcome digest", _SHA256)
    return decode_result(body, path, digest)


# -- the file: a header line, then one line per entry ---------------------------------------------


def encode_header(root: str, key: str) -> bytes:
    """The first line (without its newline): which project and settings the file is for."""
    header = {"tool": "factorlint", "format": FORMAT, "root": root, "key": key}
    return dump_json(header).encode("ascii")


def check_header(line: bytes, root: str, key: str) -> None:
    """CacheFormatError unless ``line`` is the header of this version's file for ``root`` and ``key``."""
    if len(line) > MAX_HEADER_BYTES:
        _fail("header: too long")
    header = parse_json(line)
    if type(header) is not dict or set(header) != {"tool", "format", "root", "key"}:
        _fail("header: not a factorlint cache file")
    if header["tool"] != "factorlint" or type(header["format"]) is not int or header["format"] != FORMAT:
        _fail("header: another tool's or another version's cache file")
    if header["root"] != root or header["key"] != key:
        _fail("header: a cache file for another project or other settings")


def encode_entry(relative: str, size: int, digest: str, module: str, result: bytes) -> bytes:
    """One entry's line (without its newline); ``result`` comes from :func:`encode_result`."""
    body = dump_json([relative, size, digest, module]).encode("ascii") + b"\t" + result
    return hashlib.sha256(body).hexdigest().encode("ascii") + b"\t" + body


def decode_entry(line: bytes) -> tuple[str, int, str, str, bytes]:
    """``(relative, size, digest, module, result)`` from an entry's line; ``result`` is checked
    against the line's SHA-256 but not parsed (that is :func:`decode_result`'s job, on use)."""
    if len(line) > MAX_LINE_BYTES:
        _fail("entry: too long")
    check, tab, body = line.partition(b"\t")
    if not tab or hashlib.sha256(body).hexdigest().encode("ascii") != check:
        _fail("entry: damaged (its check does not match)")
    head, tab, result = body.partition(b"\t")
    if not tab or len(head) > 4 * MAX_NAME + 200:
        _fail("entry: no result")
    fields = parse_json(head)
    if type(fields) is not list or len(fields) != 4:
        _fail("entry: expected [path, size, digest, module]")
    relative, size, digest, module = fields
    _str(relative, "entry path")
    _int(size, "entry size", 0, MAX_FILE_SIZE)
    _pattern(digest, "entry digest", _SHA256)
    _str(module, "entry module")
    return relative, size, digest, module, result
