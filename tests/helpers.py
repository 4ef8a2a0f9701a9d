"""Running factorlint on example sources written to a temporary folder."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from factorlint.api import lint_paths
from factorlint.config import Settings
from factorlint.versions import detect_versions

EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[A-Z0-9_, ]+)")
# ``# expect: CODE @COL-END_COL | message`` (or ``@COL-END_LINE:END_COL``): the finding's exact
# range (1-based columns, starting on the comment's line) and its exact message.
EXPECT_DETAIL = re.compile(
    r"#\s*expect:\s*(?P<code>[A-Z0-9]+)\s+@(?P<column>\d+)-(?:(?P<end_line>\d+):)?(?P<end_column>\d+)"
    r"\s+\|\s(?P<message>.*)$"
)


def write_example(root: Path, example) -> dict[str, str]:
    # Not "example.py": a file of that name is example code, which the factor rules skip.
    files = example if isinstance(example, dict) else {"agent.py": example}
    written = {}
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = textwrap.dedent(source).lstrip("\n")
        path.write_text(text, encoding="utf-8")
        written[name] = text
    return written


def expected_findings(files: dict[str, str]) -> set[tuple[str, int, str]]:
    expected = set()
    for name, text in files.items():
        for number, line in enumerate(text.splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                for code in match.group("codes").replace(",", " ").split():
                    expected.add((name, number, code))
    return expected


def expected_details(files: dict[str, str]) -> set[tuple[str, int, int, int, int, str, str]]:
    """(path, line, column, end line, end column, code, message) of each detailed expectation."""
    expected = set()
    for name, text in files.items():
        for number, line in enumerate(text.splitlines(), 1):
            match = EXPECT_DETAIL.search(line)
            if match:
                end_line = int(match.group("end_line") or number)
                expected.add((name, number, int(match.group("column")), end_line, int(match.group("end_column")),
                              match.group("code"), match.group("message")))
    return expected


def settings_for(root: Path, enabled: set[str], **overrides) -> Settings:
    overrides.setdefault("versions", detect_versions(root))
    return Settings(root=root, config_path=None, enabled=set(enabled), **overrides)


def run_example(root: Path, example, enabled: set[str], **overrides):
    files = write_example(root, example)
    report = lint_paths([root], settings_for(root, enabled, **overrides))
    return files, report


# --- the command line, run in-process ------------------------------------------------------------

# An agent loop with no step bound: exactly one TFA0802 (unbounded-agent-loop), on line 5.
# It passes tools (no TFA0104, prose each turn) and a window of the history (no TFA0302).
AGENT = '''\
from openai import OpenAI
client = OpenAI()

def run(messages, tools):
    while True:
        reply = client.chat.completions.create(model="m", messages=messages[-20:], tools=tools)
        messages.append(reply.choices[0].message)
'''
AGENT_LOOP_LINE = 5

# Module-level history changed by a function that calls a model: one TFA1201 (factor 12), line 6.
STATEFUL = '''\
from openai import OpenAI
client = OpenAI()
HISTORY = []

def chat(user_msg):
    HISTORY.append({"role": "user", "content": user_msg})
    return client.chat.completions.create(model="m", messages=HISTORY)
'''

# Code with nothing to report.
CLEAN = '''\
def add(a, b):
    return a + b
'''


def write(root: Path, files: dict[str, str | bytes]) -> None:
    """Write ``files`` (relative name -> text or bytes) under ``root``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def invoke(*args: str):
    """``factorlint ARGS`` in-process; returns click's Result (exit_code, stdout, stderr)."""
    from click.testing import CliRunner

    from factorlint.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def check_json(*args: str) -> tuple[int, dict]:
    """``factorlint check --output-format json ARGS``: the exit code and the parsed report."""
    import json

    result = invoke("check", "--output-format", "json", *args)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    return result.exit_code, json.loads(result.stdout)


def codes(report: dict) -> list[tuple[str, str, int]]:
    """(path, code, line) of each finding of a JSON report, in report order."""
    return [(f["path"], f["code"], f["line"]) for f in report["findings"]]


def assert_one_line_error(result, *fragments: str) -> None:
    """Exit 2 with one line on stderr that starts ``factorlint:`` and contains ``fragments``."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("factorlint:"), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
