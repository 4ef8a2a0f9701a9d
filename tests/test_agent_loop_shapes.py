"""Agent loops written the ways real applications write them, each seen by the engine.

Each case is a project of a few files, modelled on a shape read in an application on PyPI
(gptme, rawdog, metagpt). The inventory must list the loop with the expected standing, and
TFA0802 (an agent loop no bound stops) must fire exactly where the loop is unbounded.
"""

from __future__ import annotations

import textwrap

from factorlint.api import lint_paths
from factorlint.config import Overrides, resolve_settings

LLM = """
from openai import OpenAI

client = OpenAI()

def complete(messages):
    return client.chat.completions.create(model="m", messages=messages)
"""


def _lint(tmp_path, files: dict[str, str]):
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in files.items():
        (package / name).write_text(textwrap.dedent(source).lstrip("\n"))
    settings = resolve_settings(tmp_path, Overrides(isolated=True), tmp_path)
    report = lint_paths([tmp_path], settings, jobs=0)
    loops = {(s.path, s.line): s.detail for s in report.sites if s.kind == "loop"}
    unbounded = {(f.path, f.line) for f in report.findings if f.code == "TFA0802"}
    return loops, unbounded


def test_a_loop_six_wrappers_away_from_the_model_is_seen(tmp_path):
    """gptme: the chat loop calls ``step``, which reaches the SDK through five project functions
    in three modules."""
    files = {
        "llm.py": LLM,
        "reply.py": """
            from app.llm import complete

            def _after_hooks(messages):
                return complete(messages)

            def reply(messages):
                return _after_hooks(messages)
            """,
        "chat.py": """
            from app.reply import reply

            def _generate(messages):
                return reply(messages)

            def _with_recovery(messages):
                return _generate(messages)

            def step(log):
                return _with_recovery(log)

            def run(log):
                while True:
                    log.append(step(log))
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops[("app/chat.py", 13)]["bounded"] is False
    assert unbounded == {("app/chat.py", 13)}


def test_a_closure_handed_to_a_helper_is_called_by_the_caller(tmp_path):
    """gptme's ``_reply_with_overflow_recovery`` defines ``generate`` (which calls the model) and
    hands it to ``recover_reply(generate, ...)``: the caller reaches the model through it."""
    files = {
        "llm.py": LLM,
        "recovery.py": """
            def recover(generate, messages):
                try:
                    return generate(messages)
                except ValueError:
                    return generate(messages[-4:])
            """,
        "chat.py": """
            from app.llm import complete
            from app.recovery import recover

            def step(log):
                def generate(messages):
                    return complete(messages)
                return recover(generate, log)

            def step_by_name(log):
                return recover(complete, log)

            def run(log):
                while True:
                    log.append(step(log))

            def run_by_name(log):
                while True:
                    log.append(step_by_name(log))
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert unbounded == {("app/chat.py", 13), ("app/chat.py", 17)}
    assert set(loops) == {("app/chat.py", 13), ("app/chat.py", 17)}


def test_a_function_imported_inside_the_enclosing_function_is_followed(tmp_path):
    """gptme's ACP agent imports ``step as chat_step`` in ``prompt()`` and loops over it in a
    nested ``run_chat_turn``."""
    files = {
        "llm.py": LLM,
        "agent.py": """
            class Agent:
                def prompt(self, text):
                    from .llm import complete as chat_step

                    def run_turn():
                        log = [text]
                        while True:
                            log.extend(chat_step(log))

                    return run_turn()
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert set(loops) == unbounded == {("app/agent.py", 7)}


def test_a_loop_that_asks_a_person_through_a_project_function_is_a_conversation(tmp_path):
    """gptme's REPL gets each prompt from ``_get_user_input()`` (another module reads the console),
    metagpt's planner from ``ask_review()``: a person bounds the loop."""
    files = {
        "llm.py": LLM,
        "console.py": """
            def read_line():
                return input("> ")

            def get_user_input():
                text = read_line()
                return text.strip()
            """,
        "chat.py": """
            from app.console import get_user_input
            from app.llm import complete

            def repl(log):
                while True:
                    if log and log[-1] == "queued":
                        log.pop()
                    else:
                        log.append(get_user_input())
                    log.append(complete(log))
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    detail = loops[("app/chat.py", 5)]
    assert detail["human_gated"] is True and detail["bounded"] is True
    assert "get_user_input" in detail["bound"]
    assert unbounded == set()


def test_a_prompt_asked_only_on_some_path_does_not_gate_the_loop(tmp_path):
    """rawdog asks "install this package?" only when a script fails on a missing module: the
    loop around the function that may ask is still the model's to stop."""
    files = {
        "llm.py": LLM,
        "run.py": """
            def execute(script):
                output = script.upper()
                if "ModuleNotFoundError" in output:
                    if input("Install? (Y/n)") != "n":
                        output = "installed"
                return output
            """,
        "main.py": """
            from app.llm import complete
            from app.run import execute

            def rawdog(log):
                again = True
                while again:
                    script = complete(log)
                    output = execute(script)
                    log.append(output)
                    again = output.endswith("CONTINUE")
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops[("app/main.py", 6)]["human_gated"] is False
    assert unbounded == {("app/main.py", 6)}
