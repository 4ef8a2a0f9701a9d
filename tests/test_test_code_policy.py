"""Test and example code is listed, not judged: the factor rules skip it unless asked, and the
hard-coded key rule runs on it either way (docs/violations.md, "Test code")."""

from __future__ import annotations

import ast
import json

from helpers import invoke, write

AGENT = '''
from openai import OpenAI
client = OpenAI()
KEY = "sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e"

def run(messages):
    while True:
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
        if reply.choices[0].finish_reason == "stop":
            break
'''


def _codes(result) -> set[tuple[str, str]]:
    return {(f["path"], f["code"]) for f in json.loads(result.stdout)["findings"]}


def test_factor_rules_skip_tests_and_examples_by_default(tmp_path):
    project = tmp_path / "p"
    write(project, {"agent.py": AGENT, "tests/test_agent.py": AGENT, "examples/demo.py": AGENT})
    found = _codes(invoke("check", str(project), "--isolated", "--no-cache", "--output-format", "json"))
    assert ("agent.py", "TFA0802") in found and ("agent.py", "TFS003") in found
    # A committed key leaks from a test as from anywhere; the factor rules stay quiet there.
    assert {c for p, c in found if p != "agent.py"} == {"TFS003"}


def test_a_setting_and_a_flag_bring_them_back(tmp_path):
    project = tmp_path / "p"
    write(project, {"tests/test_agent.py": AGENT})
    flag = _codes(invoke("check", str(project), "--isolated", "--no-cache", "--check-test-code", "--output-format", "json"))
    assert ("tests/test_agent.py", "TFA0802") in flag
    write(project, {"pyproject.toml": "[tool.factorlint]\ncheck-test-code = true\n"})
    configured = _codes(invoke("check", str(project), "--no-cache", "--output-format", "json"))
    assert ("tests/test_agent.py", "TFA0802") in configured
    off = _codes(invoke("check", str(project), "--no-cache", "--no-check-test-code", "--output-format", "json"))
    assert ("tests/test_agent.py", "TFA0802") not in off


def test_the_inventory_still_lists_what_tests_build(tmp_path):
    project = tmp_path / "p"
    write(project, {"agent.py": AGENT, "tests/test_agent.py": AGENT})
    data = json.loads(invoke("audit", str(project), "--isolated", "--no-cache", "--output-format", "json").stdout)
    listed = {(s["path"], s["kind"]) for s in data["inventory"]["test_code"]}
    assert listed == {("tests/test_agent.py", "llm_call"), ("tests/test_agent.py", "loop")}
    assert all(s["path"] == "agent.py" for s in data["inventory"]["loops"])


def test_what_counts_as_test_and_example_code():
    from factorlint.engine.read.file_roles import file_role

    assert file_role("evals/simple_evals/simpleqa_eval.py") == "test"
    assert file_role("benchmarks/run.py") == "test"
    assert file_role("backend/report_type/deep_research/example.py") == "example"
    assert file_role("app/chat_demo.py") == "example"
    # A product's own evaluation command and modules named like a feature stay application code.
    assert file_role("gptme/eval/run.py") == "app"
    assert file_role("app/examples_loader.py") == "app"
    assert file_role("app/agent.py") == "app"


WRAPPER = "from openai import OpenAI\nclient = OpenAI()\n\ndef ask(messages):\n    return client.chat.completions.create(model='m', messages=messages)\n"
LOOPING_TEST = "from app.llm import ask\n\ndef test_run():\n    messages = []\n    while True:\n        messages.append(ask(messages))\n"


def _analysed(project, *args):
    from factorlint import api
    from factorlint.config import Overrides, resolve_settings

    report = api.lint_paths([project], resolve_settings(project, Overrides(isolated=True, **dict(args)), project))
    return report, {f.path: not f.skipped for f in report.files}


