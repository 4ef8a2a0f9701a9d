"""Valid Python never crashes or hangs a run.

factorlint runs on untrusted code in CI and pre-commit hooks. LibCST's native parser overflows
its stack on nesting that CPython takes in its stride (an 8,000-term ``and`` chain) and
backtracks exponentially over nested match patterns; a pathological file can take minutes or
gigabytes. The screen (``engine/parse/screen.py``) keeps the known hazards from the parser; the
supervised workers (``engine/run/pool.py``) contain the rest: a crash, a file over its time or
memory budget, costs that file only. And stopping a run leaves no process behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import AGENT, write

from factorlint import api
from factorlint.config import Overrides, resolve_settings
from factorlint.engine.parse import parse, screen
from factorlint.engine.run import pool, runner, tasks

OPENAI = "from openai import OpenAI\n"  # so the prefilter hands the file to LibCST

forked_workers = pytest.mark.skipif(not pool.forking(), reason="workers are forked on Linux only")
linux = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")


def _chain(terms: int, operator: str = "and") -> str:
    return OPENAI + "x = " + f" {operator} ".join(f"a{i}" for i in range(terms)) + "\n"


def _nested(depth: int, opening: str, closing: str, inner: str = "a") -> str:
    return OPENAI + "match x:\n    case " + opening * depth + inner + closing * depth + ":\n        pass\n"


def _tool_classes(count: int) -> str:
    """``count`` small LangChain tool classes, each one a site of the inventory: positions
    looked each up by scanning the module's statements again (minutes for 20,000)."""
    return "from langchain.tools import BaseTool\n\n" + "".join(
        f"class T{i}(BaseTool):\n    name = 't{i}'\n    description = 'd'\n\n"
        f"    def _run(self, q: str) -> str:\n        return q\n\n"
        for i in range(count)
    )


def _refusal(text: str):
    problem, tree = runner.nesting_problem(text)
    assert problem is None, problem
    return screen.refusal(text, tree)


def _settings(root: Path, **changes):
    settings = resolve_settings(root, Overrides(isolated=True), root)
    return dataclasses.replace(settings, **changes)


def _cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "factorlint", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )


def _diagnostics(report) -> dict[str, tuple[str, str]]:
    return {d.path: (d.code, d.message) for d in report.diagnostics}


# --- the screen ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_chain(8000), id="and-chain"),
        pytest.param(_chain(8000, "or"), id="or-chain"),
        pytest.param(OPENAI + "if " + " and ".join(f"a{i}" for i in range(3000)) + ":\n    pass\n", id="and-in-if"),
        pytest.param(OPENAI + "x = [a " + " ".join("for a in b" for _ in range(1500)) + "]\n", id="for-clauses"),
        pytest.param(OPENAI + "from " + ".".join(f"m{i}" for i in range(6000)) + " import x\n", id="from-dots"),
        pytest.param(OPENAI + "import " + ".".join(f"m{i}" for i in range(2000)) + "\n", id="import-dots"),
        pytest.param(OPENAI + "if a:\n    pass\n" + "elif a:\n    pass\n" * 1500, id="elif-chain"),
        pytest.param(OPENAI + "x = a" + "[0]" * 1500 + "\n", id="subscripts"),
        pytest.param(_nested(25, "[", "]"), id="match-sequence"),
        pytest.param(_nested(25, "C(", ")"), id="match-class"),
        pytest.param(_nested(25, "C(k=", ")"), id="match-keyword"),
        pytest.param(_nested(12, "{1: ", "}"), id="match-mapping"),
        pytest.param(_nested(25, "(", ")"), id="match-group"),
        pytest.param(_nested(25, "(a | ", ")"), id="match-or"),
        pytest.param(_nested(8, "{'k': [", "]}"), id="match-mixed"),
        pytest.param(OPENAI + "match x:\n" + "    case [[[[[[[[[[[[[a]]]]]]]]]]]]]:\n        pass\n" * 40, id="match-many-cases"),
    ],
)
def test_the_screen_refuses_what_would_crash_or_stall_the_parser(text):
    refused = _refusal(text)
    assert refused is not None
    assert "to analyse safely" in refused.reason and refused.line >= 1


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_chain(300), id="and-chain"),
        pytest.param(OPENAI + "x = a" + "[0]" * 500 + "\n", id="subscripts"),
        pytest.param(_nested(10, "[", "]"), id="match-sequence"),
        pytest.param(
            OPENAI + "match event:\n"
            "    case {'type': 'message', 'content': [{'type': 'text', 'text': str(t)}, *_]} if t:\n"
            "        pass\n"
            "    case Call(name='search', args=[Arg(value=str(q)) | Keyword(value=str(q))]):\n"
            "        pass\n"
            "    case ((((a, b)))) | [[(a, b)]]:  # comment with ( [ { brackets\n"
            "        pass\n",
            id="match-realistic",
        ),
        pytest.param(Path(runner.__file__).read_text(encoding="utf-8"), id="runner-py"),
    ],
)
def test_the_screen_leaves_real_code_alone(text):
    assert _refusal(text) is None


