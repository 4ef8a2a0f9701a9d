"""--fix and --diff: what is written, when, and what is never lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from factorlint.cli import main
from factorlint.engine.run import fixes
from factorlint.engine.run.fixes import apply_edits, fix_file
from factorlint.model import Edit, Finding, Fix

SOURCE = (
    "from openai import OpenAI\n"
    "client = OpenAI()\n\n"
    "def run(messages):\n"
    "    for _ in range(3):  # factorlint: ignore[TFA0802]\n"
    "        messages.append(client.chat.completions.create(model='m', messages=messages))\n"
)
FIXED = SOURCE.replace("  # factorlint: ignore[TFA0802]", "")


def _check(path: Path, *args: str):
    return CliRunner().invoke(main, ["check", str(path), "--isolated", *args])


def test_fix_removes_the_unused_suppression_and_is_idempotent(tmp_path):
    target = tmp_path / "agent.py"
    target.write_text(SOURCE)
    assert _check(tmp_path, "--fix").exit_code == 0
    assert target.read_text() == FIXED
    assert _check(tmp_path, "--fix").exit_code == 0
    assert target.read_text() == FIXED


def test_diff_prints_and_writes_nothing(tmp_path):
    target = tmp_path / "agent.py"
    target.write_text(SOURCE)
    result = _check(tmp_path, "--diff")
    assert result.exit_code == 1
    assert "-    for _ in range(3):  # factorlint: ignore[TFA0802]" in result.stdout
    assert target.read_text() == SOURCE


def test_read_only_file_is_reported_not_forced(tmp_path):
    target = tmp_path / "agent.py"
    target.write_text(SOURCE)
    target.chmod(0o444)
    result = _check(tmp_path, "--fix", "--output-format", "concise")
    assert "TFA0004" in result.stdout
    assert target.read_text() == SOURCE


def test_read_only_file_is_reported_even_as_root(tmp_path, monkeypatch):
    target = tmp_path / "agent.py"
    target.write_text(SOURCE)
    monkeypatch.setattr(fixes, "_writable", lambda path, info: False)
    result = _check(tmp_path, "--fix", "--output-format", "concise")
    assert result.exit_code == 1
    assert "TFA0004" in result.stdout and "read-only" in result.stdout
    assert target.read_text() == SOURCE


def test_a_fix_that_would_not_parse_leaves_the_file_intact(tmp_path):
    target = tmp_path / "agent.py"
    target.write_text("x = 1\n")
    broken = Finding("TFA0002", "unused-suppression", None, "advice", "high", "agent.py", 1, 1, 1, 2, "m",
                     Fix("safe", "m", (Edit(1, 1, 1, 2, "def"),)))
    outcome = fix_file(target, "agent.py", [broken], write=True)
    assert outcome.error and "would not parse" in outcome.error
    assert target.read_text() == "x = 1\n"


def test_an_interrupted_write_leaves_the_original(tmp_path, monkeypatch):
    target = tmp_path / "agent.py"
    target.write_text(SOURCE)

    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(fixes.os, "replace", interrupted)
    end = len(SOURCE.splitlines()[4]) + 1
    finding = Finding("TFA0002", "unused-suppression", None, "advice", "high", "agent.py", 5, 23, 5, end, "m",
                      Fix("safe", "m", (Edit(5, 23, 5, end, ""),)))
    with pytest.raises(KeyboardInterrupt):
        fix_file(target, "agent.py", [finding], write=True)
    assert target.read_text() == SOURCE
    assert [p.name for p in tmp_path.iterdir()] == ["agent.py"]  # no temporary file left behind


def test_overlapping_edits_wait_for_the_next_run():
    text = "abcdef\n"
    first = Finding("X", "x", None, "advice", "high", "f", 1, 1, 1, 4, "m", Fix("safe", "m", (Edit(1, 1, 1, 4, "X"),)))
    second = Finding("X", "x", None, "advice", "high", "f", 1, 3, 1, 6, "m", Fix("safe", "m", (Edit(1, 3, 1, 6, "Y"),)))
    fixed, applied, skipped = apply_edits(text, [first, second])
    assert fixed == "Xdef\n" and applied == [first] and skipped == [second]


def test_permissions_and_encoding_are_kept(tmp_path):
    target = tmp_path / "agent.py"
    target.write_bytes(("# -*- coding: latin-1 -*-\n# café\n" + SOURCE).encode("latin-1"))
    target.chmod(0o640)
    assert _check(tmp_path, "--fix").exit_code == 0
    assert target.read_bytes().decode("latin-1").endswith(FIXED)
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)


def test_fixes_that_wait_on_each_other_are_applied_in_passes(tmp_path):
    """Two fixes add an import at the same place: the second waits for a pass over the text the
    first wrote, within one --fix run."""
    target = tmp_path / "agent.py"
    target.write_text(
        "from openai import OpenAI\n"
        "from tenacity import retry\n\n"
        'client = OpenAI(api_key="sk-proj-Q7fL2mZ9vR4tK8wN1cB6hJ3pX0sD5gY")\n\n'
        "@retry\n"
        "def ask(messages):\n"
        "    return client.chat.completions.create(model='m', messages=messages)\n"
    )
    result = _check(tmp_path, "--fix", "--unsafe-fixes", "--select", "TFA0901,TFS003")
    assert result.exit_code == 0, result.stdout
    text = target.read_text()
    assert "from os import environ\n" in text and "from tenacity import stop_after_attempt\n" in text
    assert 'api_key=environ["OPENAI_API_KEY"]' in text and "@retry(stop=stop_after_attempt(3))" in text
    compile(text, "agent.py", "exec")
    assert _check(tmp_path, "--select", "TFA0901,TFS003").exit_code == 0
