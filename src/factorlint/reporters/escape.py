"""Text from the scanned tree, made safe to show: one escaping policy per kind of output.

factorlint runs in CI on pull requests from forks, so every path, message, label, model name,
version and source line it reports was chosen by whoever wrote the scanned code. Its output goes
to terminals, CI logs, markdown PR comments, HTML pages and JSON consumers, and none of them may
be steered by that text. Every reporter (and every future one: SARIF, GitHub, GitLab, JUnit)
passes such text through one of the functions here, chosen by where the text lands:

* :func:`plain` (a single-line field: terminals, logs, plain text) and :func:`plain_block`
  (several lines) show C0 and C1 controls, DEL, the bidirectional controls, the line and
  paragraph separators and lone surrogates as visible escapes (``\\x1b``, ``\\u202e``,
  ``\\udcff``), so nothing can move the cursor, clear the screen, reorder text or start a line.
* :func:`md_text`, :func:`md_code`, :func:`md_message` and :func:`md_block` build GitHub-flavoured
  Markdown in which scanned text never renders as a link, an image, a mention, an issue
  reference, math, HTML or a table or code-span break.
* :func:`html_text` is :func:`html.escape` over :func:`plain`.
* :func:`json_text` writes JSON that keeps the true data and is safe to print.
* :func:`guard_ci_commands` is the last step of every report: it neutralises what CI runners
  read as commands anywhere in their log (``##[warning]``, ``##vso[...]``) or at the start of a
  line (``::warning file=...::``), whichever field or join of fields produced it.

Lone surrogates come from two places: file names that are not valid UTF-8 (Python holds the bytes
as U+DC80-U+DCFF, "surrogateescape") and string literals such as ``"\\ud800"`` that a rule or the
inventory evaluates. No UTF-8 encoder accepts them, so until now one such file name made every
output format fail. Here they are always escaped, ``\\udcff`` for the byte 0xff, the same way in
every text format; JSON keeps them as ``\\udcff`` escapes, which Python's ``json`` (and
``os.fsencode``) turn back into the original file name.

The second half of the module bounds source text: a one-line file of 90 KB with a finding every
hundred characters must not print the whole line under each finding. :func:`stored_source_line`
clips the line a finding keeps (the engine calls it), :func:`source_excerpt` cuts the window a
reporter shows around the flagged columns and places the caret, and :func:`clip` and
:func:`clip_lines` bound any other text taken from the source.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass

ELLIPSIS = "\u2026"

# -- plain text -------------------------------------------------------------------------------------

# Never shown raw: C0 controls, DEL, C1 controls, the bidirectional controls (Unicode TR9 and the
# "Trojan Source" list: ALM U+061C, LRM/RLM U+200E-F, embeddings and overrides U+202A-E, isolates
# U+2066-9), the line and paragraph separators (line breaks to some editors and viewers) and lone
# surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_IN_BLOCK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(value: object) -> str:
    """One line of plain text: every unsafe character (newline and tab included) as an escape.

    Backslashes are left alone, so ``\\x1b`` in a report may also be a file literally named so;
    the JSON output, which keeps the true data, tells the two apart.
    """
    text = "" if value is None else str(value)
    return _UNSAFE.sub(_visible, text)


def plain_block(value: object) -> str:
    """Several lines of plain text: newlines and tabs kept, every other unsafe character escaped."""
    text = "" if value is None else str(value)
    return _UNSAFE_IN_BLOCK.sub(_visible, text)


# -- CI log commands --------------------------------------------------------------------------------

# GitHub's runner reads "##[command]" anywhere in a line (its legacy syntax, still parsed) and
# "::command::" at the start of a line after leading whitespace; Azure Pipelines reads
# "##vso[...]" anywhere and TeamCity "##teamcity[...]".
_LOG_COMMAND = re.compile(r"(?<=#)#(?=(?:vso|teamcity)?\[)", re.IGNORECASE)
_LINE_COMMAND = re.compile(r"^([^\S\n]*):(?=:)", re.MULTILINE)
_GUARD_STYLES = {
    "plain": ("\\x23", "\\x3a"),  # the same escapes plain() uses for controls
    "json": ("\\u0023", "\\u003a"),  # JSON string escapes: the parsed data is unchanged
    "html": ("&#35;", "&#58;"),  # character references: the rendered page is unchanged
}


def guard_ci_commands(text: str, style: str = "plain") -> str:
    """The whole report with CI log commands neutralised: the second ``#`` of ``##[`` (and of
    ``##vso[``, ``##teamcity[``) and the first ``:`` of a line starting ``::`` are escaped in
    ``style`` ("plain" for text and Markdown, "json", "html"). Nothing factorlint writes itself
    looks like either, so a report changes only where scanned text put one."""
    hash_escape, colon_escape = _GUARD_STYLES[style]
    text = _LOG_COMMAND.sub(lambda m: hash_escape, text)
    # re.sub's replacement is a template: write the escape through a function.
    return _LINE_COMMAND.sub(lambda m: m.group(1) + colon_escape, text)


# -- Markdown (GitHub-flavoured) --------------------------------------------------------------------

# Backslash-escaped wherever they stand: emphasis, code, links and images, raw HTML and autolinks,
# entities, tables, strikethrough, math ($, GitHub renders LaTeX) and headings.
_MD_PUNCT = re.compile(r"([\\`*_\[\]<>!|~&$#])")
# Block markers that only matter at the start of a line: bullets, setext rules, numbered lists.
_MD_LINE_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)([.)]))")
# GitHub links "@name" (a mention that notifies), "#123" and "GH-123" (issue references), and bare
# "www." and "scheme://" addresses after Markdown is rendered, in the text itself, where a
# backslash no longer exists. A zero-width space (as a character reference, so the Markdown
# source shows it) breaks each one and is invisible on the page; Renovate does the same.
_MD_AUTOLINK = re.compile(r"(?<=@)(?=\w)|(?<=#)(?=\d)|(?<=GH-)(?=\d)|(?<=www)(?=\.)|(?<=:)(?=//)", re.IGNORECASE)
_ZWSP = "&#8203;"
_TICKS = re.compile(r"`+")
_SPANS = re.compile(r"`([^`\n]+)`")
_PIPE = re.compile(r"(\\*)\|")


def md_text(value: object) -> str:
    """Scanned text as Markdown prose on one line: it reads the same, and renders as nothing else."""
    text = _MD_PUNCT.sub(r"\\\1", plain(value))
    text = _MD_LINE_START.sub(_line_start, text, count=1)
    return _MD_AUTOLINK.sub(_ZWSP, text)


def _line_start(match: re.Match) -> str:
    indent, marker, number, delimiter = match.groups()
    return f"{indent}\\{marker}" if marker else f"{indent}{number}\\{delimiter}"


def md_code(value: object, *, table: bool = False) -> str:
    """Scanned text as an inline code span, which GitHub renders literally (no mentions, links or
    references inside). The fence is one backtick longer than the longest run inside, padded with
    a space each side when the text starts or ends with a backtick, or starts and ends with a
    space (CommonMark then strips one each side).

    ``table=True`` for a span inside a table cell: GFM splits cells before it sees code spans, so
    every pipe is escaped, with the backslashes just before it doubled so the pipe's own escape
    cannot be cancelled (GitHub then shows those backslashes doubled: cosmetic, and rare).
    """
    text = plain(value)
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in _TICKS.findall(text)), default=0) + 1)
    if text[0] == "`" or text[-1] == "`" or (text[0] == text[-1] == " " and text.strip(" ")):
        text = f" {text} "
    if table:
        text = _PIPE.sub(lambda m: m.group(1) * 2 + "\\|", text)
    return f"{fence}{text}{fence}"


def md_message(value: object, *, table: bool = False) -> str:
    """A finding's message: its `backtick` spans as code spans, the words between as prose. The
    split cannot be abused: a stray backtick only moves text from one safe form to the other."""
    text = plain(value)
    out, last = [], 0
    for match in _SPANS.finditer(text):
        out.append(md_text(text[last:match.start()]))
        out.append(md_code(match.group(1), table=table))
        last = match.end()
    out.append(md_text(text[last:]))
    return "".join(out)


def md_block(code: str, language: str = "python") -> str:
    """A fenced code block: lines clipped and escaped, the fence longer than any backtick run."""
    body = plain_block(clip_lines(code.rstrip().expandtabs(4)))
    fence = "`" * max(3, max((len(run) for run in _TICKS.findall(body)), default=0) + 1)
    return f"{fence}{language}\n{body}\n{fence}"


# -- HTML -------------------------------------------------------------------------------------------


def html_text(value: object) -> str:
    """Text for an HTML element or a quoted attribute: :func:`plain`, then :func:`html.escape`."""
    import html  # the HTML reports only

    return html.escape(plain(value), quote=True)


# -- JSON -------------------------------------------------------------------------------------------

# json.dumps escapes C0 itself; the rest of the unsafe set is valid JSON text but not safe to
# print, and lone surrogates cannot be encoded at all. As \uXXXX escapes they are both, and
# json.loads gives back the same string.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _jsonable(value):
    """What :mod:`json` has no form for: sets as sorted lists (as pydantic's JSON mode wrote them)."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _finite(value):
    """Non-finite floats as null, as pydantic's JSON mode writes them (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_text(data, indent: int = 2) -> str:
    """``data`` (dicts, lists, tuples, sets, str, numbers: a pydantic ``model_dump()``, whose JSON
    mode cannot take lone surrogates) as UTF-8-safe JSON text.

    The policy: the true data, always encodable, safe to print. Text stays readable UTF-8; C0
    controls are escaped by :mod:`json`, and DEL, C1 controls, bidirectional controls, line
    separators and lone surrogates as ``\\uXXXX``. So a file name with undecodable bytes comes
    back from ``json.loads`` as the str Python gave it (``os.fsencode`` restores the bytes). A
    strict parser that refuses lone-surrogate escapes (serde_json) rejects only such a report; a
    lenient one (Go, jq) reads U+FFFD.
    """
    text = json.dumps(_finite(data), indent=indent, ensure_ascii=False, default=_jsonable)
    text = _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return guard_ci_commands(text, "json")


# -- source excerpts --------------------------------------------------------------------------------

# What a finding keeps of its source line (Finding.source_line, and the first line of .context):
# lines up to STORED_LIMIT characters whole; a longer one clipped to a window around the flagged
# column, the cut ends marked with ELLIPSIS in place of the character cut there, so every kept
# character keeps its offset. When the flagged column is near the start the window starts at the
# line's start; otherwise it starts STORED_HEAD characters before the column, and is then shorter
# (STORED_HEAD + STORED_TAIL) than the column's offset: that is how stored_offset() knows it.
STORED_LIMIT = 400
STORED_HEAD = 100
STORED_TAIL = 150  # STORED_HEAD + 2 * STORED_TAIL <= STORED_LIMIT, or stored_offset() cannot tell

# What a reporter shows of a source line: at most DISPLAY_WIDTH characters, DISPLAY_BEFORE of them
# before the flagged column when the line must be cut. The display window lies inside the stored
# one (DISPLAY_BEFORE <= STORED_HEAD, DISPLAY_WIDTH - DISPLAY_BEFORE < STORED_TAIL), so a stored
# line's own ellipses show only where the display window reaches a cut end.
DISPLAY_WIDTH = 200
DISPLAY_BEFORE = 60


def stored_source_line(line: str, column: int) -> str:
    """The part of ``line`` a finding at 1-based ``column`` keeps (see STORED_LIMIT)."""
    if len(line) <= STORED_LIMIT:
        return line
    start = column - 1
    if start + STORED_TAIL <= STORED_LIMIT:
        return line[: STORED_LIMIT - 1] + ELLIPSIS
    lo, hi = start - STORED_HEAD, start + STORED_TAIL
    kept = ELLIPSIS + line[lo + 1 : hi]
    return kept[:-1] + ELLIPSIS if hi < len(line) else kept


def stored_offset(stored: str, column: int) -> int:
    """Where ``stored`` (a :func:`stored_source_line`) starts in its original line."""
    if column - 1 > len(stored):
        return max(0, column - 1 - STORED_HEAD)
    return 0


def clip(line: str, limit: int = DISPLAY_WIDTH) -> str:
    """One line, cut to ``limit`` characters with an ellipsis when longer."""
    return line if len(line) <= limit else line[: limit - 1] + ELLIPSIS


def clip_lines(text: str, limit: int = DISPLAY_WIDTH) -> str:
    """Every line of ``text`` cut as :func:`clip` does."""
    return "\n".join(clip(line, limit) for line in text.split("\n"))


def cell_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide East Asian characters two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


@dataclass(frozen=True)
class Excerpt:
    """A source line as shown under a finding: escaped, tabs expanded, at most DISPLAY_WIDTH
    characters around the flagged span (ellipses where cut), and where the caret goes, in
    terminal columns."""

    text: str
    caret: int  # columns before the flagged span
    width: int  # columns the flagged span takes (at least 1)


def source_excerpt(stored: str, column: int, end_column: int | None = None) -> Excerpt:
    """The excerpt of a finding's ``stored`` source line for the span from 1-based ``column`` to
    ``end_column`` (exclusive; None when the span runs past the end of the line)."""
    offset = stored_offset(stored, column)
    line = stored.rstrip()
    start = min(max(column - 1 - offset, 0), len(line))
    end = len(line) if end_column is None else min(max(end_column - 1 - offset, start), len(line))
    lo, hi = _window(len(line), start)
    end = min(max(end, start + 1), hi)
    raw = line[lo:hi]
    # Expand tabs over the window as shown, then cut it into before / span / after.
    before = raw[: start - lo].expandtabs(4)
    span = raw[: end - lo].expandtabs(4)[len(before):]
    after = raw.expandtabs(4)[len(before) + len(span):]
    head = ELLIPSIS if lo > 0 else ""
    tail = ELLIPSIS if hi < len(line) else ""
    before, span, after = head + plain(before), plain(span), plain(after) + tail
    return Excerpt(before + span + after, cell_width(before), max(1, cell_width(span)))


def excerpt_context(context: str, column: int) -> str:
    """A finding's stored context (the flagged node's first lines) for display: the first line
    windowed around ``column`` as :func:`source_excerpt` does, the others clipped; not escaped
    (each output escapes in its own way)."""
    first, newline, rest = context.partition("\n")
    lo, hi = _window(len(first), max(column - 1 - stored_offset(first, column), 0))
    shown = (ELLIPSIS if lo > 0 else "") + first[lo:hi] + (ELLIPSIS if hi < len(first) else "")
    return shown + newline + clip_lines(rest) if rest else shown


def _window(length: int, start: int) -> tuple[int, int]:
    """The [lo, hi) a reporter shows of a line of ``length`` flagged at offset ``start``."""
    if length <= DISPLAY_WIDTH:
        return 0, length
    lo = max(0, min(start - DISPLAY_BEFORE, length - DISPLAY_WIDTH))
    return lo, lo + DISPLAY_WIDTH
