"""Property-based tests: linting never raises, fixes keep code parseable and are idempotent."""

from __future__ import annotations

from pathlib import Path

import hypothesmith
import libcst as cst
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factorlint.checks.registry import all_rules
from factorlint.config import Settings
from factorlint.engine.project.project_pass import build_report
from factorlint.engine.run.fixes import apply_edits, fixable
from factorlint.engine.run.runner import lint_file
from factorlint.knowledge import default_knowledge

ALL_CODES = {rule.meta.code for rule in all_rules()}
SETTINGS = Settings(root=Path("."), config_path=None, enabled=ALL_CODES)
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _lint(text: str):
    result = lint_file("sample.py", text.encode("utf-8", "surrogatepass"), SETTINGS,
                       module_name="sample", package="", knowledge=default_knowledge())
    return result, build_report(".", [result], default_knowledge(), SETTINGS)


@SLOW
@given(hypothesmith.from_grammar())
def test_linting_generated_python_never_raises(source):
    result, _ = _lint(source)
    assert not [d for d in result.diagnostics if d.code == "TFA0003"], result.diagnostics


@SLOW
@given(st.binary(max_size=2000))
def test_linting_arbitrary_bytes_never_raises(data):
    result = lint_file("sample.py", data, SETTINGS, module_name="sample", package="", knowledge=default_knowledge())
    assert not [d for d in result.diagnostics if d.code == "TFA0003"]


AGENT_LINES = [
    "from openai import OpenAI",
    "client = OpenAI()",
    "HISTORY = []",
    "def run(messages):",
    "    while True:",
    "        reply = client.chat.completions.create(model='m', messages=messages)",
    "        messages.append(reply)",
    "        HISTORY.append(reply)",
]
COMMENTS = st.sampled_from([
    "", "  # factorlint: ignore[TFA0802]", "  # noqa: TFA0801", "  # noqa: E501, TFA1201",
    "  # factorlint: ignore[TFA0201, TFA1201] -- reason", "  # type: ignore  # factorlint: ignore[TFA0901]",
])


@SLOW
@given(st.lists(COMMENTS, min_size=len(AGENT_LINES), max_size=len(AGENT_LINES)))
def test_fixes_keep_code_parseable_and_are_idempotent(comments):
    text = "\n".join(line + comment for line, comment in zip(AGENT_LINES, comments, strict=False)) + "\n"
    # Like ruff, --fix applies non-overlapping edits and loops until nothing is left; each round
    # must parse, and once it has converged another round changes nothing.
    rounds = []
    for _ in range(3):
        _, report = _lint(text)
        fixed, applied, _ = apply_edits(text, fixable(report.findings, unsafe=True))
        cst.parse_module(fixed)
        rounds.append(len(applied))
        if fixed == text:
            break
        text = fixed
    assert rounds[-1] == 0, rounds
