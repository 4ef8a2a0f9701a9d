"""A run on some files of a project (what pre-commit runs) sees the whole project, reports only them.

The regression: an unbounded agent loop in agent.py around ``ask()``, a wrapper defined in llm.py,
passed ``factorlint check agent.py`` (the pre-commit hook) while ``factorlint check .`` reported
TFA0802, because the one-file run did not know that ``ask`` reaches a model.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CLEAN, check_json, codes, invoke, write

from factorlint import api, project_context
from factorlint.config import Overrides, resolve_settings
from factorlint.discovery import discover

# The wrapper lives in llm.py, with a finding of its own (module-level history, TFA1201, line 12)
# that only a run on llm.py or on the project reports.
LLM = '''\
from openai import OpenAI

client = OpenAI()
HISTORY = []


def ask(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)


def chat(user_msg):
    HISTORY.append({"role": "user", "content": user_msg})
    return client.chat.completions.create(model="gpt-4o", messages=HISTORY)
'''

# An agent loop with no step bound around the wrapper: TFA0802 on line 5, once ``ask`` is known
# to call a model; nothing at all without that knowledge.
AGENT = '''\
from llm import ask


def run(messages):
    while True:
        reply = ask(messages)
        messages.append(reply)
'''

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=root, capture_output=True, text=True, check=True,
    )
    return completed.stdout


def _repository(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", ".")
    write(root, files)
    return root


@pytest.fixture
def repo(project):
    """A git repository (the current folder) holding llm.py and agent.py."""
    return _repository(project, {"llm.py": LLM, "agent.py": AGENT})


@pytest.fixture
def analysed(monkeypatch):
    """The relative paths each run analyses (not served from the cache), run by run."""
    runs: list[list[str]] = []
    real = api._run_tasks

    def recording(pending, *args, **kwargs):
        runs.append(sorted(task[1] for _, task in pending))
        return real(pending, *args, **kwargs)

    monkeypatch.setattr(api, "_run_tasks", recording)
    return runs


@needs_git
def test_one_file_run_reports_the_loop_around_a_wrapper_in_another_file(repo):
    result = invoke("check", "agent.py")
    assert result.exit_code == 1, result.stdout
    assert "agent.py:5:5: TFA0802" in result.stdout
    assert "llm.py" not in result.stdout  # llm.py's own finding is not this run's business
    _, report = check_json("agent.py")
    assert ("agent.py", "TFA0802", 5) in codes(report)
    assert {f["path"] for f in report["findings"]} == {"agent.py"}
    assert report["summary"]["files"] == 1  # the given file, not the project


@needs_git
def test_without_project_context_the_file_is_linted_alone(repo):
    """Why --no-project-context exists: a run that must not read the rest of the project (a quick
    look at one file, no cache) gets the file's own analysis, which cannot know that ``ask``
    reaches a model, so the loop passes."""
    result = invoke("check", "--no-project-context", "agent.py")
    assert result.exit_code == 0, result.stdout
    assert "TFA0802" not in result.stdout


@needs_git
def test_each_file_gets_what_the_project_run_reports_for_it(repo):
    write(repo, {"util.py": CLEAN, "pkg/__init__.py": "", "pkg/chat.py": LLM.replace("ask", "talk")})
    _, whole = check_json(".")
    assert {f["path"] for f in whole["findings"]} >= {"agent.py", "llm.py", "pkg/chat.py"}
    for path in ("agent.py", "llm.py", "util.py", "pkg/chat.py"):
        _, alone = check_json(path)
        assert alone["findings"] == [f for f in whole["findings"] if f["path"] == path], path
        assert alone["summary"]["files"] == 1


@needs_git
def test_a_warm_run_analyses_only_what_changed(repo, analysed):
    invoke("check", ".")
    assert analysed[-1] == ["agent.py", "llm.py"]
    assert "TFA0802" in invoke("check", "agent.py").stdout
    assert analysed[-1] == []  # the project run's results serve the one-file run
    write(repo, {"agent.py": AGENT + "\n# edited\n"})
    assert "TFA0802" in invoke("check", "--force-exclude", "agent.py").stdout
    assert analysed[-1] == ["agent.py"]  # llm.py's facts still come from the cache


@needs_git
def test_a_one_file_run_fills_the_cache_for_the_project_run(repo, analysed):
    assert "TFA0802" in invoke("check", "agent.py").stdout
    assert analysed[-1] == ["agent.py", "llm.py"]
    result = invoke("check", ".")
    assert "agent.py:5:5: TFA0802" in result.stdout and "llm.py:" in result.stdout
    assert analysed[-1] == []


@needs_git
def test_a_run_on_a_folder_is_unchanged(repo, monkeypatch):
    """A folder is the scope of its run, project or not: nothing above it is read, and its files
    keep the paths (and so the roles and per-file-ignores) they have relative to it."""
    write(repo, {"examples/demo/agent.py": AGENT})  # ``llm`` is not in the folder: no TFA0802
    calls = []
    real = project_context.discover
    monkeypatch.setattr(project_context, "discover", lambda *a: calls.append(a) or real(*a))
    for args in ((), (".",), (str(repo),)):
        result = invoke("check", *args)
        assert "agent.py:5:5: TFA0802" in result.stdout and "llm.py:" in result.stdout
    for args in (("examples/demo",), ("--no-project-context", "examples/demo")):
        _, report = check_json(*args)
        assert codes(report) == [] and report["summary"]["files"] == 1
    assert calls == []  # no second discovery


@needs_git
def test_paths_are_shown_as_given_from_a_subfolder(project):
    repo = _repository(project, {
        "pyproject.toml": "[tool.factorlint]\nmax-steps = 20\n",
        "app/__init__.py": "",
        "app/agent.py": AGENT.replace("from llm import", "from app.core.llm import"),
        "app/core/__init__.py": "",
        "app/core/llm.py": LLM,
    })
    _, whole = check_json(".")
    expected = [f["fingerprint"] for f in whole["findings"] if f["path"] == "app/agent.py"]
    _, named = check_json("app/agent.py")
    assert ("app/agent.py", "TFA0802", 5) in codes(named)
    assert [f["fingerprint"] for f in named["findings"]] == expected
    os.chdir(repo / "app")  # below the project root: paths are shown relative to here, as always
    _, inside = check_json("agent.py")
    assert codes(inside) == [(p.removeprefix("app/"), c, n) for p, c, n in codes(named)]
    _, both = check_json("agent.py", "core/llm.py")
    assert codes(both) == [(p.removeprefix("app/"), c, n) for p, c, n in codes(whole) if p.startswith("app/")]
    assert ("core/llm.py", "TFA1201", 12) in codes(both) and both["summary"]["files"] == 2


@needs_git
def test_an_excluded_file_given_with_force_exclude_costs_nothing(project, analysed):
    _repository(project, {
        "pyproject.toml": '[tool.factorlint]\nextend-exclude = ["scripts"]\n',
        "llm.py": LLM,
        "scripts/agent.py": AGENT,
    })
    result = invoke("check", "--force-exclude", "scripts/agent.py")
    assert result.exit_code == 0 and analysed == [[]]  # nothing to lint: the project is not read
    result = invoke("check", "scripts/agent.py")  # named without --force-exclude: linted, in context
    assert "scripts/agent.py:5:5: TFA0802" in result.stdout
    assert analysed[-1] == ["llm.py", "scripts/agent.py"]


@needs_git
def test_the_project_root(project):
    repo = _repository(project, {
        "svc/factorlint.toml": "max-steps = 20\n",
        "svc/a/agent.py": AGENT,
        "other/b.py": CLEAN,
    })
    plain = project.parent / f"{project.name}-plain"  # no repository, no pyproject.toml
    write(plain, {"x/one.py": CLEAN, "y/two.py": CLEAN})
    sdist = project.parent / f"{project.name}-sdist"  # no repository, a pyproject.toml
    write(sdist, {"pyproject.toml": "[project]\nname = 'p'\n", "src/p/one.py": CLEAN})

    def root_of(*paths: str, isolated: bool = False) -> Path | None:
        targets = [Path(p) for p in paths]
        folders = [str((p if p.is_dir() else p.parent).resolve()) for p in targets]
        settings = resolve_settings(Path("."), Overrides(isolated=isolated), Path(os.path.commonpath(folders)))
        return project_context.find_project_root(targets, settings)

    assert root_of("svc/a/agent.py") == repo / "svc"  # the configuration's folder
    assert root_of("svc/a/agent.py", isolated=True) == repo  # no configuration: the repository
    assert root_of("svc/a/agent.py", "other/b.py") == repo  # no configuration above both
    assert root_of(str(plain / "x/one.py"), str(plain / "y/two.py")) is None  # no project: alone
    assert root_of(str(sdist / "src/p/one.py")) == sdist.resolve()


def test_the_plan_keeps_a_whole_project_run_as_it_is(project):
    write(project, {"pyproject.toml": "[project]\nname = 'p'\n", "llm.py": LLM, "agent.py": AGENT})
    settings = resolve_settings(Path("."), Overrides(isolated=True), project)
    assert project_context.plan([Path(".")], settings, discover([Path(".")], settings)) is None
    given = [Path("agent.py")]
    context = project_context.plan(given, settings, discover(given, settings))
    assert context is not None
    assert [f.relative for f in context.files] == ["agent.py", "llm.py"]
    assert context.shown == {"agent.py": "agent.py"}


def test_a_loose_file_outside_any_project_is_linted_alone(project):
    """No configuration, repository or pyproject.toml above it (a script in ~/Downloads): its
    folder's other contents are not a project to analyse."""
    write(project, {"llm.py": LLM, "agent.py": AGENT, "unrelated/big.py": LLM})
    settings = resolve_settings(Path("."), Overrides(isolated=True), project)
    given = [Path("agent.py")]
    assert project_context.plan(given, settings, discover(given, settings)) is None


