"""``check --diff-base REF``: only findings on lines the change touched, from a git history read
without letting the repository's own configuration run anything."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from helpers import AGENT, STATEFUL, check_json, invoke, write

from factorlint.git_diff import parse_unified_diff

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(root, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def _repository(root, legacy: str = AGENT):
    """A repository whose main branch holds ``agent.py``, checked out on a new branch."""
    _git(root, "init", "-q", "-b", "main")
    write(root, {"agent.py": legacy})
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "legacy")
    _git(root, "checkout", "-q", "-b", "feature")


def test_only_findings_on_changed_lines(project):
    _repository(project)
    write(project, {"chat.py": STATEFUL, "agent.py": "import os\n" + AGENT})
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "change")
    code, report = check_json("--diff-base", "main", str(project))
    assert code == 1
    assert {f["path"] for f in report["findings"]} == {"chat.py"}
    assert report["diff_base"]["revision"] == "main" and report["diff_base"]["outside"] >= 1
    result = invoke("check", "--diff-base", "main", str(project))
    assert "on lines changed since main" in result.stdout


def test_nothing_changed_passes(project):
    _repository(project)
    code, report = check_json("--diff-base", "main", str(project))
    assert code == 0 and report["findings"] == []


def test_a_subfolder_of_the_repository(project):
    _repository(project)
    write(project, {"services/billing/agent.py": AGENT})
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "billing")
    code, report = check_json("--diff-base", "main", str(project / "services"))
    assert code == 1
    assert {f["path"] for f in report["findings"]} == {"services/billing/agent.py"}


def test_bad_revisions_are_usage_errors(project):
    _repository(project)
    for revision in ("--output=/tmp/x", "nope", "main..feature"):
        result = invoke("check", "--diff-base", revision, str(project))
        assert result.exit_code == 2, revision
        assert len(result.stderr.strip().splitlines()) == 1


def test_outside_a_repository_is_a_usage_error(project):
    write(project, {"agent.py": AGENT})
    result = invoke("check", "--diff-base", "main", str(project))
    assert result.exit_code == 2
    assert "is not in a git work tree" in result.stderr


def test_the_repository_configuration_runs_nothing(project, tmp_path_factory):
    marker = tmp_path_factory.mktemp("marker") / "ran"
    script = tmp_path_factory.mktemp("hook") / "hook.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n", encoding="utf-8")
    script.chmod(0o755)
    _repository(project)
    for key in ("core.fsmonitor", "diff.external", "core.pager", "diff.evil.textconv", "filter.evil.clean",
                "filter.evil.smudge", "core.sshCommand"):
        _git(project, "config", key, str(script))
    write(project, {".gitattributes": "*.py diff=evil filter=evil\n", "chat.py": STATEFUL})
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "change")
    marker.unlink(missing_ok=True)  # git itself ran the clean filter while committing
    code, report = check_json("--diff-base", "main", str(project))
    assert code == 1
    assert {f["path"] for f in report["findings"]} == {"chat.py"}
    assert not marker.exists()


def test_parse_unified_diff_with_quoted_names():
    text = "\n".join([
        "diff --git a/x b/x",
        "+++ b/plain.py",
        "@@ -0,0 +1,3 @@",
        "@@ -10 +12 @@",
        '+++ "b/odd\\tname\\303\\251.py"',
        "@@ -1,2 +1,0 @@",
        "@@ -5 +4,2 @@",
        "+++ /dev/null",
        "@@ -1 +0,0 @@",
    ])
    files = parse_unified_diff(text)
    assert files == {"plain.py": {1, 2, 3, 12}, "odd\tnameé.py": {4, 5}}


BOUNDED = AGENT.replace("    while True:", "    for _ in range(10):")


def test_audit_shows_each_factor_before_and_after(project):
    import json

    _repository(project, BOUNDED)
    write(project, {"runner.py": AGENT})
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "an unbounded loop")
    result = invoke("audit", "--diff-base", "main", "--output-format", "json", str(project))
    assert result.exit_code == 0, result.stderr
    change = json.loads(result.stdout)["change"]
    f08 = next(f for f in change["factors"] if f["key"] == "F08")
    assert (f08["before_status"], f08["after_status"], f08["worse"]) == ("pass", "fail", True)
    assert change["headline"].startswith("Since main: F08 worse (pass 10.0 -> fail")
    unchanged = next(f for f in change["factors"] if f["key"] == "F02")
    assert unchanged["before_status"] == unchanged["after_status"] and not unchanged["worse"]
    text = invoke("audit", "--diff-base", "main", str(project)).stdout
    assert "Since main: F08 worse" in text
    markdown = invoke("audit", "--diff-base", "main", "--output-format", "markdown", str(project)).stdout
    assert "## Change since `main`" in markdown and "| F08 | pass 10.0 | fail" in markdown
