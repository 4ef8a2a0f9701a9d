"""Library mode: a framework's own source is not judged as an application of that framework.

A project whose packaging metadata names it as a framework of the knowledge tables (crewai,
openai-agents, smolagents, ...) uses that framework's API as its own code: the framework's
tables do not apply to it, every other framework's do.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from helpers import AGENT, AGENT_LOOP_LINE, check_json, codes, write

from factorlint.api import lint_paths
from factorlint.config import Overrides, resolve_settings
from factorlint.knowledge import (
    Framework,
    KnowledgeError,
    default_knowledge,
    load_knowledge,
)
from factorlint.project_metadata import (
    library_frameworks,
    project_distribution,
    project_folder,
)
from factorlint.safe_read import PROJECT_FILE_MAX_BYTES

# A miniature crewai: Crew.kickoff_for_each runs a fresh Crew's kickoff for each input, as the
# real one does. In a user's project this is a loop handed to crewai (TFA0801, line 20).
CREW = '''\
from crewai.agent import Agent
from crewai.task import Task


class Crew:
    def __init__(self, agents, tasks):
        self.agents = agents
        self.tasks = tasks

    def kickoff(self, inputs=None):
        return [task.description for task in self.tasks]

    def kickoff_async(self, inputs=None):
        return self.kickoff(inputs)

    def kickoff_for_each(self, inputs):
        results = []
        for item in inputs:
            crew = Crew(agents=self.agents, tasks=self.tasks)
            results.append(crew.kickoff(inputs=item))
        return results
'''
CREW_KICKOFF_LINE = 20

CREWAI_PACKAGE = {
    "src/crewai/__init__.py": "from crewai.agent import Agent\nfrom crewai.crew import Crew\nfrom crewai.task import Task\n",
    "src/crewai/agent.py": "class Agent:\n    def __init__(self, role, goal, backstory, max_iter=25):\n        self.role = role\n",
    "src/crewai/task.py": "class Task:\n    def __init__(self, description, agent=None):\n        self.description = description\n",
    "src/crewai/crew.py": CREW,
}

# A user's application of crewai: the loop is crewai's (TFA0801, line 7).
APP = '''\
from crewai import Agent, Crew, Task


def run_all(topics):
    researcher = Agent(role="r", goal="g", backstory="b", max_iter=5)
    crew = Crew(agents=[researcher], tasks=[Task(description="d", agent=researcher)])
    return crew.kickoff_for_each(inputs=[{"topic": t} for t in topics])
'''
APP_LOOP_LINE = 7


def _pyproject(name: str) -> str:
    return f'[project]\nname = "{name}"\nversion = "1.0"\n'


def _settings(root: Path, **overrides):
    return resolve_settings(root, Overrides(**overrides), root)


def _lint(root: Path, jobs: int = 0, **kwargs) -> set[tuple[str, str, int]]:
    report = lint_paths([root], _settings(root, select=["ALL"]), jobs=jobs, **kwargs)
    return {(f.path, f.code, f.line) for f in report.findings}


# --- the framework's own source ----------------------------------------------------------------


@pytest.mark.parametrize("jobs", [0, 2])  # in this process, and in supervised worker processes
def test_crewai_calling_itself_is_not_a_loop_handed_to_crewai(project, jobs):
    write(project, {"pyproject.toml": _pyproject("crewai"), **CREWAI_PACKAGE})
    assert _settings(project).internal_frameworks == {"crewai"}
    assert not {f for f in _lint(project, jobs) if f[1] == "TFA0801"}


# crewai's own LLM class, which reaches no model here: in library mode ``LLM.call`` is the
# project's function, not the crewai model call of the tables, so the loop around it is no agent
# loop. The same loop around a call that does reach a model is one (TFA0802, line 6).
LLM_STUB = """\
class LLM:
    def __init__(self, model):
        self.model = model

    def call(self, messages):
        return {"role": "assistant", "content": "cached"}
"""
LLM_REAL = """\
import litellm


class LLM:
    def __init__(self, model):
        self.model = model

    def call(self, messages):
        return litellm.completion(model=self.model, messages=messages)
"""
LOOP = """\
from crewai.llm import LLM


def run(messages):
    llm = LLM(model="m")
    while True:
        reply = llm.call(messages)
        messages.append(reply)
