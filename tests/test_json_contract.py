"""``check --output-format json`` keeps the minimum contract of conventions.md (schema_version 2: the scorecard's
statuses replaced its grades)."""

from __future__ import annotations

import re

from helpers import AGENT, AGENT_LOOP_LINE, STATEFUL, check_json, write

from factorlint import __version__

FINDING_KEYS = {
    "code", "name", "factor", "severity", "confidence", "path", "line", "column", "end_line",
    "end_column", "message", "fix", "fingerprint",
}
UNUSED = "x = 1  # factorlint: ignore[TFA0801]\n"


def _assert_finding(finding: dict, source_lines: dict[str, list[str]]) -> None:
    assert set(finding) >= FINDING_KEYS, FINDING_KEYS - set(finding)
    assert re.fullmatch(r"TF[AS]\d{4}", finding["code"])
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", finding["name"])
    factor = finding["factor"]
    if finding["code"].startswith("TFS") or finding["code"].startswith("TFA00"):
        assert factor is None
    else:
        assert isinstance(factor, int) and 1 <= factor <= 13
        assert factor == int(finding["code"][3:5])
    assert finding["severity"] in ("error", "warning", "advice")
    assert finding["confidence"] in ("high", "medium", "low")
    path = finding["path"]
    assert "\\" not in path and not path.startswith("/") and not path.startswith("./")
    assert path in source_lines, path
    lines = source_lines[path]
    for key in ("line", "column", "end_line", "end_column"):
        assert isinstance(finding[key], int) and finding[key] >= 1, (key, finding[key])
    assert finding["line"] <= finding["end_line"] <= len(lines)
    if finding["line"] == finding["end_line"]:
        assert finding["column"] <= finding["end_column"]
    # 1-based: the column points at the first character of the flagged text.
    assert finding["column"] <= len(lines[finding["line"] - 1])
    assert isinstance(finding["message"], str) and finding["message"]
    fix = finding["fix"]
    if fix is not None:
        assert set(fix) >= {"applicability", "message", "edits"}
        assert fix["applicability"] in ("safe", "unsafe", "display-only")
        assert isinstance(fix["message"], str) and fix["message"]
        for edit in fix["edits"]:
            assert set(edit) >= {"line", "column", "end_line", "end_column", "content"}
            assert edit["line"] >= 1 and edit["column"] >= 1
    assert isinstance(finding["fingerprint"], str) and finding["fingerprint"]


def test_report_envelope(project):
    write(project, {"agent.py": AGENT})
    status, report = check_json(".")
    assert status == 1
    assert report["schema_version"] == 2
    assert report["tool"] == {"name": "factorlint", "version": __version__}
    assert isinstance(report["findings"], list)
    assert isinstance(report["diagnostics"], list)
    # check may omit the scorecard; if present it must be an object.
    assert report.get("scorecard") is None or isinstance(report["scorecard"], dict)


def test_every_finding_keeps_the_contract(project):
    files = {"agent.py": AGENT, "pkg/sub/state.py": STATEFUL, "pkg/__init__.py": "", "noise.py": UNUSED}
    write(project, files)
    status, report = check_json(".")
    assert status == 1
    source_lines = {name: text.splitlines() for name, text in files.items()}
    found = {(f["path"], f["code"]) for f in report["findings"]}
    assert found == {("agent.py", "TFA0802"), ("pkg/sub/state.py", "TFA1201"), ("noise.py", "TFA0002")}
    for finding in report["findings"]:
        _assert_finding(finding, source_lines)


def test_positions_are_one_based(project):
    write(project, {"agent.py": AGENT})
    finding = check_json(".")[1]["findings"][0]
    # `while True:` starts on line 5 at the fifth character (four spaces of indent).
    assert (finding["line"], finding["column"]) == (AGENT_LOOP_LINE, 5)
    assert AGENT.splitlines()[finding["line"] - 1][finding["column"] - 1:].startswith("while True:")
    # The loop body ends on line 7, after `...message)`; end_column is exclusive, 1-based.
    last = AGENT.splitlines()[6]
    assert (finding["end_line"], finding["end_column"]) == (7, len(last) + 1)


def test_unused_suppression_fix_edit(project):
    write(project, {"noise.py": UNUSED})
    finding = check_json(".")[1]["findings"][0]
    assert finding["code"] == "TFA0002"
    assert finding["fix"]["applicability"] == "safe"
    (edit,) = finding["fix"]["edits"]
    assert edit["line"] == 1 and edit["end_line"] == 1


def test_paths_are_relative_to_the_working_directory(project, monkeypatch):
    write(project, {"src/app/agents/agent.py": AGENT})
    report = check_json("src")[1]
    assert [f["path"] for f in report["findings"]] == ["src/app/agents/agent.py"]
    report = check_json(str(project / "src" / "app"))[1]
    assert [f["path"] for f in report["findings"]] == ["src/app/agents/agent.py"]
    # A folder outside the working directory: relative to that folder, never absolute.
    monkeypatch.chdir(project / "src" / "app" / "agents")
    report = check_json(str(project / "src"))[1]
    assert [f["path"] for f in report["findings"]] == ["app/agents/agent.py"]


def test_diagnostics_shape(project):
    write(project, {"broken.py": "def broken(:\n", "agent.py": AGENT})
    status, report = check_json(".")
    assert status == 1
    (diagnostic,) = report["diagnostics"]
    assert diagnostic["code"] == "TFA0001"
    assert diagnostic["path"] == "broken.py"
    assert diagnostic["message"]
    for key in ("line", "column"):
        assert diagnostic.get(key) is None or diagnostic[key] >= 1


def test_clean_report(project):
    write(project, {"util.py": "x = 1\n"})
    status, report = check_json(".")
    assert status == 0
    assert report["findings"] == [] and report["diagnostics"] == []


def test_fingerprints_survive_lines_inserted_above(project):
    write(project, {"agent.py": AGENT, "state.py": STATEFUL})
    before = {f["code"]: f for f in check_json(".")[1]["findings"]}
    for name, text in (("agent.py", AGENT), ("state.py", STATEFUL)):
        (project / name).write_text("\n\n\n" + text, encoding="utf-8")
    after = {f["code"]: f for f in check_json(".")[1]["findings"]}
    assert set(before) == set(after) == {"TFA0802", "TFA1201"}
    for code in before:
        assert after[code]["fingerprint"] == before[code]["fingerprint"]
        assert after[code]["line"] == before[code]["line"] + 3


def test_fingerprints_distinguish_identical_findings(project):
    # The same loop twice in one file, and the same file under another name: all different.
    twice = AGENT + "\n\ndef run_again(messages):\n" + "\n".join(AGENT.splitlines()[4:]) + "\n"
    write(project, {"a.py": twice, "b.py": AGENT})
    findings = check_json(".")[1]["findings"]
    assert [(f["path"], f["code"]) for f in findings] == [("a.py", "TFA0802")] * 2 + [("b.py", "TFA0802")]
    assert len({f["fingerprint"] for f in findings}) == 3
