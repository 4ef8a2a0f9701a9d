"""``check -`` (or ``/dev/stdin``) with ``--stdin-filename``: what editors and pre-commit-style
tools hand over on standard input."""

from __future__ import annotations

import json

from click.testing import CliRunner
from helpers import AGENT, write

from factorlint.cli import main

UNUSED = "x = 1  # factorlint: ignore[TFA0802]\n"


def _check(*args: str, stdin: str | bytes):
    return CliRunner().invoke(main, ["check", *args], input=stdin, catch_exceptions=False)


def test_stdin_is_linted_as_the_given_name(project):
    result = _check("-", "--stdin-filename", "services/agent.py", "--output-format", "json", stdin=AGENT)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [f["path"] for f in report["findings"]] == ["services/agent.py"]
    assert report["summary"]["files"] == 1


def test_dev_stdin_and_the_default_name(project):
    result = _check("/dev/stdin", "--output-format", "concise", stdin=AGENT)
    assert result.exit_code == 1
    assert result.stdout.startswith("stdin.py:5:5: TFA0802")


def test_configuration_applies_to_the_name(project):
    write(project, {"pyproject.toml": '[tool.factorlint]\nper-file-ignores = { "legacy/*" = ["TFA08"] }\n'})
    result = _check("-", "--stdin-filename", "legacy/agent.py", stdin=AGENT)
    assert result.exit_code == 0, result.stdout
    result = _check("-", "--stdin-filename", "tests/test_agent.py", stdin=AGENT)
    assert result.exit_code == 0  # test code: the factor rules do not judge it


def test_fix_writes_the_fixed_source(project):
    result = _check("-", "--fix", stdin=UNUSED)
    assert result.exit_code == 0
    assert result.stdout == "x = 1\n"
    result = _check("-", "--diff", stdin=UNUSED)
    assert result.exit_code == 1
    assert "-x = 1  # factorlint: ignore[TFA0802]" in result.stdout and "+x = 1" in result.stdout


def test_stdin_alone(project):
    write(project, {"agent.py": AGENT})
    result = _check("-", "agent.py", stdin=AGENT)
    assert result.exit_code == 2 and "linted alone" in result.stderr
    result = _check("agent.py", "--stdin-filename", "x.py", stdin="")
    assert result.exit_code == 2 and "--stdin-filename" in result.stderr


def test_oversized_and_undecodable_input(project):
    result = _check("-", "--output-format", "json", stdin=b"\xff\xfe\x00garbage")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["diagnostics"][0]["path"] == "stdin.py"
    write(project, {"pyproject.toml": "[tool.factorlint]\nmax-file-bytes = 10\n"})
    result = _check("-", "--output-format", "json", stdin=AGENT)
    assert "over max-file-bytes" in json.loads(result.stdout)["diagnostics"][0]["message"]
