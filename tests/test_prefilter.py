"""The byte prefilter skips files nothing agent-related can reach, and loses nothing."""

from __future__ import annotations

from helpers import AGENT, write

from factorlint import api
from factorlint.config import Overrides, resolve_settings

WRAPPER = "from openai import OpenAI\nclient = OpenAI()\n\ndef ask(messages):\n    return client.chat.completions.create(model='m', messages=messages)\n"
CALLER = "from app.llm import ask\n\ndef run(messages):\n    while True:\n        messages.append(ask(messages))\n"


def _report(root):
    return api.lint_paths([root], resolve_settings(root, Overrides(isolated=True), root))


def test_unrelated_files_are_skipped_and_agent_files_are_not(tmp_path):
    write(tmp_path, {"agent.py": AGENT, "util.py": "import os\n\ndef here():\n    return os.getcwd()\n"})
    report = _report(tmp_path)
    skipped = {f.path: f.skipped for f in report.files}
    assert skipped == {"agent.py": False, "util.py": True}
    assert {f.path for f in report.findings} == {"agent.py"}
    assert all(f.lines for f in report.files)


def test_a_caller_of_a_project_wrapper_is_analysed(tmp_path):
    write(tmp_path, {"app/__init__.py": "", "app/llm.py": WRAPPER, "app/loop.py": CALLER})
    report = _report(tmp_path)
    assert [(f.path, f.code) for f in report.findings if f.code == "TFA0802"] == [("app/loop.py", "TFA0802")]


def test_skipped_files_still_report_syntax_errors_secrets_and_suppressions(tmp_path):
    key = "sk-proj-" + "Q8f2LmZx7RtY1wVb3NcK9pHs"
    write(tmp_path, {
        "broken.py": "def (:\n",
        "settings.py": f'OPENAI_API_KEY = "{key}"\n',
        "noted.py": "x = 1  # factorlint: ignore[TFA0802]\n",
    })
    report = _report(tmp_path)
    assert {(d.path, d.code) for d in report.diagnostics} == {("broken.py", "TFA0001")}
    codes = {(f.path, f.code) for f in report.findings}
    assert ("settings.py", "TFS003") in codes and ("noted.py", "TFA0002") in codes