"""


@pytest.mark.parametrize(("llm", "expected"), [(LLM_STUB, set()), (LLM_REAL, {("src/crewai/loop.py", "TFA0802", 6)})])
def test_the_project_pass_decides_what_reaches_a_model(project, llm, expected):
    write(project, {"pyproject.toml": _pyproject("crewai"), "src/crewai/__init__.py": "",
                    "src/crewai/llm.py": llm, "src/crewai/loop.py": LOOP})
    # lint_paths gives the project pass the run's view of the tables, without crewai's own.
    assert {f for f in _lint(project) if f[1] == "TFA0802"} == expected


def test_the_same_code_in_an_application_still_reports(project):
    # Vendored into an application, the crewai package is crewai as the application uses it.
    write(project, {"pyproject.toml": _pyproject("myapp"), **CREWAI_PACKAGE, "app.py": APP})
    assert _settings(project).internal_frameworks == frozenset()
    found = _lint(project)
    assert ("src/crewai/crew.py", "TFA0801", CREW_KICKOFF_LINE) in found
    assert ("app.py", "TFA0801", APP_LOOP_LINE) in found


def test_an_application_importing_crewai_still_reports(project):
    write(project, {"pyproject.toml": _pyproject("myapp"), "app.py": APP})
    assert ("app.py", "TFA0801", APP_LOOP_LINE) in _lint(project)


def test_other_frameworks_keep_applying(project):
    # crewai calling the OpenAI SDK in an unbounded loop: still a model call, still TFA0802.
    write(project, {"pyproject.toml": _pyproject("crewai"), **CREWAI_PACKAGE, "src/crewai/llm.py": AGENT})
    assert ("src/crewai/llm.py", "TFA0802", AGENT_LOOP_LINE) in _lint(project)


def test_the_command_line_reads_the_scanned_projects_metadata(project):
    write(project, {"pyproject.toml": _pyproject("crewai"), **CREWAI_PACKAGE})
    assert [c for c in codes(check_json(".", "--no-cache")[1]) if c[1] == "TFA0801"] == []
    write(project, {"pyproject.toml": _pyproject("crewai-fork")})
    assert ("src/crewai/crew.py", "TFA0801", CREW_KICKOFF_LINE) in codes(check_json(".", "--no-cache")[1])


def test_a_subfolder_scan_finds_the_project_above_it(project):
    write(project, {"pyproject.toml": _pyproject("crewai"), **CREWAI_PACKAGE})
    assert _settings(project / "src" / "crewai").internal_frameworks == {"crewai"}


def test_the_cache_key_tells_library_mode_apart(project):
    from factorlint.engine.run.cache import settings_key

    settings = _settings(project)
    assert settings_key(settings) != settings_key(dataclasses.replace(settings, internal_frameworks=frozenset({"crewai"})))


def test_the_audit_does_not_list_the_project_as_a_framework_it_uses(project):
    from factorlint.audit.build import build_audit

    write(project, {"pyproject.toml": _pyproject("crewai"), **CREWAI_PACKAGE})
    settings = dataclasses.replace(_settings(project), versions={"crewai": "1.0", "openai": "1.2"})
    report = lint_paths([project], settings, jobs=0)
    assert build_audit(report, settings).versions.keys() >= {"openai"}
    assert "crewai" not in build_audit(report, settings).versions
    as_application = dataclasses.replace(settings, internal_frameworks=frozenset())
    assert build_audit(report, as_application).versions["crewai"] == "1.0"


# --- where the name comes from -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pyproject.toml": '[project]\nname = "openai-agents"\n'}, "openai-agents"),
        ({"pyproject.toml": '[tool.poetry]\nname = "smolagents"\n'}, "smolagents"),
        ({"setup.cfg": "[metadata]\nname = Pydantic_AI\nversion = 1.0\n"}, "Pydantic_AI"),
        ({"setup.py": 'from setuptools import setup\nsetup(name="crewai", version="1")\n'}, "crewai"),
        ({"setup.py": 'import setuptools\nNAME = "dspy-ai"\nsetuptools.setup(name=NAME)\n'}, "dspy-ai"),
        ({"PKG-INFO": "Metadata-Version: 2.1\nName: langgraph\nVersion: 1.0\n\nName: not-this\n"}, "langgraph"),
        ({"crewai-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: crewai\nVersion: 1.0\n"}, "crewai"),
        # The first source that names the project wins: setuptools with a tool-only pyproject.
        ({"pyproject.toml": "[tool.black]\nline-length = 100\n", "setup.cfg": "[metadata]\nname = crewai\n"}, "crewai"),
        # Nothing usable: no name, an invalid one, two wheels side by side (a site-packages).
        ({"pyproject.toml": "[project]\nversion = '1'\n"}, None),
        ({"pyproject.toml": '[project]\nname = "not a name!"\n'}, None),
        ({"pyproject.toml": "project = 5\n"}, None),
        ({"setup.cfg": "[metadata\nname = crewai\n"}, None),
        ({"setup.py": "setup(name=compute_name())\n"}, None),
        ({"setup.py": "def broken(:\n"}, None),
        ({"a-1.dist-info/METADATA": "Name: crewai\n", "b-1.dist-info/METADATA": "Name: openai\n"}, None),
    ],
)
def test_the_project_name_is_read_from_its_metadata(project, files, expected):
    write(project, files)
    assert project_distribution(project) == expected


def test_setup_py_is_read_never_run(project):
    marker = project / "ran"
    write(project, {"setup.py": (
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('setup.py was executed')\n"
        "from setuptools import setup\n"
        "setup(name='crewai')\n"
    )})
    assert library_frameworks(project) == {"crewai"}
    assert _settings(project).internal_frameworks == {"crewai"}
    assert not marker.exists()


def test_the_closest_folder_with_metadata_is_the_project(project):
    # A sub-project of a monorepo is its own project, even when its pyproject names nothing.
    write(project, {
        "pyproject.toml": _pyproject("crewai"),
        "libs/tool/pyproject.toml": "[tool.ruff]\n",
        "libs/tool/pkg/mod.py": "",
    })
    assert project_folder(project / "libs" / "tool" / "pkg") == project / "libs" / "tool"
    assert project_distribution(project / "libs" / "tool" / "pkg") is None
    assert project_distribution(project / "libs") == "crewai"


def test_the_search_stops_at_the_repository_root(project):
    write(project, {"pyproject.toml": _pyproject("crewai"), "repo/.git/HEAD": "ref: refs/heads/main\n", "repo/app.py": ""})
    assert project_folder(project / "repo") is None
    assert _settings(project / "repo").internal_frameworks == frozenset()


# --- hostile metadata is passed over -----------------------------------------------------------


def test_a_malformed_pyproject_is_passed_over(project):
    write(project, {"pyproject.toml": '[project\nname = "crewai"\n'})
    assert project_distribution(project) is None
    # --isolated: the configuration search, which reports a malformed pyproject, is not run.
    assert _settings(project, isolated=True).internal_frameworks == frozenset()


def test_a_huge_pyproject_is_passed_over(project):
    text = _pyproject("crewai") + "#" * PROJECT_FILE_MAX_BYTES + "\n"
    write(project, {"pyproject.toml": text})
    assert project_distribution(project) is None


def test_a_pyproject_nested_too_deeply_is_passed_over(project):
    write(project, {"pyproject.toml": "x = " + "[" * 100_000 + "]" * 100_000 + '\n[project]\nname = "crewai"\n'})
    assert project_distribution(project) is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_never_opened(project):
    os.mkfifo(project / "pyproject.toml")  # opening it for reading would block forever
    os.mkfifo(project / "PKG-INFO")
    assert project_distribution(project) is None
    assert _settings(project, isolated=True).internal_frameworks == frozenset()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_symlink_is_followed_only_inside_the_repository(tmp_path):
    write(tmp_path, {"outside/PKG-INFO": "Name: crewai\n", "repo/.git/HEAD": "ref: refs/heads/main\n",
                     "repo/meta/PKG-INFO": "Name: smolagents\n", "repo/app.py": ""})
    repo = tmp_path / "repo"
    os.symlink(tmp_path / "outside" / "PKG-INFO", repo / "PKG-INFO")
    assert project_distribution(repo) is None
    (repo / "PKG-INFO").unlink()
    os.symlink(repo / "meta" / "PKG-INFO", repo / "PKG-INFO")
    assert project_distribution(repo) == "smolagents"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_symlinked_dist_info_folder_is_not_a_wheel(tmp_path):
    write(tmp_path, {"elsewhere/crewai-1.dist-info/METADATA": "Name: crewai\n", "project/app.py": ""})
    os.symlink(tmp_path / "elsewhere" / "crewai-1.dist-info", tmp_path / "project" / "crewai-1.dist-info")
    assert project_folder(tmp_path / "project") != tmp_path / "project"
    assert project_distribution(tmp_path / "project") is None


# --- the knowledge view ------------------------------------------------------------------------


def test_frameworks_are_found_by_any_of_their_distributions():
    knowledge = default_knowledge()
    assert knowledge.frameworks_distributed_as("openai-agents") == {"openai_agents"}
    assert knowledge.frameworks_distributed_as("Pydantic_AI") == {"pydantic_ai"}
    assert knowledge.frameworks_distributed_as("pydantic-ai-slim") == {"pydantic_ai"}
    assert knowledge.frameworks_distributed_as("langchain-openai") == {"langchain"}
    assert knowledge.frameworks_distributed_as("browser-use") == frozenset()


def test_no_distribution_is_claimed_by_two_frameworks():
    claimed: dict[str, str] = {}
    for framework in default_knowledge().frameworks:
        for name in framework.own_distributions():
            assert claimed.setdefault(name, framework.name) == framework.name, name


def test_source_distributions_must_be_normalised():
    with pytest.raises(ValueError, match="normalised distribution name"):
        Framework.model_validate({"name": "x", "title": "X", "packages": ["x"], "source_distributions": ["X_Lib"]})


def test_a_table_with_an_unnormalised_source_distribution_fails_to_load(tmp_path):
    write(tmp_path, {
        "factors.toml": (Path(__file__).parents[1] / "rules" / "factors.toml").read_text(encoding="utf-8"),
        "frameworks/x.toml": 'name = "x"\ntitle = "X"\npackages = ["x"]\nsource_distributions = ["X.lib"]\n',
    })
    with pytest.raises(KnowledgeError, match=r"x\.toml: source_distributions"):
        load_knowledge(tmp_path)


def test_the_view_leaves_out_the_framework_and_keeps_the_others():
    knowledge = default_knowledge()
    view = knowledge.without({"crewai"})
    assert "crewai" not in {f.name for f in view.frameworks}
    assert view.agent_constructors.get("crewai.Crew") == []
    assert knowledge.agent_constructors.get("crewai.Crew") != []
    assert not view.is_framework_module("crewai.crew.Crew")
    assert view.client_constructors.get("openai.OpenAI") == knowledge.client_constructors.get("openai.OpenAI") != []
    assert view.is_framework_module("openai.OpenAI")


def test_the_view_drops_other_tables_entries_for_the_frameworks_names():
    knowledge = default_knowledge()
    assert knowledge.unsafe_settings.get("smolagents.CodeAgent") != []
    assert knowledge.without({"smolagents"}).unsafe_settings.get("smolagents.CodeAgent") == []
    # LangChain's prompt table covers only LangChain's packages: it goes with LangChain.
    assert "langchain_prompts" not in {f.name for f in knowledge.without({"langchain"}).frameworks}
    assert "langchain_prompts" in {f.name for f in knowledge.without({"crewai"}).frameworks}


def test_a_glob_spanning_internal_and_external_names_answers_only_for_external_ones():
    from factorlint.knowledge import Knowledge

    base = default_knowledge()
    own = Framework.model_validate({"name": "acme", "title": "Acme", "packages": ["acme"]})
    effects = Framework.model_validate({
        "name": "effects", "title": "Effects", "packages": [],
        "side_effects": [
            {"label": "sends", "names": ["acme*.send"]},  # acme.send and acme_mail.send
            {"label": "deletes", "names": ["acme.*.delete", "acme.purge"]},  # acme's own only
        ],
    })
    knowledge = Knowledge(base.factors, [own, effects])
    view = knowledge.without({"acme"})
    assert [e.label for e in knowledge.side_effect_calls.get("acme.send")] == ["sends"]
    assert view.side_effect_calls.get("acme.send") == []
    assert [e.label for e in view.side_effect_calls.get("acme_mail.send")] == ["sends"]
    assert view.side_effect_calls.get("acme.db.delete") == view.side_effect_calls.get("acme.purge") == []
    assert view.side_effect_calls.globs == [("acme", "acme*.send", effects.side_effects[0])]


def test_a_framework_sharing_a_root_with_another_is_internal_alone():
    from factorlint.knowledge import Knowledge

    base = default_knowledge()
    core = Framework.model_validate({"name": "core", "title": "Core", "packages": ["acme.core"]})
    extra = Framework.model_validate({"name": "extra", "title": "Extra", "packages": ["acme.extra"]})
    view = Knowledge(base.factors, [core, extra]).without({"core"})
    assert not view.is_framework_module("acme.core.agent.Agent")
    assert view.is_framework_module("acme.extra.Tool")
    assert view.packages == {"acme.extra"}


def test_views_are_memoised_and_idempotent():
    knowledge = default_knowledge()
    view = knowledge.without(["crewai"])
    assert knowledge.without({"crewai"}) is view
    assert view.without({"crewai"}) is view
    assert knowledge.without(()) is knowledge
    assert knowledge.without({"not-a-framework"}) is knowledge