def test_a_test_of_the_project_is_read_only_for_facts_the_project_needs(tmp_path):
    """What a test builds with a framework is listed; a test of the project's own functions is
    read for what it hands them, and only where that can matter: here the wrapper's callers type
    everything, so the test waits and is never read by LibCST. Nothing in it is listed."""
    project = tmp_path / "p"
    write(project, {"app/__init__.py": "", "app/llm.py": WRAPPER, "tests/test_loop.py": LOOPING_TEST,
                    "tests/test_sdk.py": AGENT.replace(KEY_LINE, ""), "examples/loop.py": LOOPING_TEST})
    report, analysed = _analysed(project)
    assert analysed["tests/test_sdk.py"] is True and analysed["tests/test_loop.py"] is False
    waiting = {f.path: f for f in report.files}["tests/test_loop.py"]
    assert waiting.deferred == ["app.llm.ask"] and waiting.facts is None
    # An example of the project's own agent is listed, as a test that builds one with an SDK is.
    listed = {s.path for s in report.sites if not s.path.startswith("app/")}
    assert listed == {"tests/test_sdk.py", "examples/loop.py"}
    # Asked to judge test code, factorlint reads it as application code.
    report, analysed = _analysed(project, ("check_test_code", True))
    assert ("tests/test_loop.py", "TFA0802") in {(f.path, f.code) for f in report.findings}
    assert "tests/test_loop.py" in {s.path for s in report.sites}


MODEL = ("import litellm\n\nclass Model:\n    def send(self, messages):\n"
         "        return litellm.completion(model='m', messages=messages)\n")
CODER = ("from app import model as models\n\nclass Coder:\n    def __init__(self, main_model):\n"
         "        self.main_model = main_model\n\n"
         "    def run(self, messages):\n        while True:\n"
         "            messages.append(self.main_model.send(messages))\n")
CODER_TEST = "from app.coder import Coder\nfrom app.model import Model\n\ndef test_run():\n    Coder(Model()).run([])\n"


def test_a_test_that_passes_the_project_a_model_types_its_parameter(tmp_path):
    """aider's main loop: ``Coder.send`` calls ``self.main_model.send_completion``, and only its
    tests show what ``main_model`` is. Such a test is read; one that imports nothing leading to
    ``Coder`` is not."""
    project = tmp_path / "p"
    other = "from app.model import Model\n\ndef test_model():\n    assert Model()\n"
    write(project, {"app/__init__.py": "", "app/model.py": MODEL, "app/coder.py": CODER,
                    "tests/test_coder.py": CODER_TEST, "tests/test_model.py": other})
    report, analysed = _analysed(project)
    assert ("app/coder.py", "TFA0802") in {(f.path, f.code) for f in report.findings}
    assert analysed["tests/test_coder.py"] is True and analysed["tests/test_model.py"] is False


def test_a_waiting_test_is_read_through_a_subclass_a_module_or_a_relative_import(tmp_path):
    project = tmp_path / "p"
    subclass = "from app.coder import Coder\n\nclass EditCoder(Coder):\n    pass\n"
    tests = {
        "tests/test_subclass.py": "from app.edit import EditCoder\nfrom app.model import Model\n\nEditCoder(Model())\n",
        "tests/test_module.py": "import app.coder as coders\nfrom app.model import Model\n\ncoders.Coder(Model())\n",
        "app/tests/test_relative.py": "from ..coder import Coder\nfrom ..model import Model\n\nCoder(Model())\n",
    }
    write(project, {"app/__init__.py": "", "app/tests/__init__.py": "", "app/model.py": MODEL, "app/coder.py": CODER,
                    "app/edit.py": subclass, **tests})
    report, analysed = _analysed(project)
    assert all(analysed[path] for path in tests), analysed
    assert ("app/coder.py", "TFA0802") in {(f.path, f.code) for f in report.findings}


def test_only_a_parameter_a_caller_could_give_a_model_makes_a_test_worth_reading(tmp_path):
    """A parameter that is annotated, given a value by the application, or never called on
    waits for no test."""
    project = tmp_path / "p"
    annotated = CODER.replace("def __init__(self, main_model)", "def __init__(self, main_model: models.Model)")
    passed = CODER + "\n\ndef build():\n    return Coder(models.Model())\n"
    unused = CODER.replace("self.main_model.send(messages)", "str(self.main_model)")
    for coder in (annotated, passed, unused):
        write(project, {"app/__init__.py": "", "app/model.py": MODEL, "app/coder.py": coder,
                        "tests/test_coder.py": CODER_TEST})
        _, analysed = _analysed(project)
        assert analysed["tests/test_coder.py"] is False, coder


