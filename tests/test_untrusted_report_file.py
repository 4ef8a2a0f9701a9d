"""``-o FILE`` is written atomically: a reader never sees half a report, a failed run keeps the old one."""

from __future__ import annotations

import json
import os

from helpers import AGENT, invoke, write


def test_the_report_replaces_the_old_one_whole(project):
    write(project, {"agent.py": AGENT})
    (project / "report.json").write_text("old report")
    result = invoke("check", ".", "--output-format", "json", "-o", "report.json")
    assert result.exit_code == 1
    assert json.loads((project / "report.json").read_text())["findings"]
    assert sorted(p.name for p in project.iterdir()) == ["agent.py", "report.json"]  # no temporary left


def test_an_interrupted_write_keeps_the_old_report(project, monkeypatch):
    write(project, {"agent.py": AGENT})
    (project / "report.json").write_text("old report")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    result = invoke("check", ".", "--output-format", "json", "-o", "report.json")
    assert result.exit_code == 2
    assert "report.json: cannot write: No space left on device" in result.stderr
    assert (project / "report.json").read_text() == "old report"
    assert sorted(p.name for p in project.iterdir()) == ["agent.py", "report.json"]


def test_a_report_path_that_is_a_symlink_is_written_through(project):
    write(project, {"agent.py": AGENT})
    (project / "reports").mkdir()
    (project / "reports" / "latest.txt").write_text("")
    os.symlink("reports/latest.txt", project / "report.txt")
    invoke("check", ".", "--output-format", "concise", "-o", "report.txt")
    assert (project / "report.txt").is_symlink()
    assert "TFA0802" in (project / "reports" / "latest.txt").read_text()
