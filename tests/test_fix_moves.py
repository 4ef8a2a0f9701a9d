"""A fix in two files: an inline prompt moved into the project's prompts module (TFA0203).

Both files are written together or neither is; the prompts module is one the run analysed, never
one that imports the file; the diff shows both files.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner
from helpers import run_example, settings_for

from factorlint.api import apply_fixes, lint_paths
from factorlint.cli import main

PROMPT = (
    "You review pull requests for the payments service.\\n"
    "Check every change for missing tests, unsafe SQL and leaked secrets.\\n"
    "Answer with a list of findings, each with the file and the line."
)
AGENT = f'''
from openai import OpenAI

client = OpenAI()


def review(diff):
    return client.chat.completions.create(
        model="gpt-4.1",
        messages=[{{"role": "system", "content": "{PROMPT}"}}, {{"role": "user", "content": diff}}],
    )
'''


def _project(tmp_path: Path, prompts: str | None = 'GREETING = "Hello."\n', agent: str = AGENT) -> dict:
    files = {"app/__init__.py": "", "app/agent.py": agent}
    if prompts is not None:
        files["app/prompts.py"] = prompts
    run_example(tmp_path, files, {"TFA0203"})
    return files


def _report(tmp_path: Path):
    return lint_paths([tmp_path], settings_for(tmp_path, {"TFA0203"}))


def _text(tmp_path: Path, name: str) -> str:
    return (tmp_path / name).read_text(encoding="utf-8")


def test_the_prompt_moves_to_the_prompts_module_and_is_imported(tmp_path):
    _project(tmp_path)
    report, outcomes = apply_fixes(_report(tmp_path), unsafe=True, write=True)
    assert not report.findings and not report.diagnostics
    assert "from app.prompts import REVIEW_MESSAGES_SYSTEM_PROMPT\n" in _text(tmp_path, "app/agent.py")
    assert '"content": REVIEW_MESSAGES_SYSTEM_PROMPT}' in _text(tmp_path, "app/agent.py")
    assert _text(tmp_path, "app/prompts.py") == f'GREETING = "Hello."\n\nREVIEW_MESSAGES_SYSTEM_PROMPT = "{PROMPT}"\n'
    assert {o.path for o in outcomes} == {"app/agent.py", "app/prompts.py"}
    assert not _report(tmp_path).findings


def test_a_safe_fix_run_leaves_the_move_alone(tmp_path):
    files = _project(tmp_path)
    report, _ = apply_fixes(_report(tmp_path), unsafe=False, write=True)
    assert [f.code for f in report.findings] == ["TFA0203"]
    assert _text(tmp_path, "app/agent.py") == textwrap.dedent(files["app/agent.py"]).lstrip("\n")


def test_a_prompts_module_changed_since_the_analysis_stops_both_files(tmp_path):
    _project(tmp_path)
    report = _report(tmp_path)
    (tmp_path / "app/prompts.py").write_text('GREETING = "Hi."\n', encoding="utf-8")
    before = _text(tmp_path, "app/agent.py")
    report, _ = apply_fixes(report, unsafe=True, write=True)
    assert _text(tmp_path, "app/agent.py") == before, "the caller is not fixed without its prompts module"
    assert _text(tmp_path, "app/prompts.py") == 'GREETING = "Hi."\n'
    assert [f.code for f in report.findings] == ["TFA0203"]
    assert any(d.code == "TFA0004" and "changed since" in d.message for d in report.diagnostics)


def test_a_failed_write_puts_the_other_file_back(tmp_path, monkeypatch):
    import factorlint.engine.run.fixes as fixes

    _project(tmp_path)
    report = _report(tmp_path)
    agent_before, prompts_before = _text(tmp_path, "app/agent.py"), _text(tmp_path, "app/prompts.py")
    real = fixes.write_atomically

    def fail_for_the_agent(path, text, original):
        return "cannot be written: disk full" if path.name == "agent.py" else real(path, text, original)

    monkeypatch.setattr(fixes, "write_atomically", fail_for_the_agent)
    report, outcomes = apply_fixes(report, unsafe=True, write=True)
    assert _text(tmp_path, "app/agent.py") == agent_before
    assert _text(tmp_path, "app/prompts.py") == prompts_before, "the prompts module is put back"
    assert not any(o.applied for o in outcomes)
    assert [f.code for f in report.findings] == ["TFA0203"]


def test_no_prompts_module_creates_one_beside_the_file(tmp_path):
    _project(tmp_path, prompts=None)
    report, outcomes = apply_fixes(_report(tmp_path), unsafe=True, write=True)
    assert not report.findings
    created = _text(tmp_path, "app/prompts.py")
    assert created.startswith('"""') and f'REVIEW_MESSAGES_SYSTEM_PROMPT = "{PROMPT}"\n' in created
    assert "from app.prompts import REVIEW_MESSAGES_SYSTEM_PROMPT" in _text(tmp_path, "app/agent.py")
    assert [o.created for o in outcomes if o.path == "app/prompts.py"] == [True]


