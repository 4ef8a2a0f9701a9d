"""The GitHub Action (action.yml): its metadata checked by actionlint through the workflow that
uses it, and its run steps executed here as the runner would, on a project with findings."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import AGENT, write

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def _step(name: str) -> dict:
    return next(step for step in ACTION["runs"]["steps"] if step["name"] == name)


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="needs actionlint")
def test_actionlint_accepts_the_action_and_its_workflow():
    result = subprocess.run(
        ["actionlint", "-no-color", str(ROOT / ".github" / "workflows" / "factorlint.yml")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_action_declares_what_its_steps_read():
    inputs = set(ACTION["inputs"])
    for step in ACTION["runs"]["steps"]:
        for value in [*step.get("env", {}).values(), *step.get("with", {}).values(), step.get("if", "")]:
            for name in inputs:
                text = str(value)
                if f"inputs.{name}" in text:
                    break
            else:
                assert "inputs." not in str(value), value
        assert "${{" not in step.get("run", ""), "run scripts read inputs through env, never inline"


@pytest.mark.skipif(sys.platform == "win32" or shutil.which("bash") is None, reason="needs bash")
def test_the_run_steps_gate_annotate_and_write_sarif(project, tmp_path_factory):
    write(project, {"agent.py": AGENT, "clean.py": "x = 1\n"})
    tools = tmp_path_factory.mktemp("tools")
    factorlint = tools / "factorlint"
    factorlint.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m factorlint "$@"\n', encoding="utf-8")
    factorlint.chmod(factorlint.stat().st_mode | stat.S_IEXEC)
    outputs = tools / "github_output"
    outputs.touch()
    env = {
        **os.environ,
        "FACTORLINT": str(factorlint), "GITHUB_OUTPUT": str(outputs),
        "INPUT_PATHS": ".", "INPUT_ARGS": "--select TFA08", "INPUT_BASELINE": "", "INPUT_DIFF_BASE": "",
        "INPUT_SARIF_FILE": "results.sarif",
    }
    run = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _step("Run factorlint")["run"]],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("::error file=agent.py,line=5,col=5")
    sarif = json.loads((project / "results.sarif").read_text(encoding="utf-8"))
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["TFA0802"]
    recorded = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines())
    assert recorded == {"sarif-file": "results.sarif", "exit-code": "1"}
    fail = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _step("Fail on findings")["run"]],
        env={**os.environ, "CODE": recorded["exit-code"]}, check=False,
    )
    assert fail.returncode == 1
    # A baseline of today's findings: the same steps pass.
    subprocess.run([str(factorlint), "check", ".", "--write-baseline", "baseline.json"], cwd=project, check=True,
                   capture_output=True)
    outputs.write_text("", encoding="utf-8")
    env["INPUT_BASELINE"] = "baseline.json"
    run = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _step("Run factorlint")["run"]],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0 and run.stdout == ""
    assert "exit-code=0" in outputs.read_text(encoding="utf-8")


@pytest.mark.skipif(sys.platform == "win32" or shutil.which("bash") is None, reason="needs bash")
def test_the_gitlab_template_writes_code_quality(project, tmp_path_factory):
    template = yaml.safe_load((ROOT / "docs" / "factorlint.gitlab-ci.yml").read_text(encoding="utf-8"))
    job = template["factorlint"]
    assert job["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json"
    write(project, {"agent.py": AGENT})
    tools = tmp_path_factory.mktemp("tools")
    (tools / "factorlint").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m factorlint "$@"\n', encoding="utf-8")
    (tools / "factorlint").chmod(0o755)
    env = {**os.environ, **job["variables"], "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    script = job["script"][1:]  # after the install
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=project, env=env, capture_output=True, text=True,
                         check=False)
    assert run.returncode == 1, run.stderr
    assert run.stdout.startswith("agent.py:5:5: TFA0802")
    report = json.loads((project / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    assert [e["check_name"] for e in report] == ["TFA0802"]
