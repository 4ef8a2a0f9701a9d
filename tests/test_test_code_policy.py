"""Test and example code is listed, not judged: the factor rules skip it unless asked, and the
hard-coded key rule runs on it either way (docs/violations.md, "Test code")."""

from __future__ import annotations

import json

from helpers import invoke, write

AGENT = '''
from openai import OpenAI
client = OpenAI()
KEY = "sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e"

def run(messages):
    while True:
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
        if reply.choices[0].finish_reason == "stop":
            break
'''


def _codes(result) -> set[tuple[str, str]]:
    return {(f["path"], f["code"]) for f in json.loads(result.stdout)["findings"]}


def test_factor_rules_skip_tests_and_examples_by_default(tmp_path):
    project = tmp_path / "p"
    write(project, {"agent.py": AGENT, "tests/test_agent.py": AGENT, "examples/demo.py": AGENT})
    found = _codes(invoke("check", str(project), "--isolated", "--no-cache", "--output-format", "json"))
    assert ("agent.py", "TFA0802") in found and ("agent.py", "TFS003") in found
    # A committed key leaks from a test as from anywhere; the factor rules stay quiet there.
    assert {c for p, c in found if p != "agent.py"} == {"TFS003"}


def test_a_setting_and_a_flag_bring_them_back(tmp_path):
    project = tmp_path / "p"
    write(project, {"tests/test_agent.py": AGENT})
    flag = _codes(invoke("check", str(project), "--isolated", "--no-cache", "--check-test-code", "--output-format", "json"))
    assert ("tests/test_agent.py", "TFA0802") in flag
    write(project, {"pyproject.toml": "[tool.factorlint]\ncheck-test-code = true\n"})
    configured = _codes(invoke("check", str(project), "--no-cache", "--output-format", "json"))
    assert ("tests/test_agent.py", "TFA0802") in configured
    off = _codes(invoke("check", str(project), "--no-cache", "--no-check-test-code", "--output-format", "json"))
    assert ("tests/test_agent.py", "TFA0802") not in off


def test_the_inventory_still_lists_what_tests_build(tmp_path):
    project = tmp_path / "p"
    write(project, {"agent.py": AGENT, "tests/test_agent.py": AGENT})
    data = json.loads(invoke("audit", str(project), "--isolated", "--no-cache", "--output-format", "json").stdout)
    listed = {(s["path"], s["kind"]) for s in data["inventory"]["test_code"]}
    assert listed == {("tests/test_agent.py", "llm_call"), ("tests/test_agent.py", "loop")}
    assert all(s["path"] == "agent.py" for s in data["inventory"]["loops"])


def test_what_counts_as_test_and_example_code():
    from factorlint.engine.read.file_roles import file_role

    assert file_role("evals/simple_evals/simpleqa_eval.py") == "test"
    assert file_role("benchmarks/run.py") == "test"
    assert file_role("backend/report_type/deep_research/example.py") == "example"
    assert file_role("app/chat_demo.py") == "example"
    # A product's own evaluation command and modules named like a feature stay application code.
    assert file_role("gptme/eval/run.py") == "app"
    assert file_role("app/examples_loader.py") == "app"
    assert file_role("app/agent.py") == "app"
