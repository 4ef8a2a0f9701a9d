"""Names and text from the scanned tree are data in every output (reporters/escape.py).

factorlint runs in CI on pull requests from forks, so file names and string literals are chosen by
whoever opened the pull request. One tree holds file names with a newline and a forged workflow
command, ANSI escapes and a forged summary, bidi overrides, Markdown and HTML syntax, C1 controls
and CI log commands, and a source file whose literals carry control characters, a bidi override
and (evaluated) a lone surrogate. Every format of ``check`` and ``audit`` must report it with exit
0 or 1, print no control character and forge no line; Markdown must render none of it as markup
(checked with a real CommonMark parser), HTML must carry no bidi control, and JSON must parse back
to the true data. A 90 KB one-line file must not print its line under every finding.
"""

from __future__ import annotations

import json
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import AGENT, AGENT_LOOP_LINE
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from test_html_report import make_audit

from factorlint.cli import main
from factorlint.model import Diagnostic
from factorlint.reporters import audit as audit_text
from factorlint.reporters import (
    concise,
    escape,
    full,
    html,
    json_report,
    markdown,
    statistics,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="these file names cannot exist on Windows")

NAMES = {
    "newline": "forged\n::warning file=x::forged\nAll checks passed (1 file, 1 line).py",
    "ansi": "\x1b[2J\x1b[HAll checks passed\x1b[8m.py",
    "bidi": "bidi\u202eyp.txt\u2066\u200f\u061c.py",
    # Balanced backticks: a naive `code span` around the name ends before the image and the link.
    "markdown": "md` ![img](https:evil.png) [link](https:evil.example) @octocat <img src=x onerror=alert(1)> `x ``y | #1.py",
    "c1": "c1\x85\x9b31m.py",
    "command": "::error file=y::forged.py",
    "legacy": "a ##[warning]forged ##vso[task.setvariable variable=x]y.py",
}
# Line 5: raw ESC, RLO and CSI in a comment; line 6: a model name that evaluates to a lone
# surrogate, ESC and RLO (written as escapes), and a response_format whose raw ESC and RLO the
# schemaless-json-mode rule quotes in its message.
LITERALS = (
    "from openai import OpenAI\n"
    "client = OpenAI()\n\n"
    "def run(messages):\n"
    "    while True:  # \x1b[2J\x1b[H All checks passed \u202e\x9b\n"
    '        reply = client.chat.completions.create(model="\\ud800\\x1b[2J\\u202e", messages=messages,'
    ' response_format={"type":"json_object","k":"\x1b\u202e"})\n'
    "        messages.append(reply.choices[0].message)\n"
)
MODEL = "\ud800\x1b[2J\u202e"
CASES = [
    ("check", "full"), ("check", "concise"), ("check", "json"), ("check", "statistics"),
    ("audit", "full"), ("audit", "markdown"), ("audit", "html"), ("audit", "json"),
]
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
SUMMARY = re.compile(r"(Found \d+ findings?|All checks passed)\b")
GUIDE = "https://github.com/humanlayer/12-factor-agents/"


def _invoke(root: Path, command: str, fmt: str):
    """``factorlint COMMAND ROOT`` in ``fmt``, in-process. ``color=True`` stops click stripping ANSI
    codes, so the test sees what a terminal or a file would get."""
    args = [command, str(root), "--no-cache", "--isolated"]
    args += ["--statistics"] if fmt == "statistics" else ["--output-format", fmt]
    return CliRunner().invoke(main, args, color=True)


def _stdout(result) -> str:
    """The run's output after checking it exited 0 or 1 (2 is an internal error), decoded strictly:
    a lone surrogate or a non-UTF-8 byte fails here."""
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    return result.stdout_bytes.decode("utf-8")


def _run(root: Path, command: str, fmt: str) -> tuple[int, str]:
    result = _invoke(root, command, fmt)
    return result.exit_code, _stdout(result)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    for name in NAMES.values():
        (root / name).write_text(AGENT, encoding="utf-8")
    (root / "literals.py").write_text(LITERALS, encoding="utf-8")
    return root


