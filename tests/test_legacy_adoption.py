"""Adopting the gate on a legacy monorepo, end to end: two services with their own pyproject.toml
and a dozen findings between them; a baseline lets the pipeline pass on day one, a new violation
fails it alone, a fixed one is listed, and a pull request gated with --diff-base reports only
what it adds while the audit shows the factor it makes worse."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from helpers import STATEFUL, invoke, write

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

BOUNDED = '''\
from openai import OpenAI
client = OpenAI()

def run(messages, tools):
    for _ in range(10):
        reply = client.chat.completions.create(model="m", messages=messages[-20:], tools=tools)
        messages.append(reply.choices[0].message)
'''
UNBOUNDED = BOUNDED.replace("    for _ in range(10):", "    while True:")


def _stateful(name: str) -> str:
    return STATEFUL.replace("HISTORY", name).replace("def chat", f"def chat_{name.lower()}")


def _git(root, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def _legacy(root) -> None:
    files = {
        "services/billing/pyproject.toml": '[project]\nname = "billing"\n\n[tool.factorlint]\nignore = ["TFA0203"]\n',
        "services/search/pyproject.toml": '[project]\nname = "search"\n\n[tool.factorlint]\nextend-exclude = ["generated"]\n',
        "services/billing/loop.py": BOUNDED,
        "services/search/loop.py": BOUNDED,
        "services/search/generated/client.py": UNBOUNDED,  # excluded by the service's own config
    }
    for index in range(6):
        files[f"services/billing/state_{index}.py"] = _stateful(f"BILLING_{index}")
        files[f"services/search/state_{index}.py"] = _stateful(f"SEARCH_{index}")
    write(root, files)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "legacy")


def _check(*args: str) -> tuple[int, dict]:
    result = invoke("check", "--output-format", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def test_a_legacy_monorepo_adopts_the_gate(project):
    _legacy(project)
    code, report = _check(".")
    assert code == 1 and len(report["findings"]) == 12
    assert {f["code"] for f in report["findings"]} == {"TFA1201"}

    # Day one: record the debt, and the pipeline passes.
    result = invoke("check", ".", "--write-baseline", "factorlint-baseline.json")
    assert result.exit_code == 0
    code, report = _check(".", "--baseline", "factorlint-baseline.json")
    assert code == 0 and report["findings"] == [] and report["baseline"]["known"] == 12

    # A new violation fails the pipeline, alone.
    write(project, {"services/search/agent.py": UNBOUNDED})
    code, report = _check(".", "--baseline", "factorlint-baseline.json")
    assert code == 1
    assert [(f["path"], f["code"]) for f in report["findings"]] == [("services/search/agent.py", "TFA0802")]
    (project / "services/search/agent.py").unlink()

    # Paying the debt down: a fixed finding is listed as fixed.
    (project / "services/billing/state_0.py").unlink()
    code, report = _check(".", "--baseline", "factorlint-baseline.json")
    assert code == 0
    assert [(e["path"], e["code"]) for e in report["baseline"]["fixed"]] == [("services/billing/state_0.py", "TFA1201")]


def test_a_pull_request_gated_on_the_lines_it_changes(project):
    _legacy(project)
    _git(project, "checkout", "-q", "-b", "feature")
    write(project, {
        "services/billing/loop.py": UNBOUNDED,
        "services/billing/state_1.py": "import os\n" + _stateful("BILLING_1"),  # an edit above old debt
    })
    _git(project, "commit", "-q", "-am", "loop without a bound")
    code, report = _check(".", "--diff-base", "main")
    assert code == 1
    assert [(f["path"], f["code"]) for f in report["findings"]] == [("services/billing/loop.py", "TFA0802")]

    result = invoke("audit", ".", "--diff-base", "main", "--output-format", "json")
    change = json.loads(result.stdout)["change"]
    f08 = next(f for f in change["factors"] if f["key"] == "F08")
    assert (f08["before_status"], f08["after_status"], f08["worse"]) == ("pass", "fail", True)
    assert change["headline"].startswith("Since main: F08 worse")
    text = invoke("audit", ".", "--diff-base", "main").stdout
    assert "Since main: F08 worse (pass 10.0 -> fail" in text
