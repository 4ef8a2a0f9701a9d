"""``check --write-baseline`` / ``--baseline``: adopt on a legacy codebase, fail only on what is new."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import AGENT, STATEFUL, check_json, invoke, write


def _baseline(project) -> str:
    path = project.parent / f"{project.name}-baseline.json"
    result = invoke("check", "--write-baseline", str(path), str(project))
    assert result.exit_code == 0, result.stderr
    assert "Wrote a baseline of" in result.stderr
    return str(path)


def test_a_baseline_holds_todays_findings(project):
    write(project, {"agent.py": AGENT, "chat.py": STATEFUL})
    baseline = _baseline(project)
    data = json.loads(Path(baseline).read_text(encoding="utf-8"))
    assert data["factorlint_baseline"] == 1
    paths = [e["path"] for e in data["findings"]]
    assert paths == sorted(paths) and set(paths) == {"agent.py", "chat.py"}
    code, report = check_json("--baseline", baseline, str(project))
    assert code == 0
    assert report["findings"] == []
    assert report["baseline"]["known"] == len(data["findings"]) and report["baseline"]["fixed"] == []
    result = invoke("check", "--baseline", baseline, str(project))
    assert result.exit_code == 0
    assert f"All checks passed, {len(data['findings'])} known from the baseline" in result.stdout


def test_only_new_findings_fail(project):
    write(project, {"agent.py": AGENT})
    baseline = _baseline(project)
    write(project, {"chat.py": STATEFUL})
    code, report = check_json("--baseline", baseline, str(project))
    assert code == 1
    assert {f["path"] for f in report["findings"]} == {"chat.py"}


def test_a_fixed_finding_is_listed_as_fixed(project):
    write(project, {"agent.py": AGENT, "chat.py": STATEFUL})
    baseline = _baseline(project)
    (project / "chat.py").unlink()
    code, report = check_json("--baseline", baseline, str(project))
    assert code == 0
    assert report["findings"] == []
    assert {e["path"] for e in report["baseline"]["fixed"]} == {"chat.py"}
    result = invoke("check", "--baseline", baseline, str(project))
    assert "fixed since the baseline: chat.py:" in result.stdout


def test_edits_above_and_moves_keep_a_finding_known(project):
    write(project, {"agent.py": AGENT})
    baseline = _baseline(project)
    (project / "agent.py").unlink()
    write(project, {"services/billing/runner.py": "import os\nimport sys\n\n\n" + AGENT})
    code, report = check_json("--baseline", baseline, str(project))
    assert code == 0, report["findings"]
    assert report["baseline"]["fixed"] == []


def test_a_second_copy_of_a_known_finding_is_new(project):
    write(project, {"agent.py": AGENT})
    baseline = _baseline(project)
    write(project, {"copy.py": AGENT})
    code, report = check_json("--baseline", baseline, str(project))
    assert code == 1
    assert {f["path"] for f in report["findings"]} == {"copy.py"}


def test_a_broken_baseline_is_a_usage_error(project):
    write(project, {"agent.py": AGENT})
    bad = project.parent / "bad-baseline.json"
    bad.write_text(json.dumps({"factorlint_baseline": 1, "findings": [{"code": "TFA0802"}]}), encoding="utf-8")
    result = invoke("check", "--baseline", str(bad), str(project))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "findings.0.path" in lines[0]
    bad.write_text("not json", encoding="utf-8")
    result = invoke("check", "--baseline", str(bad), str(project))
    assert result.exit_code == 2 and "not a baseline" in result.stderr
    result = invoke("check", "--baseline", str(project / "missing.json"), str(project))
    assert result.exit_code == 2 and "cannot read the baseline" in result.stderr