class _Outputs(dict):
    """Each format's run over the tree, made once; indexing checks the exit code and decodes."""

    def __getitem__(self, case) -> str:
        return _stdout(super().__getitem__(case))


@pytest.fixture(scope="module")
def outputs(tree) -> _Outputs:
    return _Outputs({case: _invoke(tree, *case) for case in CASES})


# --- every format ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[f"{c}-{f}" for c, f in CASES])
def test_no_control_character_and_no_forged_line(outputs, case):
    text = outputs[case]
    assert text.strip()
    assert not UNSAFE.search(text), sorted({hex(ord(c)) for c in UNSAFE.findall(text)})
    assert not re.search(r"##(vso|teamcity)?\[", text, re.IGNORECASE), "a CI log command"
    for line in text.split("\n"):
        assert not line.lstrip().startswith("::"), line
        assert not line.startswith("All checks passed"), line


@pytest.mark.parametrize("fmt", ["full", "concise"])
def test_every_finding_stays_on_its_own_lines_and_the_summary_is_last(outputs, fmt):
    findings = json.loads(outputs["check", "json"])["findings"]
    lines = outputs["check", fmt].rstrip("\n").split("\n")
    assert [line for line in lines if SUMMARY.match(line)] == [lines[-1]]
    assert lines[-1].startswith(f"Found {len(findings)} findings")
    heads = [line for line in lines if re.search(r":\d+:\d+: TF[AS]\d{4} ", line)]
    assert len(heads) == len(findings)
    if fmt == "concise":
        assert len(lines) == len(findings) + 1


def test_names_and_messages_are_shown_escaped(outputs):
    text = outputs["check", "concise"]
    assert f"forged\\n::warning file=x::forged\\nAll checks passed (1 file, 1 line).py:{AGENT_LOOP_LINE}:5: TFA0802" in text
    assert f"\\x1b[2J\\x1b[HAll checks passed\\x1b[8m.py:{AGENT_LOOP_LINE}:5:" in text
    assert "bidi\\u202eyp.txt\\u2066\\u200f\\u061c.py:" in text
    assert "c1\\x85\\x9b31m.py:" in text
    assert "\\x3a:error file=y::forged.py:" in text
    assert "a #\\x23[warning]forged #\\x23vso[task.setvariable variable=x]y.py:" in text
    assert '`response_format={"type":"json_object","k":"\\x1b\\u202e"}` asks for JSON' in text
    full = outputs["check", "full"]
    assert "5 |     while True:  # \\x1b[2J\\x1b[H All checks passed \\u202e\\x9b\n" in full
    assert "\\ud800\\x1b[2J\\u202e" in outputs["audit", "full"]  # the evaluated model name


@pytest.mark.parametrize("command", ["check", "audit"])
def test_json_keeps_the_true_data(outputs, command):
    report = json.loads(outputs[command, "json"])
    paths = {f["path"] for f in report["findings"]}
    assert paths == {*NAMES.values(), "literals.py"}
    messages = [f["message"] for f in report["findings"] if f["code"] == "TFA0403"]
    assert messages and '"k":"\x1b\u202e"' in messages[0]
    if command == "audit":
        assert report["models"][MODEL] == 1
        assert any(s["detail"].get("model") == MODEL for s in report["inventory"]["llm_calls"])
    # The text escapes what it must and nothing else: dumping the parsed data the same way
    # gives back the same text.
    assert escape.json_text(report) + "\n" == outputs[command, "json"]


def _walk(tokens):
    for token in tokens:
        yield token
        yield from _walk(token.children or [])


