"""The model-reply tracker (engine/recognise/responses.py) and the factor-1/3 options."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from helpers import run_example

from factorlint.config import FileConfig, Settings
from factorlint.engine.recognise.responses import parse_path, render_path, tracker
from factorlint.engine.semantic.context import FileContext
from factorlint.knowledge import default_knowledge


def _context(source: str) -> FileContext:
    module = cst.parse_module(source)
    settings = Settings(root=Path("."), config_path=None, enabled=set())
    return FileContext("example.py", module, source, "example", "", default_knowledge(), settings)


def _in_function(ctx: FileContext, name: str) -> cst.FunctionDef:
    function = ctx.scan.module_functions[name]
    ctx.function_stack = [function]
    return function


def _returned(function: cst.FunctionDef) -> cst.BaseExpression:
    statement = function.body.body[-1]
    return statement.body[0].value


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("", ()),
        ("content", ("content",)),
        ("choices[].message.content", ("choices", "[]", "message", "content")),
        ("content[].text", ("content", "[]", "text")),
        ("[]", ("[]",)),
    ],
)
def test_paths_round_trip(text, path):
    assert parse_path(text) == path
    assert render_path(path).lstrip(".") == text


SOURCE = '''
from openai import OpenAI
from langchain_openai import ChatOpenAI
client = OpenAI()
llm = ChatOpenAI(model="m")
planner = llm.with_structured_output(Plan)

def prose(msgs):
    resp = client.chat.completions.create(model="m", messages=msgs)
    msg = resp.choices[0].message
    text = msg.content
    text = text.strip()
    return text

def json_mode(msgs):
    options = {"temperature": 0}
    options["response_format"] = {"type": "json_object"}
    return client.chat.completions.create(model="m", messages=msgs, **options).choices[0].message.content

def unknown(msgs, **options):
    return client.chat.completions.create(model="m", messages=msgs, **options).choices[0].message.content

def tools(msgs, tool_list):
    resp = client.chat.completions.create(model="m", messages=msgs, tools=tool_list)
    for call in resp.choices[0].message.tool_calls:
        name = call.function.name
    return name

def structured(q):
    return planner.invoke(q).content

def mixed(msgs, fallback):
    text = client.chat.completions.create(model="m", messages=msgs).choices[0].message.content
    if not text:
        text = fallback
    return text
'''


def test_text_is_followed_through_assignments_and_text_methods():
    ctx = _context(SOURCE)
    function = _in_function(ctx, "prose")
    origin = tracker(ctx).origin(_returned(function))
    assert origin is not None and origin.is_text and origin.mode == "prose"
    assert origin.path == ("choices", "[]", "message", "content")


@pytest.mark.parametrize(
    ("function", "mode"),
    [("json_mode", "structured"), ("unknown", "unknown"), ("structured", "structured")],
)
def test_modes(function, mode):
    ctx = _context(SOURCE)
    node = _in_function(ctx, function)
    origin = tracker(ctx).origin(_returned(node))
    assert origin is not None and origin.mode == mode
    assert tracker(ctx).reply_text(_returned(node)) is None


def test_tool_names_are_followed_through_for_loops():
    ctx = _context(SOURCE)
    node = _in_function(ctx, "tools")
    found = tracker(ctx).dispatch_key(_returned(node))
    assert found is not None and found[1] == "tool"


def test_a_name_with_an_unknown_second_source_is_not_reply_text():
    ctx = _context(SOURCE)
    node = _in_function(ctx, "mixed")
    assert tracker(ctx).origin(_returned(node)) is None


COMPACTED = {
    "llm.py": """
import litellm

def complete(messages):
    return litellm.completion(model="m", messages=messages, tools=[])
""",
    "agent.py": """
from llm import complete

def chat(messages):
    while True:
        messages.append({"role": "user", "content": input("> ")})
        fit_to_budget(messages)
        reply = complete(messages)
        messages.append(reply.choices[0].message)
""",
}


def test_compaction_functions_option_names_a_helper(tmp_path):
    _, report = run_example(tmp_path / "default", COMPACTED, {"TFA0302"})
    assert [f.code for f in report.findings] == ["TFA0302"]
    _, report = run_example(
        tmp_path / "configured", COMPACTED, {"TFA0302"}, compaction_functions=("fit_to_budget",)
    )
    assert report.findings == []


def test_an_agent_loop_history_is_left_to_its_step_bound(tmp_path):
    """docs/violations.md, factor 3: a bounded loop's growth is limited by its bound, and an
    unbounded one is TFA0802's finding; only a conversation a person drives is reported."""
    bounded = """
from openai import OpenAI
client = OpenAI()

def run(messages):
    for _ in range(30):
        messages.append(client.chat.completions.create(model="m", messages=messages, tools=[]))
"""
    _, report = run_example(tmp_path / "bounded", bounded, {"TFA0302", "TFA0802"})
    assert report.findings == []
    unbounded = bounded.replace("for _ in range(30):", "while True:")
    _, report = run_example(tmp_path / "unbounded", unbounded, {"TFA0302", "TFA0802"})
    assert [f.code for f in report.findings] == ["TFA0802"]


def test_options_are_configuration_keys():
    config = FileConfig.model_validate({"compaction-functions": ["myapp.ctx.*"]})
    assert config.compaction_functions == ["myapp.ctx.*"]

