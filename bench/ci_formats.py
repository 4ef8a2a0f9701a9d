"""Write every CI format for each project of an unpacked corpus and check each as its consumer
would: SARIF against the OASIS 2.1.0 schema (tests/data), JUnit through junitparser, GitLab Code
Quality's documented fields with unique fingerprints, and one ``::`` command per finding in the
GitHub output. Needs the test extras (``pip install ".[test]"``).

    python bench/ci_formats.py CORPUS_DIR [PROJECT ...]

Prints one line per project and exits 1 if any output fails its check.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

FORMATS = ("json", "sarif", "github", "gitlab", "junit")
SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def check_project(folder: Path, out: Path) -> list[str]:
    import jsonschema
    from junitparser import JUnitXml

    schema = json.loads((Path(__file__).resolve().parent.parent / "tests/data/sarif-schema-2.1.0.json").read_text())
    for name in FORMATS:
        subprocess.run(
            [sys.executable, "-m", "factorlint", "check", ".", "--output-format", name, "-o", str(out / name)],
            cwd=folder, capture_output=True, check=False,
        )
    problems = []
    findings = json.loads((out / "json").read_text())["findings"]
    sarif = json.loads((out / "sarif").read_text())
    problems += [f"sarif: {e.message}" for e in jsonschema.Draft4Validator(schema).iter_errors(sarif)]
    results = [r for r in sarif["runs"][0]["results"] if "suppressions" not in r]
    if len(results) != len(findings):
        problems.append(f"sarif: {len(results)} results for {len(findings)} findings")
    github = (out / "github").read_text().splitlines()
    if len(github) != len(findings) or not all(line.startswith("::") for line in github):
        problems.append("github: not one command per finding")
    gitlab = json.loads((out / "gitlab").read_text())
    fingerprints = [entry["fingerprint"] for entry in gitlab]
    if len(set(fingerprints)) != len(fingerprints):
        problems.append("gitlab: fingerprints repeat")
    for entry in gitlab:
        if entry.get("severity") not in SEVERITIES or not {"description", "check_name", "location"} <= set(entry):
            problems.append(f"gitlab: {entry.get('check_name')}: missing or bad fields")
    junit = JUnitXml.fromfile(str(out / "junit"))
    failures = sum(1 for suite in junit for case in suite for _ in case.result)
    if failures != len(findings):
        problems.append(f"junit: {failures} failures for {len(findings)} findings")
    return problems


def main(corpus: str, *projects: str) -> int:
    root = Path(corpus)
    names = projects or tuple(sorted(p.name for p in root.iterdir() if p.is_dir()))
    failed = False
    for name in names:
        with tempfile.TemporaryDirectory() as out:
            problems = check_project(root / name, Path(out))
        failed = failed or bool(problems)
        print(f"{name}: {'ok' if not problems else '; '.join(problems[:3])}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
