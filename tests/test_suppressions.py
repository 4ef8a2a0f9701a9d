"""Suppression comments: ``# factorlint: ignore[...]``, ``ignore-file``, ``# noqa: CODE``, TFA0002."""

from __future__ import annotations

import pytest
from helpers import AGENT, STATEFUL, check_json, codes, write

from factorlint.api import lint_paths
from factorlint.config import Overrides, resolve_settings

HEAD = AGENT.split("    while True:")[0]  # imports, client, `def run(messages):`
BODY = AGENT[len(HEAD):].split("\n", 1)[1]  # the two lines inside the loop


def agent_with(loop_line: str, before: str = "", top: str = "") -> str:
    """The agent snippet with its `while True:` line replaced and optional lines added."""
    return top + HEAD + before + loop_line + "\n" + BODY


def lint(root):
    """Lint ``root`` through the API: the Report, with its ``suppressed`` findings."""
    return lint_paths([root], resolve_settings(root, Overrides(isolated=True)))


def _codes_of(project, source: str, *args: str) -> list[str]:
    write(project, {"agent.py": source})
    return [code for _, code, _ in codes(check_json(".", *args)[1])]


def apply_edits(text: str, edits: list[dict]) -> str:
    """Apply 1-based, end-exclusive edits (as in the JSON output) to ``text``."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    for edit in sorted(edits, key=lambda e: (e["line"], e["column"]), reverse=True):
        start, end = offset(edit["line"], edit["column"]), offset(edit["end_line"], edit["end_column"])
        text = text[:start] + edit["content"] + text[end:]
    return text


# --- what silences a finding ---------------------------------------------------------------------


def test_baseline_the_snippet_has_one_finding(project):
    assert _codes_of(project, AGENT) == ["TFA0802"]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(agent_with("    while True:  # factorlint: ignore[TFA0802]"), id="same-line"),
        pytest.param(agent_with("    while True:", before="    # factorlint: ignore[TFA0802]\n"), id="line-above"),
        pytest.param(agent_with("    while True:  # factorlint: ignore[TFA08]"), id="family-on-line"),
        pytest.param(agent_with("    while True:  # factorlint: ignore[tfa0802]"), id="lower-case"),
        pytest.param(agent_with("    while True:", top="# factorlint: ignore-file[TFA08]\n"), id="file-family"),
        pytest.param(agent_with("    while True:") + "# factorlint: ignore-file[TFA0802]\n", id="file-at-end"),
        pytest.param(agent_with("    while True:  # noqa: TFA0802"), id="noqa"),
        pytest.param(agent_with("    while True:  # noqa: E501, TFA0802"), id="noqa-with-other-tools"),
        pytest.param(agent_with("    while True:  # type: ignore  # noqa: TFA0802"), id="after-another-comment"),
    ],
)
def test_suppressed(project, source):
    assert _codes_of(project, source) == []
    report = lint(project)
    assert [f.code for f in report.suppressed] == ["TFA0802"]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(agent_with("    while True:  # noqa"), id="blanket-noqa"),
        pytest.param(agent_with("    while True:  # noqa: E501"), id="noqa-other-tool"),
        pytest.param(agent_with("    while True:  # factorlint: ignore"), id="directive-without-code"),
        pytest.param(agent_with("    while True:  # factorlint: ignore[]"), id="empty-code-list"),
        pytest.param(agent_with("    while True:", before='    x = "# noqa: TFA0802"\n'), id="in-a-string"),
        pytest.param(
            agent_with("    while True:", before="    # factorlint: ignore[TFA0802]\n    pass\n"),
            id="two-lines-above",
        ),
    ],
)
def test_not_suppressed(project, source):
    assert "TFA0802" in _codes_of(project, source)
    assert lint(project).suppressed == []


def test_file_level_family_does_not_silence_other_factors(project):
    write(project, {"state.py": "# factorlint: ignore-file[TFA08]\n" + STATEFUL})
    found = [code for _, code, _ in codes(check_json(".")[1])]
    # TFA1201 still reported; the file-level TFA08 suppression is unused there.
    assert found == ["TFA0002", "TFA1201"]


def test_reason_is_kept_on_the_suppressed_finding(project):
    write(project, {"agent.py": agent_with("    while True:  # factorlint: ignore[TFA0802] -- bounded by the caller")})
    report = lint(project)
    assert report.findings == []
    (finding,) = report.suppressed
    assert finding.code == "TFA0802"
    assert finding.suppressed == "bounded by the caller"
    assert finding.fingerprint


def test_reason_on_a_noqa_comment(project):
    write(project, {"agent.py": agent_with("    while True:  # noqa: TFA0802 -- reviewed")})
    (finding,) = lint(project).suppressed
    assert finding.suppressed == "reviewed"


def test_summary_counts_suppressed(project):
    write(project, {"agent.py": agent_with("    while True:  # factorlint: ignore[TFA0802]")})
    report = check_json(".")[1]
    assert report["summary"]["suppressed"] == 1
    assert report["findings"] == []


# --- unused suppressions (TFA0002) ---------------------------------------------------------------


def _unused(project, source: str, *args: str) -> tuple[dict, str]:
    write(project, {"agent.py": source})
    status, report = check_json(".", *args)
    unused = [f for f in report["findings"] if f["code"] == "TFA0002"]
    assert len(unused) == 1, report["findings"]
    assert status == 1
    return unused[0], source


def test_unused_suppression_is_reported_with_a_safe_fix(project):
    finding, source = _unused(project, agent_with("    while True:  # factorlint: ignore[TFA0801]"))
    assert finding["name"] == "unused-suppression"
    assert finding["factor"] is None
    assert finding["line"] == 5
    assert "TFA0801" in finding["message"]
    fix = finding["fix"]
    assert fix["applicability"] == "safe"
    assert fix["edits"]
    fixed = apply_edits(source, fix["edits"])
    assert "factorlint" not in fixed
    assert fixed.splitlines()[4] == "    while True:"  # no trailing whitespace left behind
    # The unused suppression did not hide the real finding.
    assert [c for _, c, _ in codes(check_json(".")[1])] == ["TFA0802", "TFA0002"]  # by column


def test_unused_suppression_on_its_own_line_removes_the_line(project):
    finding, source = _unused(
        project, agent_with("    while True:", before="    # factorlint: ignore[TFA0801]\n")
    )
    fixed = apply_edits(source, finding["fix"]["edits"])
    assert fixed == AGENT


def test_unused_file_level_suppression(project):
    finding, source = _unused(project, "# factorlint: ignore-file[TFA12]\n" + AGENT)
    assert finding["line"] == 1
    assert apply_edits(source, finding["fix"]["edits"]) == AGENT


def test_partly_unused_suppression_keeps_the_used_code(project):
    finding, source = _unused(
        project, agent_with("    while True:  # factorlint: ignore[TFA0802, TFA0801] -- reviewed")
    )
    assert "TFA0801" in finding["message"] and "TFA0802" not in finding["message"]
    fixed = apply_edits(source, finding["fix"]["edits"])
    assert fixed.splitlines()[4] == "    while True:  # factorlint: ignore[TFA0802] -- reviewed"
    # The fixed file lints clean.
    (project / "agent.py").write_text(fixed, encoding="utf-8")
    assert codes(check_json(".")[1]) == []


def test_fix_of_unused_noqa_keeps_other_tools_codes(project):
    finding, source = _unused(project, "x = 1  # noqa: E501, TFA0802\n")
    fixed = apply_edits(source, finding["fix"]["edits"])
    assert fixed == "x = 1  # noqa: E501\n"


def test_fix_of_unused_suppression_keeps_other_comments(project):
    finding, source = _unused(project, "x = 1  # type: ignore  # factorlint: ignore[TFA0802]\n")
    fixed = apply_edits(source, finding["fix"]["edits"])
    assert fixed == "x = 1  # type: ignore\n"


def test_suppression_of_a_disabled_rule_is_not_unused(project):
    source = agent_with("    while True:  # factorlint: ignore[TFA0802]")
    assert _codes_of(project, source, "--ignore", "TFA0802") == []
    # ... nor when TFA0002 itself is off.
    assert _codes_of(project, agent_with("    while True:  # factorlint: ignore[TFA0801]"), "--ignore", "TFA0002") == [
        "TFA0802"
    ]


def test_unused_suppression_can_be_ignored_per_file(project):
    source = "x = 1  # factorlint: ignore[TFA0802]\n"
    assert _codes_of(project, source) == ["TFA0002"]
    assert _codes_of(project, source, "--per-file-ignores", "agent.py:TFA0002") == []


def test_fix_after_a_multiline_string_keeps_the_code(project):
    # The comment's line holds no token start (the string began above): still not a line of its own.
    source = 'x = """a\nb"""  # factorlint: ignore[TFA0802]\n'
    finding, _ = _unused(project, source)
    assert apply_edits(source, finding["fix"]["edits"]) == 'x = """a\nb"""\n'