def test_markdown_renders_nothing_from_the_tree(outputs):
    text = outputs["audit", "markdown"]
    tokens = list(_walk(MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(text)))
    assert not [t for t in tokens if t.type == "image"]
    assert {t.attrs["href"][: len(GUIDE)] for t in tokens if t.type == "link_open"} == {GUIDE}
    assert {t.content for t in tokens if t.type == "html_inline"} <= {"<sub>", "</sub>"}
    assert not [t for t in tokens if t.type == "html_block"]
    prose = " ".join(t.content for t in tokens if t.type == "text")
    # What GitHub links in rendered text: mentions, issue references, bare addresses, and math.
    assert not re.search(r"@\w|#\d|www\.|://|\$", prose), prose
    # Tables keep their shape: every row as many cells as the header.
    rows, cells = [], 0
    for token in tokens:
        if token.type == "tr_open":
            cells = 0
        elif token.type in ("th_open", "td_open"):
            cells += 1
        elif token.type == "tr_close":
            rows.append(cells)
        elif token.type == "table_close":
            assert len(set(rows)) == 1, rows
            rows = []
    # The names themselves are shown, literally (CI log commands aside), in code spans.
    spans = {t.content for t in tokens if t.type == "code_inline"}
    for name in NAMES.values():
        shown = escape.plain(name).replace("##[", "#\\x23[").replace("##vso[", "#\\x23vso[")
        assert f"{shown}:{AGENT_LOOP_LINE}" in spans, name


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_carries_no_bidi_or_control_character(outputs):
    text = outputs["audit", "html"]
    assert text.isascii()
    for ref in re.findall(r"&#(x[0-9a-fA-F]+|[0-9]+);", text):
        char = chr(int(ref[1:], 16) if ref[0] == "x" else int(ref))
        assert not UNSAFE.match(char), f"&#{ref}; is {char!r}"
    page = _Page()
    page.feed(text)
    shown = "".join(page.text)
    assert not UNSAFE.search(shown)
    assert not [t for t, _ in page.tags if t in ("img", "script", "iframe")]
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]
    for name in NAMES.values():
        assert escape.plain(name) in shown, name
    assert escape.plain(MODEL) in shown


# --- a file name that is not UTF-8 -------------------------------------------------------------


@pytest.fixture(scope="module")
def bytes_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bytes")
    try:
        with open(os.path.join(os.fsencode(root), b"bytes\xff\xfe.py"), "wb") as out:
            out.write(AGENT.encode())
    except OSError:
        pytest.skip("this file system takes only UTF-8 file names")
    return root


@pytest.mark.parametrize("case", CASES, ids=[f"{c}-{f}" for c, f in CASES])
def test_a_file_name_that_is_not_utf8(bytes_tree, case):
    _, text = _run(bytes_tree, *case)
    assert not UNSAFE.search(text)
    if case[1] in ("full", "concise"):
        assert "bytes\\udcff\\udcfe.py" in text
    if case[1] == "json":
        # json.loads gives back Python's str for the name: os.fsencode restores the bytes.
        assert {os.fsencode(f["path"]) for f in json.loads(text)["findings"]} == {b"bytes\xff\xfe.py"}


def _reports_with_surrogates():
    """A hand-built audit (the HTML report's test fixture) whose paths, messages, labels and model
    names carry undecodable bytes and lone surrogates, as the engine would hand them on."""
    audit = make_audit()
    name = "bytes\udcff\udcfe.py"
    for finding in audit.report.findings:
        finding.path = name
        finding.message += " \ud800"
        finding.source_line += "  # \udcff"
    audit.report.diagnostics[0] = Diagnostic("TFA0001", name, "unreadable \udcff")
    audit.inventory.models[MODEL] = 1
    audit.inventory.loops[0].path = name
    audit.plan[0].before_location = f"{name}:61"
    audit.plan[0].locations.append(f"{name}:62")
    return audit


def test_every_reporter_writes_undecodable_names_as_escapes():
    """The reporters alone, while the engine cannot yet carry such a name to them (see above)."""
    audit = _reports_with_surrogates()
    texts = {
        "full": full.render(audit.report), "concise": concise.render(audit.report),
        "statistics": statistics.render(audit.report), "json": json_report.render(audit.report),
        "audit": audit_text.render(audit), "markdown": markdown.render(audit), "html": html.render(audit),
        "audit-json": json_report.render_audit(audit),
    }
    for fmt, text in texts.items():
        text.encode("utf-8")  # raises on a lone surrogate
        assert not UNSAFE.search(text.replace("\n", "")), fmt
    for fmt in ("full", "concise", "audit", "markdown", "html"):
        assert "bytes\\udcff\\udcfe.py" in texts[fmt], fmt
    report = json.loads(texts["json"])
    assert {f["path"] for f in report["findings"]} == {"bytes\udcff\udcfe.py"}
    assert report["diagnostics"][0]["message"] == "unreadable \udcff"
    assert json.loads(texts["audit-json"])["models"][MODEL] == 1


