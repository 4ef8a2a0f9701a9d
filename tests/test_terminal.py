"""Terminal manners: NO_COLOR, FORCE_COLOR and --color; the terminal's width; -V."""

from __future__ import annotations

import pytest
from helpers import AGENT, STATEFUL, invoke, write

from factorlint import __version__

ESC = "\x1b["


def test_version_short_flag():
    result = invoke("-V")
    assert result.exit_code == 0 and __version__ in result.stdout


@pytest.mark.parametrize(("env", "flag", "coloured"), [
    ({}, (), False),  # not a terminal
    ({"FORCE_COLOR": "1"}, (), True),
    ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, (), False),
    ({"NO_COLOR": ""}, (), False),  # empty: not set
    ({}, ("--color", "always"), True),
    ({"FORCE_COLOR": "1"}, ("--color", "never"), False),
])
def test_colour(project, monkeypatch, env, flag, coloured):
    for key in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    write(project, {"agent.py": AGENT})
    for command in ("check", "audit"):
        result = invoke(command, *flag, str(project))
        assert (ESC in result.stdout) is coloured, (command, env, flag)


@pytest.mark.parametrize("width", [80, 100])
def test_the_audit_fits_the_terminal(project, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    write(project, {"agent.py": AGENT, "chat.py": STATEFUL})
    text = invoke("audit", str(project)).stdout
    assert "Scorecard" in text and "Fix plan" in text
    assert max(len(line) for line in text.splitlines()) <= width
    # check's finding lines stay whole, as editors and grep read them (ruff's convention too).
    check = invoke("check", str(project)).stdout
    assert any(line.startswith("agent.py:5:5: TFA0802") and line.endswith("stops") for line in check.splitlines())
