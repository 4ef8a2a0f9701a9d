"""``check --add-noqa``: a suppression comment for every current finding, formatting kept."""

from __future__ import annotations

from helpers import AGENT, invoke, write

from factorlint.engine.run.noqa import REASON, add_noqa
from factorlint.model import Finding


def _finding(line: int, code: str = "TFA0802") -> Finding:
    return Finding(code, "name", 8, "error", "high", "agent.py", line, 1, line, 2, "message")


def test_the_comment_goes_at_the_end_of_the_line():
    text = "a = 1\nwhile True:  # keep going\r\n    pass\n"
    result = add_noqa(text, [_finding(2), _finding(2, "TFA0302")])
    assert result.added == 1
    assert result.text.splitlines(keepends=True)[1] == (
        f"while True:  # keep going  # factorlint: ignore[TFA0302, TFA0802] -- {REASON}\r\n"
    )
    assert result.text.startswith("a = 1\n") and result.text.endswith("    pass\n")


def test_a_line_ending_inside_a_string_gets_the_comment_above():
    text = 'def f():\n    run(prompt="""\n    text\n    """)\n'
    result = add_noqa(text, [_finding(2)])
    assert result.text.splitlines()[1] == f"    # factorlint: ignore[TFA0802] -- {REASON}"
    assert result.text.splitlines()[2] == '    run(prompt="""'


def test_a_line_starting_inside_a_string_is_left_alone():
    text = 'x = """\nabc""" + y\n'
    finding = _finding(2)
    result = add_noqa(text, [finding])
    assert result.text == text and result.added == 0 and result.skipped == [finding]


def test_form_feeds_do_not_shift_lines():
    text = "a = '\x0c'\nb = 2\n"
    result = add_noqa(text, [_finding(2)])
    assert result.text == f"a = '\x0c'\nb = 2  # factorlint: ignore[TFA0802] -- {REASON}\n"


def test_add_noqa_silences_every_finding(project):
    write(project, {"agent.py": AGENT, "other.py": "x = 1\n"})
    result = invoke("check", "--add-noqa", str(project))
    assert result.exit_code == 0, result.stderr
    assert "Added 1 suppression comment to 1 file." in result.stderr
    assert (project / "other.py").read_text(encoding="utf-8") == "x = 1\n"
    assert f"while True:  # factorlint: ignore[TFA0802] -- {REASON}" in (project / "agent.py").read_text(encoding="utf-8")
    result = invoke("check", str(project))
    assert result.exit_code == 0, result.stdout