def test_rich_markup_in_scanned_text_is_shown_as_text():
    """The terminal audit builds rich tables: a label or model name is text, never markup."""
    audit = make_audit()
    audit.inventory.models["[red]gpt[/red] :smile:"] = 1
    audit.inventory.loops[0].path = "[bold]loop[/bold].py"
    audit.report.diagnostics[0] = Diagnostic("TFA0001", "[link=https://evil.example]x[/link].py", "m")
    text = audit_text.render(audit, color=True)
    for shown in ("[red]gpt[/red] :smile:", "[bold]loop[/bold].py", "[link=https://evil.example]x[/link].py"):
        assert shown in text, shown
    assert "\x1b]8;" not in text  # no terminal hyperlink


# --- bounded output ----------------------------------------------------------------------------

CALL = 'r = client.chat.completions.create(model="m", messages=m, response_format={"type": "json_object"}); '
FLAGGED = '{"type": "json_object"}'


@pytest.fixture(scope="module")
def one_line(tmp_path_factory) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("one_line")
    head = "from openai import OpenAI; client = OpenAI(); m = []; "
    line = head + CALL * ((90_000 - len(head)) // len(CALL))
    (root / "one_line.py").write_text(line + "\n", encoding="utf-8")
    findings = json.loads(_run(root, "check", "json")[1])["findings"]
    assert len(findings) > 800
    return root, len(findings)


def test_a_long_line_is_shown_around_each_finding_with_the_caret_on_it(one_line):
    root, count = one_line
    text = _run(root, "check", "full")[1]
    assert len(text) < count * 1024  # the whole line under each finding was 135 KB a finding
    lines = text.split("\n")
    carets = [i for i, line in enumerate(lines) if re.fullmatch(r"  \| +\^+", line)]
    assert len(carets) == count
    for i in carets:
        source, caret = lines[i - 1][4:], lines[i][4:]  # after "1 | " and "  | "
        start = len(caret) - len(caret.lstrip(" "))
        assert len(source) <= escape.DISPLAY_WIDTH + 2
        assert source[start : len(caret)] == FLAGGED, (source, caret)


@pytest.mark.parametrize("fmt", ["html", "markdown", "full"])
def test_audit_reports_of_a_long_line_stay_small(one_line, fmt):
    root, count = one_line
    assert len(_run(root, "audit", fmt)[1]) < count * 1024  # the HTML report was 24 MB


def test_json_keeps_at_most_a_window_of_a_long_line(one_line):
    root, _ = one_line
    report = json.loads(_run(root, "audit", "json")[1])
    befores = [item["before"] for item in report["fix_plan"]]
    assert befores and all(len(line) <= escape.STORED_LIMIT for b in befores for line in b.split("\n"))


# --- the policies, one by one ------------------------------------------------------------------


def test_plain_shows_every_unsafe_character_as_an_escape():
    assert escape.plain("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert escape.plain("\x00\x1b\x7f\x85\x9b") == "\\x00\\x1b\\x7f\\x85\\x9b"
    assert escape.plain("\u061c\u200e\u200f\u202a\u202e\u2066\u2069\u2028\u2029") == (
        "\\u061c\\u200e\\u200f\\u202a\\u202e\\u2066\\u2069\\u2028\\u2029")
    assert escape.plain("\ud800\udcff") == "\\ud800\\udcff"
    assert escape.plain("café 中文 ✓ \\x1b") == "café 中文 ✓ \\x1b"
    assert escape.plain_block("a\n\tb\x1b") == "a\n\tb\\x1b"


def test_ci_commands_are_neutralised_in_each_style():
    text = "::warning file=a::b\n  ::error::c\nx ##[group]y ##VSO[task.x]z\nok a::b"
    assert escape.guard_ci_commands(text) == (
        "\\x3a:warning file=a::b\n  \\x3a:error::c\nx #\\x23[group]y #\\x23VSO[task.x]z\nok a::b")
    assert escape.guard_ci_commands("##[x]", "html") == "#&#35;[x]"
    assert json.loads(escape.json_text({"k": "##[warning]x"})) == {"k": "##[warning]x"}


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)) | st.sampled_from("`|\\ \n\ud800"), min_size=1))
def test_a_code_span_shows_its_text_whatever_it_holds(text):
    md = MarkdownIt("commonmark").enable("table")
    shown = escape.plain(text)
    inline = [t for t in md.parse(f"x {escape.md_code(text)} y") if t.type == "inline"]
    spans = [c for c in inline[0].children if c.type == "code_inline"]
    assert [s.content for s in spans] == [shown]
    # In a table cell: one cell, one span, the text (GFM doubles a backslash before a pipe).
    cells = [t for t in md.parse(f"| h |\n|---|\n| {escape.md_code(text, table=True)} |\n") if t.type == "inline"]
    assert len(cells) == 2
    assert [c.content for c in cells[1].children if c.type == "code_inline"] == [
        re.sub(r"(\\*)\|", lambda m: m.group(1) * 2 + "|", shown)]


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)) | st.sampled_from("[]()!<>`*_~&$#@|\\:/.-1 "), min_size=1))
def test_prose_renders_as_its_own_text_and_nothing_else(text):
    md = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    shown = escape.plain(text).strip()
    rendered = md.parse(f"x {escape.md_text(text)} y")
    assert [t.type for t in rendered] == ["paragraph_open", "inline", "paragraph_close"]
    children = rendered[1].children
    assert {c.type for c in children} <= {"text"}, [c.type for c in children]
    words = "".join(c.content for c in children).replace("\u200b", "")
    assert " ".join(words.split()) == " ".join(f"x {shown} y".split())


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1) | st.sampled_from(["\ud800", "a\udcff", "\u202e##[x]", "\x7f\x85"]))
def test_json_text_parses_back_to_the_same_string(text):
    dumped = escape.json_text({"s": text, "n": [1, 2.5, None]})
    dumped.encode("utf-8")
    assert not UNSAFE.search(dumped.replace("\n", ""))
    assert json.loads(dumped) == {"s": text, "n": [1, 2.5, None]}


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_a_stored_line_keeps_the_flagged_column_where_reporters_find_it(data):
    line = data.draw(st.text(alphabet="ab\t ", min_size=0, max_size=1200))
    column = data.draw(st.integers(1, len(line) + 1))
    stored = escape.stored_source_line(line, column)
    assert len(stored) <= escape.STORED_LIMIT
    offset = escape.stored_offset(stored, column)
    # Every kept character is at its original offset; only the ends may be ellipses.
    for i, char in enumerate(stored):
        if char != escape.ELLIPSIS:
            assert line[offset + i] == char
    if len(line) <= escape.STORED_LIMIT:
        assert stored == line and offset == 0
    elif column <= len(line):
        assert stored[column - 1 - offset] == line[column - 1]


def test_the_excerpt_puts_the_caret_under_the_flagged_text():
    line = "x = 1; " * 100 + "while True:" + "; y = 2" * 100
    column = line.index("while") + 1
    shown = escape.source_excerpt(escape.stored_source_line(line, column), column, column + 5)
    assert shown.text.startswith(escape.ELLIPSIS) and shown.text.endswith(escape.ELLIPSIS)
    assert len(shown.text) <= escape.DISPLAY_WIDTH + 2
    assert shown.text[shown.caret : shown.caret + shown.width] == "while"
    # Wide characters and escapes before the span move the caret by their columns.
    shown = escape.source_excerpt("s = '中\x1b'; f()", 11, 14)
    assert shown.text == "s = '中\\x1b'; f()" and (shown.caret, shown.width) == (14, 3)
    # A tab expands; a line of ordinary length is shown whole.
    shown = escape.source_excerpt("\tcall()", 2, 8)
    assert (shown.text, shown.caret, shown.width) == ("    call()", 4, 6)