def test_text_cpython_cannot_parse_is_screened_from_its_tokens():
    """Syntax newer than the running interpreter (or a syntax error) leaves no tree to measure,
    but LibCST may still parse it: the tokens bound the depth instead."""
    newer = "type Alias = list[int]\n"
    assert screen.refusal(newer + _chain(8000), None) is not None
    assert screen.refusal(newer + _nested(25, "[", "]"), None) is not None
    assert screen.refusal(newer + "x = " + "(" * 300 + "1" + ")" * 300 + "\n", None) is not None
    assert screen.refusal(newer + "if a:\n    pass\n" + "elif a:\n    pass\n" * 1200, None) is not None
    assert screen.refusal(newer + _chain(300) + _nested(8, "[", "]") + "x = [-1, -2, -3] * 900\n", None) is None


def test_the_parser_runs_on_a_stack_the_screen_was_measured_for():
    """An 8,000-term chain overflows a 1 MiB stack; the parser thread's 64 MiB holds it, so the
    screen's limit keeps a wide margin wherever factorlint is called from."""
    module = parse.parse_module(_chain(8000))
    node, depth = module.body[1].body[0].value, 0
    while hasattr(node, "left"):
        node, depth = node.left, depth + 1
    assert depth == 7999


# --- through the command line and the pool -------------------------------------------------------


