"""The audit's fix plan shows, for a rule that can fix its findings, the change --fix makes to
the user's own code; for the others, the advice and the rule's example."""

from __future__ import annotations

import json

from helpers import STATEFUL, invoke, write

RETRY = (
    "from openai import OpenAI\n"
    "from tenacity import retry\n\n"
    "client = OpenAI()\n\n"
    "@retry\n"
    "def ask(messages):\n"
    "    return client.chat.completions.create(model='m', messages=messages)\n"
)


def _plan(project) -> dict:
    result = invoke("audit", str(project), "--output-format", "json")
    assert result.exit_code == 0, result.stderr
    return {item["code"]: item for item in json.loads(result.stdout)["fix_plan"]}


def test_the_plan_shows_the_fix_on_the_users_code(project):
    write(project, {"agent.py": RETRY, "chat.py": STATEFUL})
    plan = _plan(project)
    diff = plan["TFA0901"]["diff"]
    assert diff.startswith("--- a/agent.py\n+++ b/agent.py\n")
    assert "-@retry\n" in diff and "+@retry(stop=stop_after_attempt(3))\n" in diff
    assert "+from tenacity import stop_after_attempt\n" in diff
    assert plan["TFA0901"]["after"] == ""
    assert plan["TFA1201"]["diff"] == "" and plan["TFA1201"]["after"]  # no fix: the rule's example
    markdown = invoke("audit", str(project), "--output-format", "markdown").stdout
    assert "The change `factorlint check --fix --unsafe-fixes` makes here:" in markdown
    assert "+@retry(stop=stop_after_attempt(3))" in markdown
    assert "+@retry(stop=stop_after_attempt(3))" in invoke("audit", str(project)).stdout


def test_no_diff_once_the_file_changed(project):
    """The diff describes the bytes that were analysed: a file changed since shows none."""
    from factorlint.api import lint_paths
    from factorlint.audit.plan import first_fix_diff
    from factorlint.config import Overrides, resolve_settings

    write(project, {"agent.py": RETRY})
    report = lint_paths([project], resolve_settings(project, Overrides(isolated=True)), jobs=0)
    findings = [f for f in report.findings if f.code == "TFA0901"]
    assert first_fix_diff(report, findings)
    (project / "agent.py").write_text(RETRY + "\n# edited\n", encoding="utf-8")
    assert first_fix_diff(report, findings) == ""