def test_a_prompts_module_that_imports_the_file_is_not_used(tmp_path):
    files = _project(tmp_path, prompts="from app.agent import review\n")
    report, _ = apply_fixes(_report(tmp_path), unsafe=True, write=True)
    assert [f.code for f in report.findings] == ["TFA0203"]
    assert _text(tmp_path, "app/agent.py") == textwrap.dedent(files["app/agent.py"]).lstrip("\n")
    assert _text(tmp_path, "app/prompts.py") == "from app.agent import review\n"


def test_a_prompts_file_the_run_did_not_analyse_is_not_written(tmp_path):
    _project(tmp_path, prompts=None)
    report = lint_paths([tmp_path / "app" / "agent.py"], settings_for(tmp_path, {"TFA0203"}))
    (tmp_path / "app/prompts.py").write_text("", encoding="utf-8")  # appears after the analysis
    report, _ = apply_fixes(report, unsafe=True, write=True)
    assert _text(tmp_path, "app/prompts.py") == ""
    assert [f.code for f in report.findings] == ["TFA0203"]
    assert any("was not analysed" in d.message for d in report.diagnostics)


def test_the_diff_shows_both_files(tmp_path, monkeypatch):
    _project(tmp_path, prompts=None)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", ".", "--select", "TFA0203", "--diff", "--unsafe-fixes", "--no-cache", "--isolated"])
    assert "--- a/app/agent.py\n+++ b/app/agent.py" in result.output
    assert "--- /dev/null\n+++ b/app/prompts.py" in result.output
    assert not (tmp_path / "app/prompts.py").exists(), "--diff writes nothing"


def test_moves_from_several_files_share_one_prompts_module(tmp_path):
    other = AGENT.replace("def review(diff)", "def audit(diff)")
    files = {"app/__init__.py": "", "app/agent.py": AGENT, "app/auditor.py": other, "app/prompts.py": ""}
    run_example(tmp_path, files, {"TFA0203"})
    report, _ = apply_fixes(_report(tmp_path), unsafe=True, write=True)
    assert not report.findings
    prompts = _text(tmp_path, "app/prompts.py")
    assert "REVIEW_MESSAGES_SYSTEM_PROMPT = " in prompts and "AUDIT_MESSAGES_SYSTEM_PROMPT = " in prompts
    compile(prompts, "prompts.py", "exec")
    assert not _report(tmp_path).findings


def test_the_name_joins_an_import_of_the_prompts_module_already_there(tmp_path):
    agent = AGENT.replace("from openai import OpenAI\n", "from openai import OpenAI\nfrom app.prompts import GREETING  # shared\n")
    _project(tmp_path, agent=agent)
    apply_fixes(_report(tmp_path), unsafe=True, write=True)
    text = _text(tmp_path, "app/agent.py")
    assert "from app.prompts import GREETING, REVIEW_MESSAGES_SYSTEM_PROMPT  # shared\n" in text
    assert text.count("from app.prompts import") == 1
