"""Fixes on generated sources: the fixed code parses, a second --fix changes nothing, and no line
outside a fix's own range (or the import block it extends) changes."""

from __future__ import annotations

import difflib

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from factorlint.api import apply_fixes, lint_paths
from factorlint.config import Overrides, resolve_settings

HEADER = (
    "import logging\n"
    "import yaml\n"
    "from langchain.agents import AgentExecutor\n"
    "from langchain.chains import ConversationChain\n"
    "from langchain.memory import ConversationBufferMemory\n"
    "from langchain_core.tools import tool\n"
    "from openai import OpenAI\n"
    "from tenacity import retry\n\n"
    "client = OpenAI()\n"
    "logger = logging.getLogger(__name__)\n"
)
# Each fixable pattern as a top-level block; {n} makes names unique.
PATTERNS = [
    "@retry\ndef ask_{n}(messages):\n    return client.chat.completions.create(model='m', messages=messages)\n",
    "def loop_{n}(messages):\n{pad}while True:\n{pad}{pad}reply = client.chat.completions.create(model='m', messages=messages)\n"
    "{pad}{pad}messages.append(reply.choices[0].message)\n",
    "executor_{n} = AgentExecutor(agent=agent, tools=tools, max_iterations=None)\n",
    "key_{n} = OpenAI(api_key='sk-proj-Q7fL2mZ9vR4tK8wN1cB6hJ3pX{n}D5gYzz')\n",
    "def plan_{n}(goal):\n{pad}reply = client.chat.completions.create(model='m', messages=[goal])\n"
    "{pad}return eval(reply.choices[0].message.content)\n",
    "def load_{n}(goal):\n{pad}text = client.chat.completions.create(model='m', messages=[goal]).choices[0].message.content\n"
    "{pad}return yaml.load(text, Loader=yaml.Loader)\n",
    "@tool\ndef lookup_{n}(query: str) -> str:\n{pad}\"\"\"Look it up.\"\"\"\n{pad}try:\n{pad}{pad}return find(query)\n"
    "{pad}except Exception:\n{pad}{pad}return 'error'\n",
    "def triage_{n}(ticket):\n{pad}return client.chat.completions.create(model='m', messages=["
    "{{'role': 'system', 'content': 'Classify the ticket.\\nName the team.\\nNever promise a refund.'}}, ticket])\n",
    "memory_{n} = ConversationBufferMemory()\n\n\ndef chat_{n}(question):\n"
    "{pad}return ConversationChain(llm=llm, memory=memory_{n}).predict(input=question)\n",
]
FILLER = ["\n", "# a comment\n", "x_{n} = {n}  # keep me\n", "def helper_{n}():\n{pad}return {n}\n"]


@st.composite
def sources(draw) -> str:
    pad = draw(st.sampled_from(["    ", "  ", "\t"]))
    blocks = []
    for n in range(draw(st.integers(1, 6))):
        blocks.append(draw(st.sampled_from(PATTERNS)).format(n=n, pad=pad))
        blocks.append(draw(st.sampled_from(FILLER)).format(n=n, pad=pad))
    return HEADER + "\n" + "\n".join(blocks)


def _fix(folder, text: str) -> str:
    target = folder / "agent.py"
    target.write_text(text, encoding="utf-8")
    settings = resolve_settings(folder, Overrides(isolated=True, select=["TFA", "TFS"]))
    for _ in range(10):
        report = lint_paths([folder], settings, jobs=0)
        report, outcomes = apply_fixes(report, unsafe=True, write=True)
        if not any(o.applied for o in outcomes):
            break
    return target.read_text(encoding="utf-8")


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sources())
def test_fixes_parse_are_idempotent_and_stay_in_their_ranges(tmp_path_factory, source):
    folder = tmp_path_factory.mktemp("fix")
    fixed = _fix(folder, source)
    assert fixed != source  # every generated source holds at least one fixable pattern
    compile(fixed, "agent.py", "exec")
    assert _fix(folder, fixed) == fixed
    moved = folder / "prompts.py"
    if moved.exists():  # the prompts the fixes moved out of the file
        compile(moved.read_text(encoding="utf-8"), "prompts.py", "exec")
    before, after = source.splitlines(), fixed.splitlines()
    imports = {i for i, line in enumerate(after) if line.startswith(
        ("from os import", "from tenacity import", "from ast import", "from prompts import"))}
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for line in before[i1:i2]:  # every line that changed held a fixable pattern
            assert any(marker in line for marker in (
                "@retry", "while True", "max_iterations=None", "sk-proj-", "eval(", "yaml.load", "except Exception",
                "return 'error'", "'role': 'system'", "ConversationBufferMemory()", "memory=memory_",
            )), line
        for index in range(j1, j2):
            line = after[index]
            assert index in imports or any(marker in line for marker in (
                "@retry(stop=", "for _step in range", "else:", "raise RuntimeError", "max_iterations=20",
                'environ["OPENAI_API_KEY"]', "literal_eval(", "safe_load(", "except Exception as error",
                'return f"Error:', "_PROMPT", "new_memory_", "return ConversationBufferMemory()",
            )), line
