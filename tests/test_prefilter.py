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


# ---------------------------------------------------------------- the screens, kind by kind

import re  # noqa: E402

import pytest  # noqa: E402

from factorlint.engine.read import prefilter  # noqa: E402
from factorlint.engine.read.secret_formats import KeyFormats, has_key_format, without_leading_lookbehind  # noqa: E402
from factorlint.knowledge import default_knowledge  # noqa: E402


@pytest.mark.parametrize(("pattern", "rest"), [
    (r"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}", r"sk-ant-[A-Za-z0-9_-]{20,}"),
    (r"(?<=[(])AIza[0-9]{3}", r"AIza[0-9]{3}"),  # a parenthesis inside the class is not one
    (r"(?<![]a])x", r"x"),  # nor a "]" that opens the class
    (r"(?<!\))y", r"y"),  # nor an escaped one
    (r"(?<!(?:ab|cd))z", r"z"),  # groups nest
    (r"sk-[a-z]{20}", r"sk-[a-z]{20}"),  # no lookbehind: as written
    (r"(?<!a", r"(?<!a"),  # unbalanced: as written
    (r"(?<=(a))(b)\1", r"(?<=(a))(b)\1"),  # a group inside: \1 would name another group
])
def test_the_leading_lookbehind_is_taken_off(pattern, rest):
    assert without_leading_lookbehind(pattern) == rest


KEY = "sk-proj-" + "Q8f2LmZx7RtY1wVb3NcK9pHs"
TEXTS = [
    "",
    f'client = OpenAI(api_key="{KEY}")\n',
    f"task-{KEY[3:]}\n",  # "sk-" inside a word: the lookbehind refuses it
    f"task-{KEY[3:]} and then {KEY}\n",  # a refused candidate before a real key
    "x = 'AIza" + "B" * 35 + "'\n",
    "x = 'AIza" + "B" * 36 + "'\n",  # one too long
    "def f():\n    return 1\n",
]


@pytest.mark.parametrize("text", TEXTS)
def test_key_formats_answer_as_the_patterns_do(text):
    knowledge = default_knowledge()
    patterns = [spec.pattern for spec in knowledge.secret_patterns]
    assert has_key_format(text, knowledge) == any(re.search(p, text) for p in patterns)


def test_a_format_that_cannot_be_searched_alone_is_searched_as_written():
    formats = KeyFormats((r"(?i)abc", r"(?<![a-z])tok_[0-9]{4}"))  # a global flag: not joined
    assert formats.combined is None
    assert formats.found_in("ABC") and formats.found_in("tok_1234") and not formats.found_in("xtok_1234")


def _one_alternation(knowledge, roots: frozenset) -> re.Pattern:
    """What the screen answers, as a single search of every kind at once."""
    imports = prefilter._imports(set(knowledge._package_roots) | set(roots), relative=True)
    secrets = [spec.pattern for spec in knowledge.secret_patterns]
    words = "(?i:" + "|".join(re.escape(w) for w in sorted(knowledge.credential_keywords)) + ")"
    always = [re.escape(w) for w in prefilter._ALWAYS]
    guarded = [pattern for _, pattern in (*prefilter._CONSOLE, *prefilter._RUNS_CODE)]
    return re.compile("|".join([imports, *secrets, words, *always, *guarded]), re.M)


@pytest.mark.parametrize("text", [
    *TEXTS,
    "import os\nfrom app import llm\n",
    "from . import llm\n",
    "import json, openai as oa\n",
    "x = input('name? ')\n",
    "userinput(1)\n",  # not the built-in
    "subprocess.run(cmd)\n",
    "OPENAI_API_KEY = os.environ['X']\n",
    "ACCESS_\u212aEY = 1\n",  # no keyword, in any case
    "secret_\u212aey = 1\n",  # the Kelvin sign lower-cases to k
    "\u017fecret_key = 1\n",  # the long s does not, yet a case-insensitive search pairs it with s
    "# noqa\n",
    "def f(x):\n    return x * 2\n",
])
def test_the_prefilter_answers_as_one_search_of_every_trigger(text):
    knowledge = default_knowledge()
    settings = type("S", (), {"llm_functions": (), "project_roots": ("app",)})()
    expected = _one_alternation(knowledge, frozenset({"app"})).search(text) is not None
    assert prefilter.could_matter(text, knowledge, settings) == expected