def test_a_waiting_test_read_later_is_kept_in_the_cache(tmp_path, monkeypatch):
    """The cache keeps a waiting test's deferral; when a change to the project makes its facts
    needed, it is read from disk again and its facts replace the deferral, so the run after
    reads nothing."""
    from factorlint import api
    from factorlint.config import Overrides, resolve_settings

    project = tmp_path / "p"
    annotated = CODER.replace("def __init__(self, main_model)", "def __init__(self, main_model: models.Model)")
    write(project, {"app/__init__.py": "", "app/model.py": MODEL, "app/coder.py": annotated,
                    "tests/test_coder.py": CODER_TEST})
    runs: list[list[tuple[str, bool]]] = []
    real = api._run_tasks

    def recording(pending, *args, **kwargs):
        runs.append(sorted((task[1], task[5]) for _, task in pending))
        return real(pending, *args, **kwargs)

    monkeypatch.setattr(api, "_run_tasks", recording)

    def run(cache: bool = True):
        runs.clear()
        settings = resolve_settings(project, Overrides(isolated=True), project)
        report = api.lint_paths([project], settings, cache_dir=tmp_path / "cache" if cache else None)
        facts = {f.path: f.facts is not None for f in report.files}
        return [run for run in runs if run], {(f.path, f.code) for f in report.findings}, facts

    analysed, found, _ = run()
    assert analysed == [[(p, True) for p in ("app/__init__.py", "app/coder.py", "app/model.py", "tests/test_coder.py")]]
    write(project, {"app/coder.py": CODER})
    analysed, found, facts = run()
    assert analysed == [[("app/coder.py", True)], [("tests/test_coder.py", False)]]
    assert ("app/coder.py", "TFA0802") in found and facts["tests/test_coder.py"]
    analysed, again, _ = run()
    assert analysed == [] and again == found
    # Annotated again: the test's facts, in the cache since the last run, no longer count, as
    # they would not in a run without the cache.
    write(project, {"app/coder.py": annotated})
    analysed, found, facts = run()
    assert analysed == [[("app/coder.py", True)]] and not facts["tests/test_coder.py"]
    assert run(cache=False)[1:] == (found, facts)


def test_a_module_named_like_a_test_that_the_project_imports_is_read(tmp_path):
    """metagpt's ``actions/write_test.py`` is an action that writes tests, named as pytest names
    a test; the application imports it, so what it calls is part of the agent."""
    project = tmp_path / "p"
    action = "from app.model import Model\n\ndef write_test(code):\n    return Model().send([code])\n"
    role = ("from app.write_test import write_test\n\ndef act(code):\n    while True:\n"
            "        code = write_test(code)\n")
    write(project, {"app/__init__.py": "", "app/model.py": MODEL, "app/write_test.py": action, "app/role.py": role})
    report, analysed = _analysed(project)
    assert {f.path: f.role for f in report.files}["app/write_test.py"] == "test"
    assert analysed["app/write_test.py"] is True
    assert ("app/role.py", "TFA0802") in {(f.path, f.code) for f in report.findings}


SCHEMA_FIXTURE = (
    "{imports}\n\nEXPECTED = {{'type': 'function', 'name': 'lookup', 'description': 'Find a customer.',\n"
    "            'parameters': {{'type': 'object', 'properties': {{'id': {{'type': 'string'}}}}}}}}\n\n"
    "def test_convert():\n    assert convert() == EXPECTED\n"
)


def test_a_test_that_imports_only_data_types_builds_nothing(tmp_path):
    """A library's tests compare converted payloads with hand-written tool schemas and import the
    SDK's response types to build fixtures: nothing there is built with the SDK, so nothing is
    listed. The same schema beside a client the test builds is listed."""
    project = tmp_path / "p"
    write(project, {
        "app/__init__.py": "",
        "tests/test_types.py": SCHEMA_FIXTURE.format(
            imports="from openai.types.responses import Response\nimport openai.types.chat as chat_types"),
        "tests/test_inside.py": SCHEMA_FIXTURE.format(imports="def helper():\n    from openai.types import Completion"),
        "tests/test_client.py": SCHEMA_FIXTURE.format(imports="from openai import AsyncOpenAI"),
        "tests/test_module.py": SCHEMA_FIXTURE.format(imports="try:\n    import openai.types\nexcept ImportError:\n    pass"),
    })
    report, _ = _analysed(project)
    listed = {s.path for s in report.sites}
    assert listed == {"tests/test_client.py", "tests/test_module.py"}


