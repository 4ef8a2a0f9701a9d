"""``--fix`` writes only over the exact bytes that were analysed, and keeps what the file was.

Each case was reproduced on 0.1: an edit computed from an older version of a file that was saved
during the run deleted ``raise PermissionError(...)`` and reported "Fixed 1 finding".
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from factorlint import api
from factorlint.cli import main
from factorlint.config import Overrides, resolve_settings
from factorlint.engine.run.fixes import STALE, fix_file
from factorlint.model import Edit, Finding, Fix

# An unused suppression: TFA0002's safe fix deletes the comment on line 5.
SOURCE = (
    "from openai import OpenAI\n"
    "client = OpenAI()\n\n"
    "def run(messages):\n"
    "    for _ in range(3):  # factorlint: ignore[TFA0802]\n"
    "        messages.append(client.chat.completions.create(model='m', messages=messages))\n"
)
FIXED = SOURCE.replace("  # factorlint: ignore[TFA0802]", "")

# The same file as saved by its author during the run: two lines inserted above the comment, so
# an edit computed from SOURCE (line 5) now lands on the guard.
SAVED = SOURCE.replace(
    "def run(messages):\n",
    "def run(messages):\n    if not allowed(messages):\n        raise PermissionError('no')\n",
)


def _lint(folder: Path):
    settings = resolve_settings(folder, Overrides(isolated=True), folder)
    return api.lint_paths([folder], settings)


def _unused_suppression_fix() -> Finding:
    """The TFA0002 finding of SOURCE, with the edit its fix carries."""
    return Finding(
        "TFA0002", "unused-suppression", None, "advice", "high", "agent.py", 5, 23, 5, 54, "unused",
        Fix("safe", "remove it", (Edit(5, 23, 5, 54, ""),)),
    )


def test_a_file_saved_between_analysis_and_fix_is_reported_not_patched(tmp_path):
    target = tmp_path / "agent.py"
    target.write_text(SOURCE)
    report = _lint(tmp_path)
    assert [f.code for f in report.findings] == ["TFA0002"]
    target.write_text(SAVED)  # the author saves while the run is going
    report, outcomes = api.apply_fixes(report, unsafe=False, write=True)
    assert target.read_text() == SAVED
    assert outcomes[0].applied == [] and outcomes[0].error == STALE
    assert [d.code for d in report.diagnostics] == ["TFA0004"]
    assert [f.code for f in report.findings] == ["TFA0002"]  # still there, not "fixed"


def test_the_race_through_the_command_line(tmp_path, monkeypatch):
    target = tmp_path / "agent.py"
    target.write_text(SOURCE)
    real_lint_paths = api.lint_paths

    def lint_then_save(*args, **kwargs):
        report = real_lint_paths(*args, **kwargs)
        target.write_text(SAVED)
        return report

    monkeypatch.setattr(api, "lint_paths", lint_then_save)
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--isolated", "--no-cache", "--fix",
                                       "--output-format", "concise"])
    assert result.exit_code == 1
    assert "Fixed" not in result.output
    assert "TFA0004" in result.output and "changed since it was analysed" in result.output
    assert "raise PermissionError('no')" in target.read_text()


def test_a_same_size_same_mtime_copy_is_analysed_afresh_before_fixing(tmp_path):
    """``cp -p`` or ``rsync -t`` of other content with the same size and mtime: a cache that
    trusted size and mtime would hand back the old file's findings and edits."""
    target = tmp_path / "agent.py"
    cache = tmp_path.parent / f"{tmp_path.name}-cache"
    target.write_text(SOURCE)
    first = CliRunner().invoke(main, ["check", str(tmp_path), "--isolated", "--cache-dir", str(cache)])
    assert first.exit_code == 1
    before = target.stat()
    # Same length as SOURCE, other content: the suppression now sits on a line with a guard.
    other = SOURCE.replace("for _ in range(3):", "if forbidden(): x")
    other = other.replace("messages.append(", "raise PermissionError(")[: len(SOURCE)]
    other = other + " " * (len(SOURCE) - len(other))
    assert len(other.encode()) == before.st_size and other != SOURCE
    target.write_text(other)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    CliRunner().invoke(main, ["check", str(tmp_path), "--isolated", "--cache-dir", str(cache), "--fix"])
    text = target.read_text()
    assert "raise PermissionError(" in text
    # Whatever was fixed was computed from these bytes: the only change allowed is the comment.
    assert text in (other, other.replace("  # factorlint: ignore[TFA0802]", ""))


