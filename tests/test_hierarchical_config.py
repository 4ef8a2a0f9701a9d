"""Each file uses the closest configuration file above it (ruff's rule): a monorepo's services
keep their own pyproject.toml, `extend` chains explicitly, and per-file ignores and excludes are
anchored to the folder of the file that declares them."""

from __future__ import annotations

from helpers import AGENT, STATEFUL, check_json, write

ROOT_CONFIG = "[tool.factorlint]\nignore = []\n"
BILLING = '[project]\nname = "billing"\n\n[tool.factorlint]\nignore = ["TFA08"]\n'
SEARCH = (
    '[tool.factorlint]\nextend-exclude = ["generated"]\n\n'
    '[tool.factorlint.per-file-ignores]\n"legacy/*" = ["TFA12"]\n'
)


def _monorepo(root) -> None:
    write(root, {
        ".git/HEAD": "ref: refs/heads/main\n",
        "pyproject.toml": ROOT_CONFIG,
        "services/billing/pyproject.toml": BILLING,
        "services/billing/agent.py": AGENT,
        "services/search/pyproject.toml": SEARCH,
        "services/search/agent.py": AGENT,
        "services/search/legacy/chat.py": STATEFUL,
        "services/search/generated/agent.py": AGENT,
        "services/plain/pyproject.toml": '[project]\nname = "plain"\n',  # no [tool.factorlint]: the root's
        "services/plain/agent.py": AGENT,
        "legacy/chat.py": STATEFUL,
    })


def _found(report) -> set[tuple[str, str]]:
    return {(f["path"], f["code"]) for f in report["findings"]}


def test_each_file_uses_the_closest_configuration(project):
    _monorepo(project)
    _, report = check_json(str(project))
    found = _found(report)
    assert ("services/billing/agent.py", "TFA0802") not in found  # billing ignores TFA08
    assert ("services/search/agent.py", "TFA0802") in found
    assert ("services/plain/agent.py", "TFA0802") in found
    assert not any(path.startswith("services/search/legacy/") for path, _ in found)  # anchored ignore
    assert ("legacy/chat.py", "TFA1201") in found  # the root's legacy/ is not search's legacy/
    assert not any(path.startswith("services/search/generated/") for path, _ in found)  # its own exclude


def test_extend_chains_explicitly(project):
    _monorepo(project)
    write(project, {
        "pyproject.toml": '[tool.factorlint]\nignore = ["TFA12"]\n',
        "services/billing/pyproject.toml": '[tool.factorlint]\nextend = "../../pyproject.toml"\nignore = ["TFA08"]\n',
        "services/billing/chat.py": STATEFUL,
    })
    _, report = check_json(str(project))
    found = _found(report)
    assert not any(path.startswith("services/billing/") for path, _ in found)  # TFA08 and, by extend, TFA12
    assert ("services/search/legacy/chat.py", "TFA1201") not in found
    assert ("legacy/chat.py", "TFA1201") not in found  # the root ignores TFA12
    assert ("services/search/agent.py", "TFA0802") in found


def test_one_configuration_with_config_or_isolated(project):
    _monorepo(project)
    for flags in (("--config", str(project / "pyproject.toml")), ("--isolated",)):
        _, report = check_json(*flags, str(project))
        found = _found(report)
        assert ("services/billing/agent.py", "TFA0802") in found, flags
        assert ("services/search/legacy/chat.py", "TFA1201") in found, flags


def test_a_service_checked_on_its_own(project):
    _monorepo(project)
    _, report = check_json(str(project / "services" / "search"))
    found = _found(report)
    assert found == {("services/search/agent.py", "TFA0802")}
    _, report = check_json(str(project / "services" / "billing"))
    assert _found(report) == set()


def test_pre_commit_files_use_their_service_configuration(project):
    _monorepo(project)
    _, report = check_json(str(project / "services/billing/agent.py"), str(project / "services/search/agent.py"))
    assert _found(report) == {("services/search/agent.py", "TFA0802")}