def test_what_an_import_brings_in_of_the_tables():
    from factorlint.engine.read.prefilter import builds_with_framework
    from factorlint.knowledge import default_knowledge

    knowledge = default_knowledge()
    built = ("openai", "openai.OpenAI", "litellm.completion", "langchain_openai.ChatOpenAI", "crewai.Agent",
             # Imported from the module that defines it rather than from the package's top.
             "langchain_openai.chat_models.ChatOpenAI", "smolagents.CodeAgent", "langchain_core.tools.tool",
             "autogen.AssistantAgent")  # known as ``autogen.AssistantAgent().register_for_llm`` too
    for name in built:
        assert knowledge.names_something_built(name), name
    for name in ("openai.types.responses.Response", "openai.omit", "anthropic.types.Message", "pydantic",
                 "json", "app.llm.ask", "fastapi.FastAPI", "tenacity.retry", "builtins", "rich.prompt.Prompt"):
        assert not knowledge.names_something_built(name), name
    # Library mode: the SDK a project is the source of is not something it builds with.
    assert not knowledge.without({"smolagents"}).names_something_built("smolagents.CodeAgent")

    def builds(source: str) -> bool:
        return builds_with_framework(source, ast.parse(source), knowledge)

    assert builds("import openai.types")  # binds ``openai``: all of it is reachable
    assert not builds("import openai.types as types")
    assert builds("def f():\n    with x:\n        from openai import OpenAI")
    assert not builds("from . import openai\nfrom .openai import OpenAI")
    assert builds_with_framework("from openai import (\n", None, knowledge)  # no tree: any import of openai


KEY_LINE = 'KEY = "sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e"\n'


def test_test_code_is_read_where_a_secret_could_be(tmp_path):
    project = tmp_path / "p"
    generic = "import requests\n\ndef test_get():\n    requests.get('u', auth_token='Zq8Lm2Xr7Tn4Vb9Kc3Hs6Pw1')\n"
    unnamed = "import requests\n\ndef test_get():\n    requests.get('u', model='Zq8Lm2Xr7Tn4Vb9Kc3Hs6Pw1')\n"
    formatted = "import os\n\n" + KEY_LINE
    unused = "import os\n\nNAME = 'short'  # noqa: TFS003\n"
    write(project, {"app/__init__.py": "", "tests/test_generic.py": generic,
                    "tests/test_unnamed.py": unnamed, "tests/test_formatted.py": formatted,
                    "tests/test_unused.py": unused})
    report, analysed = _analysed(project)
    assert analysed["tests/test_generic.py"] and analysed["tests/test_formatted.py"]
    assert not analysed["tests/test_unnamed.py"] and not analysed["tests/test_unused.py"]
    found = {(f.path, f.code) for f in report.findings}
    assert {("tests/test_generic.py", "TFS003"), ("tests/test_formatted.py", "TFS003")} <= found
    # A suppression in a test that is not parsed is still read, and silences nothing here.
    assert ("tests/test_unused.py", "TFA0002") in found


def test_the_secret_screen_reads_every_place_the_rule_does():
    from factorlint.checks.security.tfs003_hardcoded_api_key import HardcodedApiKey
    from factorlint.knowledge import default_knowledge

    knowledge = default_knowledge()
    value = "'Zq8Lm2Xr7Tn4Vb9Kc3Hs6Pw1'"
    for source in (f"call(api_key={value})", f"config = {{'api_key': {value}}}", f"self.OPENAI_API_KEY = {value}",
                   f"os.environ['OPENAI_API_KEY'] = {value}", f"os.environ.setdefault('GROQ_API_KEY', {value})",
                   f"auth_token: str = {value}", "key = 'abc' 'sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c'"):
        assert HardcodedApiKey.may_report(source, ast.parse(source), knowledge), source
    for source in (f"call(model={value})", f"NAME = {value}", "api_key = 'has spaces in it, so not a key'",
                   "api_key = 'Zq8Lm2Xr7Tn4'"):
        assert not HardcodedApiKey.may_report(source, ast.parse(source), knowledge), source
    assert HardcodedApiKey.may_report("def (:", None, knowledge)  # no tree: no answer but yes
