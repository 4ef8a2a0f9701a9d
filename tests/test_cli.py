"""The command line: exit codes, output formats, ``rule``, and ruff-style rule selection."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from helpers import (
    AGENT,
    AGENT_LOOP_LINE,
    CLEAN,
    STATEFUL,
    assert_one_line_error,
    check_json,
    codes,
    invoke,
    write,
)

from factorlint import __version__
from factorlint.checks.registry import all_rules
from factorlint.knowledge import default_knowledge

CONCISE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>TF[AS]\d{4}) (?P<message>\S.*)$")


# --- exit codes ----------------------------------------------------------------------------------


def test_clean_project_exits_0(project):
    write(project, {"util.py": CLEAN})
    result = invoke("check", ".")
    assert result.exit_code == 0, result.output
    assert "All checks passed" in result.stdout
    assert result.stderr == ""


def test_default_path_is_the_current_folder(project):
    write(project, {"agent.py": AGENT})
    result = invoke("check", "--output-format", "concise")
    assert result.exit_code == 1
    assert f"agent.py:{AGENT_LOOP_LINE}:5: TFA0802" in result.stdout


def test_findings_exit_1(project):
    write(project, {"agent.py": AGENT})
    result = invoke("check", ".")
    assert result.exit_code == 1
    assert "TFA0802" in result.stdout
    assert f"agent.py:{AGENT_LOOP_LINE}:5:" in result.stdout


def test_unparsable_file_is_a_diagnostic_that_fails_the_run(project):
    write(project, {"broken.py": "def broken(:\n    pass\n", "agent.py": AGENT})
    status, report = check_json(".")
    assert status == 1
    assert [d["code"] for d in report["diagnostics"]] == ["TFA0001"]
    assert report["diagnostics"][0]["path"] == "broken.py"
    # The other files are still analysed and reported.
    assert codes(report) == [("agent.py", "TFA0802", AGENT_LOOP_LINE)]


def test_unparsable_file_alone_still_exits_1(project):
    write(project, {"broken.py": "x = = 1\n", "util.py": CLEAN})
    result = invoke("check", ".", "--output-format", "concise")
    assert result.exit_code == 1
    assert "broken.py:" in result.stdout and "TFA0001" in result.stdout


def test_exit_zero(project):
    write(project, {"agent.py": AGENT, "broken.py": "def (:\n"})
    result = invoke("check", ".", "--exit-zero")
    assert result.exit_code == 0
    assert "TFA0802" in result.stdout and "TFA0001" in result.stdout


def test_nonexistent_path_exits_2(project):
    result = invoke("check", "missing_dir")
    assert_one_line_error(result, "missing_dir")


@pytest.mark.parametrize("flag", ["--select", "--ignore", "--extend-select"])
def test_unknown_selector_exits_2_with_one_line(project, flag):
    write(project, {"agent.py": AGENT})
    result = invoke("check", ".", flag, "TFA99")
    assert_one_line_error(result, "TFA99")
    assert result.stdout == ""


def test_malformed_per_file_ignores_exits_2(project):
    write(project, {"agent.py": AGENT})
    assert_one_line_error(invoke("check", ".", "--per-file-ignores", "agent.py"), "--per-file-ignores")
    assert_one_line_error(invoke("check", ".", "--per-file-ignores", "agent.py:NOPE1"), "NOPE1")


def test_internal_error_is_one_line_and_a_traceback_only_with_verbose(project, monkeypatch):
    import factorlint.api

    def explode(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(factorlint.api, "lint_paths", explode)
    write(project, {"agent.py": AGENT})
    assert_one_line_error(invoke("check", "."), "internal error", "boom")
    verbose = invoke("check", ".", "-v")
    assert verbose.exit_code == 2
    assert "Traceback" in verbose.stderr
    assert verbose.stderr.splitlines()[-1].startswith("factorlint: internal error")


# --- audit ---------------------------------------------------------------------------------------


def test_audit_exits_0_and_groups_by_factor(project):
    write(project, {"agent.py": AGENT, "state.py": STATEFUL})
    result = invoke("audit", ".")
    assert result.exit_code == 0, result.output
    knowledge = default_knowledge()
    f08 = knowledge.factor_by_number[8]
    f12 = knowledge.factor_by_number[12]
    out = result.stdout
    # Every factor has a row in the table, with the title from rules/factors.toml.
    for factor in knowledge.factors.factors:
        assert factor.title in out, factor.title
    # Each finding is listed under a heading for its own factor.
    listing = out.index("Findings by factor")
    heading_08 = out.index(f"{f08.code} {f08.title}\n", listing)
    heading_12 = out.index(f"{f12.code} {f12.title}\n", listing)
    loop = out.index(f"TFA0802 agent.py:{AGENT_LOOP_LINE}:5")
    state = out.index("TFA1201 state.py:6:5")
    assert heading_08 < loop < heading_12 < state


def test_audit_reports_files_it_could_not_analyse(project):
    write(project, {"broken.py": "def (:\n", "util.py": CLEAN})
    result = invoke("audit", ".")
    assert result.exit_code == 0
    assert "TFA0001" in result.stdout and "broken.py" in result.stdout
    # With a gate, scores of a partial scan do not pass: the unread file fails the gate.
    gated = invoke("audit", ".", "--fail-under", "0")
    assert gated.exit_code == 1 and "FAIL every file analysed: 1 analysed, 1 not analysed" in gated.stdout


def test_an_audit_that_analysed_nothing_fails(project):
    write(project, {"broken.py": "def (:\n"})
    result = invoke("audit", ".")
    assert result.exit_code == 1
    assert "FAIL files analysed: none" in result.stdout


# --- output formats ------------------------------------------------------------------------------


def test_concise_format(project):
    write(project, {"agent.py": AGENT, "pkg/state.py": STATEFUL})
    result = invoke("check", ".", "--output-format", "concise")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    findings = [CONCISE.match(line) for line in lines[:-1]]
    assert all(findings), lines
    assert [(m["path"], m["line"], m["col"], m["code"]) for m in findings] == [
        ("agent.py", str(AGENT_LOOP_LINE), "5", "TFA0802"),
        ("pkg/state.py", "6", "5", "TFA1201"),
    ]
    assert lines[-1] == "Found 2 findings (2 files, 14 lines)."


def test_summary_line_grammar(project):
    write(project, {"agent.py": AGENT})
    result = invoke("check", ".", "--output-format", "concise")
    assert result.stdout.splitlines()[-1] == "Found 1 finding (1 file, 7 lines)."


def test_full_format_shows_source_and_fix(project):
    write(project, {"agent.py": AGENT})
    out = invoke("check", ".").stdout
    assert f"agent.py:{AGENT_LOOP_LINE}:5: TFA0802 [error]" in out
    assert "    while True:" in out
    assert "^" in out
    assert "fix:" in out


def test_statistics_counts_per_rule(project):
    write(project, {"a.py": AGENT, "b.py": AGENT, "state.py": STATEFUL})
    result = invoke("check", ".", "--statistics")
    assert result.exit_code == 1
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows == [["2", "TFA0802", "unbounded-agent-loop"], ["1", "TFA1201", "module-global-agent-state"]]


def test_statistics_with_nothing_to_report(project):
    write(project, {"util.py": CLEAN})
    result = invoke("check", ".", "--statistics")
    assert result.exit_code == 0
    assert result.stdout == "No findings.\n"


@pytest.mark.parametrize("fmt", ["full", "concise", "json"])
def test_output_file(project, fmt):
    write(project, {"agent.py": AGENT})
    result = invoke("check", "agent.py", "--output-format", fmt, "-o", "report.out")
    assert result.exit_code == 1
    assert result.stdout == ""
    written = (project / "report.out").read_text(encoding="utf-8")
    assert "TFA0802" in written
    if fmt == "json":
        assert json.loads(written)["findings"][0]["code"] == "TFA0802"


def test_output_file_that_cannot_be_written_exits_2(project):
    write(project, {"agent.py": AGENT})
    result = invoke("check", ".", "-o", "no/such/dir/report.txt")
    assert_one_line_error(result, "report.txt")


def test_version_in_process():
    result = invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_python_dash_m_version():
    completed = subprocess.run(
        [sys.executable, "-m", "factorlint", "--version"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert "factorlint" in completed.stdout and __version__ in completed.stdout


def test_the_command_ends_with_its_exit_code_and_all_of_its_output(tmp_path):
    """The command leaves without tearing the interpreter down once its output is flushed: the
    exit code and every byte written stay as they were, through a pipe and to a file."""
    many = "\n".join(AGENT.replace("def run(", f"def run{n}(") for n in range(300))
    write(tmp_path, {"agent.py": many})
    command = [sys.executable, "-m", "factorlint", "check", str(tmp_path / "agent.py"), "--isolated", "--no-cache"]
    piped = subprocess.run([*command, "--output-format", "json"], capture_output=True, text=True, timeout=120)
    assert piped.returncode == 1, piped.stderr
    assert len(json.loads(piped.stdout)["findings"]) == 300
    report = tmp_path / "report.json"
    written = subprocess.run([*command, "--output-format", "json", "-o", str(report)], capture_output=True, timeout=120)
    assert written.returncode == 1 and len(json.loads(report.read_text())["findings"]) == 300
    usage = subprocess.run([*command, "--output-format", "nope"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "nope" in usage.stderr


# --- factorlint rule -----------------------------------------------------------------------------


def test_rule_prints_documentation():
    result = invoke("rule", "TFA0802")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("# unbounded-agent-loop (TFA0802)")
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert heading in out
    assert "factor 8" in out and "severity error" in out and "confidence high" in out


def test_rule_by_name():
    assert invoke("rule", "unbounded-agent-loop").stdout == invoke("rule", "TFA0802").stdout


def test_rule_all_lists_every_rule():
    result = invoke("rule", "--all")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["CODE", "NAME", "FAC", "SEVERITY", "CONFIDENCE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {rule.meta.code for rule in all_rules()}
    for rule in all_rules():
        _code, name, factor, severity, confidence = rows[rule.meta.code][:5]
        assert name == rule.meta.name
        if rule.meta.factor:
            assert factor == f"F{rule.meta.factor:02d}"
        else:
            assert factor == ("SEC" if rule.meta.code.startswith("TFS") else "-")
        assert severity == rule.meta.severity
        assert confidence == rule.meta.confidence
    assert rows["TFA0802"][2] == "F08"


def test_rule_all_json():
    result = invoke("rule", "--all", "--output-format", "json")
    assert result.exit_code == 0
    records = json.loads(result.stdout)
    assert isinstance(records, list)
    assert [r["code"] for r in records] == [rule.meta.code for rule in all_rules()]
    for record in records:
        assert {"code", "name", "factor", "severity", "confidence"} <= set(record)
        assert record["severity"] in ("error", "warning", "advice")
        assert record["confidence"] in ("high", "medium", "low")
        if record["code"].startswith("TFA00") or record["code"].startswith("TFS"):
            assert record["factor"] is None
        else:
            assert record["factor"] == int(record["code"][3:5])


def test_rule_json_single():
    record = json.loads(invoke("rule", "TFA0802", "--output-format", "json").stdout)
    assert record["code"] == "TFA0802" and record["factor"] == 8


def test_unknown_rule_exits_2():
    assert_one_line_error(invoke("rule", "NOPE"), "NOPE")


def test_rule_without_argument_exits_2():
    assert_one_line_error(invoke("rule"))


# --- rule selection (ruff's semantics) -----------------------------------------------------------


@pytest.fixture
def two_factors(project):
    write(project, {"agent.py": AGENT, "state.py": STATEFUL})
    return project


def _found(*args: str) -> set[str]:
    return {code for _, code, _ in codes(check_json(".", *args)[1])}


def test_default_selection(two_factors):
    assert _found() == {"TFA0802", "TFA1201"}


def test_select_a_factor(two_factors):
    assert _found("--select", "TFA08") == {"TFA0802"}


def test_select_a_code_and_a_comma_list(two_factors):
    assert _found("--select", "TFA0802") == {"TFA0802"}
    assert _found("--select", "TFA0802,TFA1201") == {"TFA0802", "TFA1201"}
    assert _found("--select", "TFA0802", "--select", "TFA12") == {"TFA0802", "TFA1201"}


def test_ignore(two_factors):
    assert _found("--ignore", "TFA0802") == {"TFA1201"}
    assert _found("--ignore", "TFA12") == {"TFA0802"}


def test_extend_select(two_factors):
    assert _found("--select", "TFA12", "--extend-select", "TFA0802") == {"TFA0802", "TFA1201"}


def test_select_is_case_insensitive(two_factors):
    assert _found("--select", "tfa08") == {"TFA0802"}


def test_per_file_ignores(two_factors):
    assert _found("--per-file-ignores", "agent.py:TFA0802") == {"TFA1201"}
    assert _found("--per-file-ignores", "agent.py:TFA08") == {"TFA1201"}
    assert _found("--per-file-ignores", "*.py:TFA0802,TFA1201") == set()
    assert _found("--per-file-ignores", "state.py:TFA0802") == {"TFA0802", "TFA1201"}


def test_per_file_ignores_glob_on_a_folder(project):
    write(project, {"agents/agent.py": AGENT, "agent.py": AGENT})
    report = check_json(".", "--per-file-ignores", "agents/*:TFA0802")[1]
    assert codes(report) == [("agent.py", "TFA0802", AGENT_LOOP_LINE)]


def test_more_specific_select_beats_ignore(two_factors):
    # As in ruff: "--ignore ALL --select E501 selects only E501": the more specific selector wins.
    assert _found("--ignore", "TFA08", "--select", "TFA0802") == {"TFA0802"}
    assert _found("--ignore", "TFA", "--extend-select", "TFA0802") == {"TFA0802"}
    # Equal specificity: ignore wins.
    assert _found("--select", "TFA0802", "--ignore", "TFA0802") == set()


def test_command_line_select_overrides_config_ignore(two_factors):
    # As in ruff: a --select on the command line replaces the configuration's select and ignore.
    write(two_factors, {"pyproject.toml": '[tool.factorlint]\nignore = ["TFA0802"]\nextend-select = ["TFA12"]\n'})
    assert _found() == {"TFA1201"}
    assert _found("--select", "TFA08") == {"TFA0802"}
    # Without --select the configuration still applies, and --extend-select adds to it.
    assert _found("--extend-select", "TFA0802") == {"TFA0802", "TFA1201"}
