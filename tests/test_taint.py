"""The taint engine behind the TFS rules: flows, guards, tools, one call deep; and its tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import expected_findings, run_example

from factorlint.engine.taint.analyser import host_is_fixed
from factorlint.knowledge import load_knowledge

RULES = Path(__file__).resolve().parents[1] / "rules"
ALL = {"TFS001", "TFS002", "TFS005", "TFS006", "TFS007", "TFS008"}


def check(tmp_path, source, codes=ALL) -> None:
    """The findings are exactly the lines marked ``# expect: CODE``."""
    files, report = run_example(tmp_path, source, set(codes))
    assert not report.diagnostics, report.diagnostics
    found = {(f.path, f.line, f.code) for f in report.findings}
    assert found == {e for e in expected_findings(files) if e[2] in codes}


HEADER = """
import shlex
import subprocess
from openai import OpenAI
client = OpenAI()

def reply(messages):
    return client.chat.completions.create(model="m", messages=messages).choices[0].message.content
"""


def test_a_taint_in_one_branch_reaches_the_sink_after_it(tmp_path):
    source = HEADER + """
def act(messages, fast):
    if fast:
        command = "ls"
    else:
        command = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
    subprocess.run(command, shell=True)  # expect: TFS002
"""
    check(tmp_path, source)


def test_a_clean_reassignment_clears_the_taint(tmp_path):
    source = HEADER + """
def act(messages):
    command = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
    command = "ls -la"
    subprocess.run(command, shell=True)
    code = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
    code = shlex.quote(code)
    subprocess.run("echo " + code, shell=True)
    eval(code)  # expect: TFS001
"""
    # shlex.quote protects the shell, not eval.
    check(tmp_path, source)


def test_a_value_carried_round_a_loop(tmp_path):
    source = HEADER + """
def act(messages):
    previous = "print(1)"
    for _ in range(3):
        exec(previous)  # expect: TFS001
        previous = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
"""
    check(tmp_path, source)


def test_tool_calls_streams_and_containers(tmp_path):
    source = HEADER + """
import json

def act(messages, tools):
    message = client.chat.completions.create(model="m", messages=messages, tools=tools).choices[0].message
    for call in message.tool_calls or []:
        args = json.loads(call.function.arguments)
        subprocess.run(["sh", "-c", args["cmd"]])  # expect: TFS002
    stream = client.chat.completions.create(model="m", messages=messages, stream=True)
    parts = []
    for chunk in stream:
        parts.append(chunk.choices[0].delta.content or "")
    exec("".join(parts))  # expect: TFS001
"""
    check(tmp_path, source)


def test_guards_have_a_polarity(tmp_path):
    source = HEADER + """
ALLOWED = {"ls", "pwd"}

def act(messages):
    command = reply(messages)
    if command in ALLOWED:
        subprocess.run(command, shell=True)
    if command not in ALLOWED:
        subprocess.run(command, shell=True)  # expect: TFS002
    if command == "status" or len(command) > 2:
        subprocess.run(command, shell=True)  # expect: TFS002
    if command not in ALLOWED:
        return None
    return subprocess.run(command, shell=True)
"""
    check(tmp_path, source)


def test_same_file_functions_one_call_deep(tmp_path):
    source = HEADER + """
class Runner:
    def run(self, snippet):
        exec(snippet)

    def clean(self, text):
        return text.strip()

    def step(self, messages):
        text = self.clean(reply(messages))
        self.run(text)  # expect: TFS001
        self.run("print('fixed')")
"""
    check(tmp_path, source)


def test_tools_registered_with_an_agent_after_their_definition(tmp_path):
    source = """
import subprocess
from pydantic_ai import Agent
from langchain_core.tools import BaseTool

def shell(command: str) -> str:
    return subprocess.getoutput(command)  # expect: TFS002

def count(limit: int) -> str:
    return subprocess.getoutput(f"seq {limit}")  # expect: TFS002

agent = Agent("openai:gpt-4o", tools=[shell, count])

class Base(BaseTool):
    pass

class Grep(Base):
    name: str = "grep"
    description: str = "grep"

    def _run(self, pattern: str, run_manager=None) -> str:
        return subprocess.getoutput("grep " + pattern + " log.txt")  # expect: TFS002
"""
    # ``limit: int`` carries no text; the int-typed tool still runs a shell: a warning.
    check(tmp_path, source, {"TFS002"})
    _, report = run_example(tmp_path, source, {"TFS002"})
    assert sorted(f.severity for f in report.findings) == ["error", "error", "warning"]


