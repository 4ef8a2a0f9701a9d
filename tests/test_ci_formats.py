"""The formats CI systems read: SARIF 2.1.0 (validated against the OASIS schema), GitHub workflow
commands, GitLab Code Quality and JUnit XML, each on a project with findings, a suppressed
finding, a security finding and a file that does not parse, and with hostile file names."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jsonschema
import pytest
from helpers import AGENT, invoke, write

from factorlint.checks.registry import all_rules

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
EVAL_AGENT = '''\
from openai import OpenAI
client = OpenAI()

def compute(question):
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": question}])
    return eval(reply.choices[0].message.content)
'''
SUPPRESSED = AGENT.replace("    while True:", "    while True:  # factorlint: ignore[TFA0802] -- bounded by the caller's timeout")
HOSTILE = "odd, name:1%0A::error x.py" if os.name != "nt" else "odd, name x.py"


def _project(root: Path) -> None:
    write(root, {
        "agent.py": AGENT,
        "calc.py": EVAL_AGENT,
        "quiet.py": SUPPRESSED,
        "broken.py": "def broken(:\n",
        "clean.py": "x = 1\n",
    })


def _run(*args: str) -> tuple[int, str]:
    result = invoke("check", *args)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    return result.exit_code, result.stdout


def _sarif(root: Path) -> dict:
    code, text = _run("--output-format", "sarif", str(root))
    assert code == 1
    return json.loads(text)


def test_sarif_is_valid_against_the_schema(project):
    _project(project)
    log = _sarif(project)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert log["version"] == "2.1.0"


def test_sarif_rules_describe_every_rule(project):
    _project(project)
    driver = _sarif(project)["runs"][0]["tool"]["driver"]
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert set(rules) == {rule.meta.code for rule in all_rules()}
    for rule in all_rules():
        record = rules[rule.meta.code]
        assert record["name"] == rule.meta.name
        assert record["shortDescription"]["text"] == rule.meta.summary
        assert record["fullDescription"]["text"] and record["help"]["markdown"]
        level = {"error": "error", "warning": "warning", "advice": "note"}[rule.meta.severity]
        assert record["defaultConfiguration"]["level"] == level
        assert ("security-severity" in record["properties"]) == rule.meta.code.startswith("TFS")
    assert rules["TFA0802"]["helpUri"].startswith("https://github.com/humanlayer/12-factor-agents/")


def test_sarif_results(project):
    _project(project)
    run = _sarif(project)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_rule = {}
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["partialFingerprints"]["factorlint/v1"]
        by_rule.setdefault(result["ruleId"], []).append(result)
    loop = [r for r in by_rule["TFA0802"] if "suppressions" not in r]
    assert len(loop) == 1
    location = loop[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "agent.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"]["startLine"] == AGENT.splitlines().index("    while True:") + 1
    assert location["region"]["startColumn"] == 5
    assert loop[0]["level"] == "error"
    suppressed = [r for r in by_rule["TFA0802"] if "suppressions" in r]
    assert suppressed[0]["suppressions"][0]["kind"] == "inSource"
    assert "caller's timeout" in suppressed[0]["suppressions"][0]["justification"]
    assert by_rule["TFS001"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "calc.py"
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notifications] == ["broken.py"]
    assert run["invocations"][0]["executionSuccessful"] is False
    root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert root.startswith("file://") and root.endswith("/")


def test_sarif_fingerprints_survive_lines_added_above(project):
    write(project, {"agent.py": AGENT})
    before = _sarif(project)["runs"][0]["results"][0]["partialFingerprints"]
    write(project, {"agent.py": "import os\nimport sys\n\n" + AGENT})
    after = _sarif(project)["runs"][0]["results"][0]
    assert after["partialFingerprints"] == before
    assert after["locations"][0]["physicalLocation"]["region"]["startLine"] > 3


def test_sarif_names_the_checked_out_commit(project):
    write(project, {"agent.py": AGENT})
    commit = "0123456789abcdef0123456789abcdef01234567"
    write(project, {".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": commit + "\n"})
    run = _sarif(project)["runs"][0]
    assert run["versionControlProvenance"][0]["revisionId"] == commit
    write(project, {".git/refs/heads/main": "../../../../etc/passwd\n"})
    assert "versionControlProvenance" not in _sarif(project)["runs"][0]


@pytest.mark.skipif(sys.platform == "win32", reason="file names with ':' and newlines")
def test_sarif_uris_of_hostile_names(project):
    write(project, {f"{HOSTILE}#?.py": AGENT})
    log = _sarif(project)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "odd%2C%20name%3A1%250A%3A%3Aerror%20x.py%23%3F.py"


def _github_fields(line: str) -> tuple[str, dict[str, str], str]:
    assert line.startswith("::")
    command, _, message = line[2:].partition("::")
    level, _, properties = command.partition(" ")
    fields = dict(item.split("=", 1) for item in properties.split(","))
    return level, fields, message


def _unescape(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def test_github_annotations(project):
    _project(project)
    code, text = _run("--output-format", "github", str(project))
    assert code == 1
    lines = text.splitlines()
    parsed = [_github_fields(line) for line in lines]
    levels = {fields["title"].split()[0]: level for level, fields, _ in parsed}
    assert levels["TFA0802"] == "error"
    assert levels["TFA0001"] == "error"  # the file that does not parse
    loop = next(fields for _, fields, _ in parsed if fields["title"].startswith("TFA0802"))
    assert loop["file"] == "agent.py" and loop["line"] == "5" and loop["col"] == "5"


@pytest.mark.skipif(sys.platform == "win32", reason="file names with ':' and newlines")
def test_github_annotations_survive_hostile_file_names(project):
    name = "odd, name:1\n::error file=x.py,line=1::owned %0A.py"
    write(project, {name: AGENT})
    _, text = _run("--output-format", "github", str(project))
    lines = text.splitlines()
    assert len(lines) == 1, lines
    level, fields, message = _github_fields(lines[0])
    assert level == "error"
    assert _unescape(fields["file"]) == name
    assert "\n" not in message


def test_gitlab_code_quality(project):
    _project(project)
    code, text = _run("--output-format", "gitlab", str(project))
    assert code == 1
    entries = json.loads(text)
    assert entries
    for entry in entries:
        assert set(entry) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert entry["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert isinstance(entry["location"]["path"], str)
        assert isinstance(entry["location"]["lines"]["begin"], int)
    fingerprints = [entry["fingerprint"] for entry in entries]
    assert len(fingerprints) == len(set(fingerprints))
    loop = next(e for e in entries if e["check_name"] == "TFA0802")
    assert loop["severity"] == "critical" and loop["location"]["path"] == "agent.py"
    assert not any("caller's timeout" in e["description"] for e in entries)  # suppressed


def test_junit_report(project, tmp_path_factory):
    from junitparser import Error, Failure, JUnitXml

    _project(project)
    out = tmp_path_factory.mktemp("junit") / "report.xml"
    code, _ = _run("--output-format", "junit", "-o", str(out), str(project))
    assert code == 1
    xml = JUnitXml.fromfile(str(out))
    cases = {case.name: case for suite in xml for case in suite}
    assert set(cases) == {"agent.py", "calc.py", "quiet.py", "broken.py", "clean.py"}
    assert cases["clean.py"].is_passed
    assert any(isinstance(r, Failure) and r.type == "TFA0802" for r in cases["agent.py"].result)
    assert any(isinstance(r, Error) for r in cases["broken.py"].result)
    assert cases["quiet.py"].is_passed


@pytest.mark.skipif(sys.platform == "win32", reason="file names with control characters")
def test_junit_survives_hostile_file_names(project, tmp_path_factory):
    from junitparser import JUnitXml

    name = "bell\x07<&\"'>.py"
    write(project, {name: AGENT})
    undecodable = os.fsdecode(b"latin\xe9.py")
    write(project, {undecodable: AGENT})
    out = tmp_path_factory.mktemp("junit") / "report.xml"
    _run("--output-format", "junit", "-o", str(out), str(project))
    names = {case.name for suite in JUnitXml.fromfile(str(out)) for case in suite}
    assert names == {"bell\\x07<&\"'>.py", "latin\\udce9.py"}


@pytest.mark.parametrize("output_format", ["sarif", "github", "gitlab", "junit"])
def test_audit_writes_the_ci_formats(project, output_format):
    write(project, {"agent.py": AGENT})
    result = invoke("audit", "--output-format", output_format, str(project))
    assert result.exit_code == 0, result.stderr
    assert "agent.py" in result.stdout
