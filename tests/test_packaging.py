"""The files that make factorlint installable and usable as a pre-commit hook."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _hooks() -> list[dict]:
    """Parse the small, flat YAML list of .pre-commit-hooks.yaml without a YAML dependency."""
    hooks, current = [], None
    for line in (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            current = {}
            hooks.append(current)
            line = line[2:]
        key, _, value = line.strip().partition(":")
        current[key.strip()] = value.strip().strip('"')
    return hooks


def test_pre_commit_hook_follows_the_conventions():
    (hook,) = _hooks()
    assert hook["id"] == "factorlint"
    assert hook["entry"] == "factorlint check --force-exclude"
    assert hook["language"] == "python"
    assert hook["types_or"] == "[python, pyi]"
    assert hook["require_serial"] == "true"
    assert hook["minimum_pre_commit_version"] == "2.9.2"


def test_console_script_and_knowledge_are_packaged():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["factorlint"] == "factorlint.cli:run"
    force = project["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force == {"rules": "factorlint/_knowledge"}


def test_installed_package_finds_its_knowledge():
    from factorlint.knowledge import default_knowledge

    knowledge = default_knowledge()
    assert len(knowledge.factors.factors) == 13
    assert knowledge.agent_constructors.first("langchain.agents.AgentExecutor") is not None


def test_readme_lists_every_rule():
    from factorlint.checks.registry import all_rules

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [r.meta.code for r in all_rules() if f"| {r.meta.code} | {r.meta.name} |" not in readme]
    assert not missing