@forked_workers
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_8000_term_chain_is_a_diagnostic_and_the_other_files_are_reported(tmp_path, jobs):
    write(tmp_path, {"chain.py": _chain(8000), "agent.py": AGENT, "other.py": AGENT.replace("run", "step")})
    result = _cli("check", ".", "--isolated", "--no-cache", "--output-format", "json", "-j", jobs, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert [(d["path"], d["code"]) for d in report["diagnostics"]] == [("chain.py", "TFA0001")]
    assert "nesting too deep to analyse safely" in report["diagnostics"][0]["message"]
    assert {(f["path"], f["code"]) for f in report["findings"]} >= {("agent.py", "TFA0802"), ("other.py", "TFA0802")}


@forked_workers
def test_nested_match_patterns_are_refused_not_backtracked_for_minutes(tmp_path):
    write(tmp_path, {
        "sequence.py": _nested(25, "[", "]"),
        "mapping.py": _nested(12, "{1: ", "}"),
        "classes.py": _nested(25, "C(", ")"),
        "agent.py": AGENT,
    })
    # Were the screen to let them through, the budget (not minutes) would end each file.
    report = api.lint_paths([tmp_path], _settings(tmp_path, max_file_seconds=60.0))
    found = _diagnostics(report)
    assert set(found) == {"sequence.py", "mapping.py", "classes.py"}
    assert all(code == "TFA0001" and "match patterns" in message for code, message in found.values())
    assert ("agent.py", "TFA0802") in {(f.path, f.code) for f in report.findings}


@forked_workers
def test_twenty_thousand_small_classes_are_analysed(tmp_path):
    """Took minutes (positions rescanned the module's statements for each site, and a rule
    searched the whole text once per function); a few seconds now. The subprocess timeout is
    only the guard against a regression, not a measurement."""
    write(tmp_path, {"tools.py": _tool_classes(20_000)})
    (tmp_path / "factorlint.toml").write_text("max-file-seconds = 60\n")  # 6 times what it takes
    result = _cli("audit", ".", "--no-cache", "--output-format", "json", "-j", "1", cwd=tmp_path, timeout=120)
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["diagnostics"] == []
    assert len(report["inventory"]["tools"]) == 20_000


@forked_workers
def test_a_worker_killed_by_a_signal_costs_its_file_only(tmp_path, monkeypatch):
    """A real crash: with the screen switched off and the parser thread's stack made small,
    LibCST overflows it on the 8,000-term chain and the worker dies of SIGSEGV."""
    monkeypatch.setattr(runner, "refusal", lambda text, tree: None)
    monkeypatch.setattr(parse, "_PARSER_STACK", 256 << 10)
    write(tmp_path, {"a_chain.py": _chain(8000), "b_agent.py": AGENT})
    report = api.lint_paths([tmp_path], _settings(tmp_path), jobs=1)
    code, message = _diagnostics(report)["a_chain.py"]
    assert code == "TFA0003" and "signal 11, SIGSEGV" in message and "the file was not analysed" in message
    assert ("b_agent.py", "TFA0802") in {(f.path, f.code) for f in report.findings}  # a new worker


@forked_workers
def test_an_exception_outside_the_rules_costs_its_file_only(tmp_path, monkeypatch):
    real = runner.lint_file

    def fragile(path, *args, **kwargs):
        if path == "bad.py":
            raise ValueError("boom")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(runner, "lint_file", fragile)
    write(tmp_path, {"bad.py": AGENT, "good.py": AGENT})
    for jobs in (0, 1):  # the same outcome in this process and in a worker
        report = api.lint_paths([tmp_path], _settings(tmp_path), jobs=jobs)
        assert _diagnostics(report) == {"bad.py": ("TFA0003", "Internal error: ValueError: boom; the file was not analysed")}
        assert ("good.py", "TFA0802") in {(f.path, f.code) for f in report.findings}


@forked_workers
def test_a_file_over_the_time_budget_is_a_diagnostic(tmp_path):
    write(tmp_path, {"slow.py": _tool_classes(20_000), "agent.py": AGENT})
    config = tmp_path / "budget.toml"
    config.write_text("max-file-seconds = 1.5\n")
    result = _cli("check", ".", "--config", str(config), "--no-cache", "--output-format", "json", "-j", "1", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert [(d["path"], d["code"], d["message"]) for d in report["diagnostics"]] == [
        ("slow.py", "TFA0005", "Analysis budget exceeded: over 1.5 s (max-file-seconds); the file was not analysed")
    ]
    assert ("agent.py", "TFA0802") in {(f["path"], f["code"]) for f in report["findings"]}


@forked_workers
@linux
def test_a_file_over_the_memory_budget_is_a_diagnostic(tmp_path):
    """Its LibCST tree needs far more than 64 MiB: the parser's allocation fails in the worker."""
    write(tmp_path, {"big.py": _tool_classes(20_000), "agent.py": AGENT})
    config = tmp_path / "budget.toml"
    config.write_text("max-file-memory = 64\n")
    result = _cli("check", ".", "--config", str(config), "--no-cache", "--output-format", "json", "-j", "1", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "memory allocation" not in result.stderr  # the worker's standard error is its own
    report = json.loads(result.stdout)
    assert [(d["path"], d["code"], d["message"]) for d in report["diagnostics"]] == [
        ("big.py", "TFA0005", "Analysis budget exceeded: over 64 MiB (max-file-memory); the file was not analysed")
    ]
    assert ("agent.py", "TFA0802") in {(f["path"], f["code"]) for f in report["findings"]}


@forked_workers
@linux
def test_the_memory_budget_counts_what_the_file_takes_not_the_parser_threads_reservation(tmp_path):
    """The parser thread runs before a worker caps its address space, so its 64 MiB stack and its
    malloc arena are no slack: a file whose parse takes more than the budget is over it, whether
    it is its worker's first file or not (notes.py, the larger, goes first)."""
    write(tmp_path, {"wide.py": "X = [" + "0," * 150_000 + "]\n", "notes.py": ("# " + "x" * 98 + "\n") * 30_000})
    config = tmp_path / "budget.toml"
    config.write_text("max-file-memory = 64\n")
    result = _cli("check", ".", "--config", str(config), "--no-cache", "--output-format", "json", "-j", "1", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert [(d["path"], d["code"]) for d in report["diagnostics"]] == [("wide.py", "TFA0005")]


# --- stopping a run ------------------------------------------------------------------------------


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their state letter."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path("/proc", entry, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(pid):
            found[int(entry)] = fields.get("State", "").strip()[:1]
    return found


def _gone(pid: int) -> bool:
    try:
        state = next(line for line in Path("/proc", str(pid), "status").read_text().splitlines() if line.startswith("State:"))
    except (OSError, StopIteration):
        return True
    return state.split()[1] in ("Z", "X")  # exited, waiting to be reaped


def _wait_for(condition, seconds: float = 30.0) -> bool:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@forked_workers
@linux
def test_sigterm_stops_the_run_and_leaves_no_worker_behind(tmp_path):
    write(tmp_path, {f"pkg/tools{n}.py": _tool_classes(3_000) for n in range(8)})
    run = subprocess.Popen(
        [sys.executable, "-m", "factorlint", "check", ".", "--isolated", "--no-cache", "-j", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert _wait_for(lambda: len(_children(run.pid)) == 2), run.poll()
        workers = list(_children(run.pid))
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in stderr
    assert _wait_for(lambda: all(_gone(pid) for pid in workers), 10)


@forked_workers
@linux
def test_a_worker_dies_with_its_parent(tmp_path):
    """SIGKILL leaves the parent no chance to stop its workers: the kernel does
    (PR_SET_PDEATHSIG). This worker sleeps; no end-of-file would wake it."""
    script = (
        "import time\n"
        "from factorlint.engine.run import pool\n"
        "for _ in pool.supervise([(0, 60)], time.sleep, workers=1):\n"
        "    pass\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        assert _wait_for(lambda: len(_children(parent.pid)) == 1), parent.poll()
        (worker,) = _children(parent.pid)
        parent.kill()
        parent.wait(timeout=30)
        assert _wait_for(lambda: _gone(worker), 10)
    finally:
        parent.kill()


def test_a_workers_answer_is_data_never_a_pickle(tmp_path):
    """The parent reads what a worker sends as validated data: a worker compromised through the
    native parser could send a pickle that runs code, and it must be a Failure, not an object."""
    import pickle

    from factorlint.engine.run import pool

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    forged = b"0 R " + pickle.dumps(Payload())
    assert isinstance(pool._read_answer(forged, 0, tasks.decode_worker_outcome), pool.Failure)
    assert isinstance(pool._read_answer(pickle.dumps((0, Payload())), 0, tasks.decode_worker_outcome), pool.Failure)
    assert isinstance(pool._read_answer(b"1 R {}", 0, tasks.decode_worker_outcome), pool.Failure)
    assert not marker.exists()