def test_web_text_in_a_system_prompt_is_opt_in(tmp_path):
    source = """
import httpx
import anthropic
client = anthropic.Anthropic()

def answer(url, question):
    page = httpx.get(url).text
    return client.messages.create(model="m", max_tokens=10, system="Use: " + page,  # expect: TFS008
                                  messages=[{"role": "user", "content": question}])
"""
    check(tmp_path, source, ALL - {"TFS008"})
    check(tmp_path, source, {"TFS008"})


@pytest.mark.parametrize(
    ("lead", "fixed"),
    [
        ("", False),
        ("https://", False),
        ("http://", False),
        ("https://api.example.com/v1?q=", True),
        ("\0/repos/", True),
        ("https://\0.api.example.com/", True),
        ("https://\0", False),
        ("/search?q=", True),
    ],
)
def test_a_url_host_is_fixed_by_the_text_before_the_model_part(lead, fixed):
    assert host_is_fixed(lead) is fixed


# ------------------------------------------------------------------------------------------------
# The security tables


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(RULES)


def test_sink_facts(knowledge):
    assert knowledge.sinks.first("builtins.eval").kind == "code"
    shell = knowledge.sinks.first("subprocess.run")
    assert shell.kind == "shell" and shell.when_keyword == "shell" and shell.argv_shell
    assert knowledge.sinks.first("os.system").when_keyword is None
    yaml_load = knowledge.sinks.first("yaml.load")
    assert yaml_load.safe_keyword == "Loader" and "yaml.SafeLoader" in yaml_load.safe_values
    assert knowledge.sinks.first("sqlite3.connect().cursor().execute").interpolation_only
    assert knowledge.sinks.first("sqlalchemy.text").kind == "sql"
    assert knowledge.sinks.first("requests.request").arguments == [1]
    assert not knowledge.sinks.first("urllib.request.Request").untrusted_result
    assert knowledge.sinks.first("yaml.safe_load") is None
    assert knowledge.sanitisers.first("shlex.quote").kinds == ["shell"]
    assert {"_run", "forward"} <= knowledge.tool_methods


def test_code_execution_facts(knowledge):
    smol = knowledge.unsafe_settings.first("smolagents.CodeAgent")
    assert smol.sandbox_default == "local" and {"docker", "e2b"} <= set(smol.sandbox_values)
    assert {"*", "os", "subprocess"} <= set(smol.elements)
    autogen = knowledge.unsafe_settings.first("autogen.UserProxyAgent")
    assert autogen.dict_key == "use_docker" and autogen.values == [False]
    assert knowledge.unsafe_settings.first("crewai.Agent").values == ["unsafe"]

    def isolation(qualname):
        return {c.isolation for c in knowledge.components.get(qualname) if c.role == "code_executor"}

    assert "sandbox" in isolation("dspy.PythonInterpreter")
    assert "restricted" in isolation("smolagents.LocalPythonExecutor")
    assert isolation("langchain_experimental.tools.PythonREPLTool") == {None}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("sk-proj-Q7fL2mZ9vR4tK8wN1cB6hJ3pX0sD5gY", "OpenAI API key"),
        ("sk-ant-api03-Vb7Kq2Lm9Zt4Rx8Wn1Yc6Hp3Jd0Sf5Ga", "Anthropic API key"),
        ("AIzaSyQ7fL2mZ9vR4tK8wN1cB6hJ3pX0sD5gYaL", "Google API key"),
        ("gsk_Q7fL2mZ9vR4tK8wN1cB6hJ3pX0sD5gY", "Groq API key"),
        ("AKIAQ7FL2MZ9VR4TK8WN", "AWS access key id"),
    ],
)
def test_secret_patterns(knowledge, text, name):
    matched = [p.name for p in knowledge.secret_patterns if re.search(p.pattern, text)]
    assert matched[:1] == [name]


def test_short_and_public_keys_match_no_pattern_or_are_public(knowledge):
    assert not any(re.search(p.pattern, "sk-test") for p in knowledge.secret_patterns)
    assert any(re.search(p, "phc_Q7fL2mZ9vR4tK8wN1cB6hJ3pX0sD5gYaLeWu") for p in knowledge.placeholder_patterns)