# --- through the real pre-commit ---------------------------------------------------------------

HOOKS = Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"


def _local_hook_config() -> str:
    """A pre-commit configuration running this project's hook as .pre-commit-hooks.yaml defines it
    (its entry's arguments, file types, serial runs), as a ``repo: local`` hook of ``language:
    system`` that runs the factorlint of the interpreter running the tests.

    The published form (``repo:`` a clone, ``rev:`` a commit) would make pre-commit build a
    virtualenv and pip-install factorlint and its dependencies into it: a minute and network
    access on every run, and it installs a commit, not the working tree under test."""
    import yaml

    (hook,) = [h for h in yaml.safe_load(HOOKS.read_text()) if h["id"] == "factorlint"]
    command, *arguments = hook["entry"].split()
    assert command == "factorlint"
    local = {
        "id": hook["id"], "name": hook["name"], "language": "system",
        "entry": shlex.join([sys.executable, "-m", "factorlint", *arguments]),
        **{key: hook[key] for key in ("types_or", "types", "files", "exclude", "require_serial") if key in hook},
    }
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]}, sort_keys=False)


@needs_git
@pytest.mark.skipif(
    importlib.util.find_spec("pre_commit") is None, reason="pre-commit is not installed (it is in the test extra)"
)
def test_the_pre_commit_hook_fails_a_commit_of_the_loop(project, tmp_path_factory):
    repo = _repository(project, {".pre-commit-config.yaml": _local_hook_config(), "llm.py": LLM})
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "--no-verify", "-m", "the wrapper")
    write(repo, {"agent.py": AGENT})
    _git(repo, "add", "agent.py")  # the commit being made: agent.py alone is staged
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home"))}
    env.pop("PRE_COMMIT", None)
    completed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run"], check=False, cwd=repo, env=env,
        capture_output=True, text=True, timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "agent.py:5:5: TFA0802" in output
    assert "llm.py:" not in output
    assert "Failed" in output