def _fix(path: Path) -> str | None:
    data = path.read_bytes()
    outcome = fix_file(path, "agent.py", [_unused_suppression_fix()], write=True,
                       analysed_digest=hashlib.sha256(data).hexdigest())
    return outcome.error


def test_the_digest_is_compared_before_any_edit(tmp_path):
    target = tmp_path / "agent.py"
    target.write_text(SOURCE)
    stale = hashlib.sha256(b"what was analysed before").hexdigest()
    outcome = fix_file(target, "agent.py", [_unused_suppression_fix()], write=True, analysed_digest=stale)
    assert outcome.error == STALE and target.read_text() == SOURCE


def test_a_change_just_before_the_write_is_caught(tmp_path, monkeypatch):
    """The last comparison runs after the new text is ready, immediately before the rename."""
    from factorlint.engine.run import fixes

    target = tmp_path / "agent.py"
    target.write_text(SOURCE)
    real_copy = fixes._copy_xattrs

    def save_meanwhile(source, destination):
        real_copy(source, destination)
        target.write_text(SAVED)

    monkeypatch.setattr(fixes, "_copy_xattrs", save_meanwhile)
    assert _fix(target) == STALE
    assert target.read_text() == SAVED
    assert [p.name for p in tmp_path.iterdir()] == ["agent.py"]  # no temporary file left


def test_the_rewrite_keeps_mode_owner_group_and_xattrs(tmp_path):
    target = tmp_path / "agent.py"
    target.write_text(SOURCE)
    os.chmod(target, 0o640)
    if os.geteuid() == 0:
        os.chown(target, 65534, 65534)
    try:
        os.setxattr(target, "user.factorlint-test", b"kept")
        has_xattrs = True
    except (OSError, AttributeError):
        has_xattrs = False
    before = target.stat()
    assert _fix(target) is None
    after = target.stat()
    assert target.read_text() == FIXED
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    if has_xattrs:
        assert os.getxattr(target, "user.factorlint-test") == b"kept"


def test_a_symlink_is_written_through_to_its_target_and_stays_a_link(tmp_path):
    real = tmp_path / "real_agent.py"
    real.write_text(SOURCE)
    link = tmp_path / "agent.py"
    link.symlink_to(real.name)
    assert _fix(link) is None
    assert link.is_symlink() and os.readlink(link) == real.name
    assert real.read_text() == FIXED


def test_hard_links_keep_sharing_the_file(tmp_path):
    first = tmp_path / "agent.py"
    first.write_text(SOURCE)
    second = tmp_path / "agent_copy.py"
    os.link(first, second)
    inode = first.stat().st_ino
    assert _fix(first) is None
    assert first.stat().st_ino == inode == second.stat().st_ino
    assert second.read_text() == FIXED and first.stat().st_nlink == 2


def test_a_read_only_file_is_honoured_even_as_root(tmp_path):
    target = tmp_path / "agent.py"
    target.write_text(SOURCE)
    target.chmod(0o444)
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--isolated", "--no-cache", "--fix",
                                       "--output-format", "concise"])
    assert result.exit_code == 1
    assert "TFA0004" in result.output and "read-only" in result.output
    assert target.read_text() == SOURCE and stat.S_IMODE(target.stat().st_mode) == 0o444


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_in_place_of_the_file_is_never_opened_for_reading_or_writing(tmp_path):
    fifo = tmp_path / "agent.py"
    os.mkfifo(fifo)
    outcome = fix_file(fifo, "agent.py", [_unused_suppression_fix()], write=True,
                       analysed_digest=hashlib.sha256(SOURCE.encode()).hexdigest())
    assert outcome.error and "not a regular file" in outcome.error
