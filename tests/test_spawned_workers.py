"""Spawned workers (macOS, Windows) start from a JSON description of the settings: nothing of the
run is pickled, and they find what forked workers and a run in one process find."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing.reduction
from pathlib import Path

import pytest

from factorlint.api import lint_paths
from factorlint.config import Overrides, resolve_settings, with_nested_configs
from factorlint.engine.run import pool
from factorlint.engine.run.cache import settings_key
from factorlint.engine.run.tasks import WORKER, init_spawned_worker, worker_description
from factorlint.settings_description import DescriptionError, describe, settings_from

AGENT = """import openai

client = openai.OpenAI()


def run(task):
    messages = [{"role": "user", "content": task}]
    while True:
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append({"role": "assistant", "content": reply.choices[0].message.content})
"""


def _project(root: Path, files: int = 2) -> Path:
    (root / "app" / "inner").mkdir(parents=True)
    (root / "factorlint.toml").write_text('max-steps = 9\nper-file-ignores = { "app/x_*.py" = ["TFA0802"] }\n')
    (root / "app" / "inner" / "factorlint.toml").write_text('ignore = ["TFA08"]\n')
    for index in range(files):
        (root / "app" / f"agent_{index}.py").write_text(AGENT)
    (root / "app" / "inner" / "agent.py").write_text(AGENT)
    return root


def _settings(root: Path, files: list[str]):
    overrides = Overrides(extend_exclude=["build"], check_test_code=True)
    settings = resolve_settings(root, overrides, root)
    settings = with_nested_configs(settings, files)
    return dataclasses.replace(settings, project_roots=frozenset({"app"}))


def test_the_description_gives_back_the_same_settings(tmp_path):
    root = _project(tmp_path)
    settings = _settings(root, ["app/agent_0.py", "app/inner/agent.py"])
    assert settings.nested and settings.overrides is not None
    again = settings_from(describe(settings))
    assert again == settings
    assert settings_key(again) == settings_key(settings)
    assert again.for_path("app/inner/agent.py").enabled == settings.for_path("app/inner/agent.py").enabled
    assert json.loads(describe(settings))["root"] == str(root)  # plain JSON data


@pytest.mark.parametrize("text", [
    "", "[]", "{}", "null", '{"root": 1}',
])
def test_a_description_of_another_shape_is_refused(tmp_path, text):
    with pytest.raises(DescriptionError):
        settings_from(text)


def test_a_description_with_a_wrong_field_is_refused(tmp_path):
    data = json.loads(describe(_settings(_project(tmp_path), [])))
    for change in ({"max_steps": "9"}, {"enabled": "TFA0802"}, {"root": None}, {"unknown": 1}, {"nested": [["a/"]]}):
        with pytest.raises(DescriptionError):
            settings_from(json.dumps({**data, **change}))


def test_a_spawned_worker_starts_from_the_description(tmp_path):

    settings = _settings(_project(tmp_path), ["app/inner/agent.py"])
    init_spawned_worker(worker_description(settings))
    assert WORKER["settings"] == settings


def test_the_pool_hands_spawned_workers_plain_data_only():
    with pytest.raises(TypeError, match="plain"):
        list(pool.supervise([(0, "task")], len, workers=1, initializer=print, initargs=(object(),)))


def test_spawned_workers_pickle_nothing_of_the_run_and_find_the_same(tmp_path, monkeypatch):
    root = _project(tmp_path, files=25)
    paths = [root]
    settings = resolve_settings(root, Overrides(), root)
    alone = lint_paths(paths, settings, jobs=0)
    handed: list = []
    real_dump = multiprocessing.reduction.dump

    def dump(obj, file, protocol=None):
        if isinstance(obj, multiprocessing.process.BaseProcess):
            handed.append(obj._args)  # type: ignore[attr-defined]  # gone once the process starts
        return real_dump(obj, file, protocol)

    monkeypatch.setattr(pool, "forking", lambda: False)
    monkeypatch.setattr(multiprocessing.reduction, "dump", dump)
    spawned = lint_paths(paths, settings, jobs=2)
    assert handed  # the workers were spawned
    for args in handed:
        _assert_plain(args)
    assert [(f.path, f.code, f.line) for f in spawned.findings] == [(f.path, f.code, f.line) for f in alone.findings]
    assert alone.findings and not spawned.diagnostics


def _assert_plain(arg) -> None:
    """What a spawned worker is given: functions by reference, its pipe, and plain data."""
    if callable(arg):
        assert arg.__module__.startswith(("factorlint.", "builtins")), arg
    elif isinstance(arg, (list, tuple)):
        for item in arg:
            _assert_plain(item)
    elif isinstance(arg, multiprocessing.connection.Connection):
        pass
    else:
        assert arg is None or type(arg) in (str, bytes, int, float, bool), type(arg)
