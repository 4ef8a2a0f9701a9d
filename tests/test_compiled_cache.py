"""The compiled knowledge index and configuration cache: the same records as validation gives,
read back only when they are exactly what was written, and never from the scanned tree."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from factorlint import compiled_cache
from factorlint.config import ConfigError, FileConfig, _validated, read_config
from factorlint.config_cache import config_name, decode_config, encode_config
from factorlint.knowledge import Knowledge, _knowledge_root, load_knowledge, table_files, validated_tables
from factorlint.knowledge_index import decode_tables, encode_tables, index_name, indexed_tables
from factorlint.knowledge_schema import Factor, Framework, KnowledgeError
from factorlint.records import RecordError, from_json, to_json


def assert_same(left, right, where: str = "") -> None:
    """Equal field by field, with the same types all the way down (``True`` is not ``1``, a
    tuple is not a list)."""
    assert type(left) is type(right), f"{where}: {type(left).__name__} != {type(right).__name__}"
    if dataclasses.is_dataclass(left):
        for field in dataclasses.fields(left):
            assert_same(getattr(left, field.name), getattr(right, field.name), f"{where}.{field.name}")
    elif isinstance(left, (list, tuple)):
        assert len(left) == len(right), where
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same(a, b, f"{where}[{index}]")
    elif isinstance(left, dict):
        assert list(left) == list(right), where
        for key in left:
            assert_same(left[key], right[key], f"{where}[{key!r}]")
    else:
        assert left == right, where


@pytest.fixture
def folder(tmp_path):
    """A private cache folder in use for the test, and none afterwards."""
    cache = tmp_path / "cache"
    compiled_cache.use_folder(cache)
    yield cache
    compiled_cache.use_folder(None)


def _index_file(folder: Path) -> Path:
    (path,) = folder.glob("compiled-knowledge-*.json")
    return path


# --- the knowledge index ------------------------------------------------------------------------


def test_the_index_gives_the_knowledge_validation_gives_field_by_field(folder):
    files = table_files(_knowledge_root())
    validated = validated_tables(files)
    written = indexed_tables(files)  # validates, and writes the index
    assert _index_file(folder).is_file()
    read_back = indexed_tables(files)
    assert_same(validated, written)
    assert_same(validated, read_back)
    one, two = Knowledge(*validated), Knowledge(*read_back)
    for name in ("client_constructors", "agent_constructors", "tool_decorators", "sinks", "unsafe_settings"):
        index_one, index_two = getattr(one, name), getattr(two, name)
        assert_same(index_one.exact, index_two.exact, name)
        assert_same(index_one.globs, index_two.globs, name)
    assert_same(one.secret_patterns, two.secret_patterns)
    assert one.packages == two.packages and one.credential_names == two.credential_names


def test_the_index_round_trips_through_json_text():
    factors, frameworks = load_knowledge().factors, load_knowledge().frameworks
    data = json.loads(json.dumps(encode_tables(factors, frameworks)))
    decoded = decode_tables(data, len(frameworks) + 1)
    assert decoded is not None
    assert_same((factors, frameworks), decoded)


def test_a_run_with_the_index_does_not_import_pydantic(tmp_path):
    script = (
        "import sys; from pathlib import Path; from factorlint import compiled_cache;"
        "compiled_cache.use_folder(Path(sys.argv[1]));"
        "from factorlint.knowledge import default_knowledge; default_knowledge();"
        "print('pydantic' in sys.modules)"
    )
    runs = [subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True)
            for _ in range(2)]
    assert [r.stdout.strip() for r in runs] == ["True", "False"]  # validated once, then compiled


def _corruptions(text: str) -> list[str]:
    data = json.loads(text)
    factor = data["data"]["factors"]["factors"][0]
    wrong = []
    for change in (
        lambda d: d["data"]["factors"]["factors"][0].__setitem__("number", True),  # a bool is no int
        lambda d: d["data"]["factors"]["factors"][0].__setitem__("number", 99),  # out of bounds
        lambda d: d["data"]["factors"]["factors"][0].__setitem__("extra", 1),  # an unknown field
        lambda d: d["data"]["factors"]["factors"][0].pop("title"),  # a missing one
        lambda d: d["data"]["frameworks"][0].__setitem__("packages", ["not a name"]),  # fails its check
        lambda d: d["data"]["frameworks"].pop(),  # a table short
        lambda d: d.__setitem__("format", 0),
        lambda d: d.__setitem__("data", {"__class__": "os.system"}),
    ):
        copy = json.loads(text)
        change(copy)
        wrong.append(json.dumps(copy))
    assert factor["number"] == 1
    return [*wrong, "", "{", "[]", text[: len(text) // 2], "\0" * 10]


def test_a_corrupt_or_hostile_index_is_ignored_and_rebuilt(folder):
    files = table_files(_knowledge_root())
    validated = indexed_tables(files)
    path = _index_file(folder)
    good = path.read_text()
    for bad in _corruptions(good):
        path.write_text(bad)
        assert_same(validated, indexed_tables(files))
        assert json.loads(path.read_text()) == json.loads(good)  # written afresh


def test_the_index_is_named_by_the_tables_bytes(tmp_path):
    files = table_files(_knowledge_root())
    contents = [p.read_bytes() for p in files]
    changed = [*contents[:-1], contents[-1] + b"\n# another comment\n"]
    assert index_name(files, contents) == index_name(files, list(contents))
    assert index_name(files, contents) != index_name(files, changed)


def test_a_changed_table_is_validated_not_taken_from_the_index(folder, tmp_path):
    root = tmp_path / "rules"
    (root / "frameworks").mkdir(parents=True)
    (root / "factors.toml").write_bytes((_knowledge_root() / "factors.toml").read_bytes())
    table = root / "frameworks" / "x.toml"
    table.write_text('name = "x"\ntitle = "X"\npackages = ["x"]\n')
    assert indexed_tables(table_files(root))[1][0].packages == ["x"]
    table.write_text('name = "x"\ntitle = "X"\npackages = ["not a name"]\n')
    with pytest.raises(KnowledgeError, match=r"x\.toml: packages"):
        indexed_tables(table_files(root))


def test_records_are_rebuilt_only_from_exact_types():
    factor = {"number": 1, "code": "F01", "title": "t", "summary": "s", "url": "u", "weight": 1.0}
    assert from_json(Factor, factor) == Factor(**factor)
    for wrong in ({**factor, "weight": 1}, {**factor, "weight": 0.0}, {**factor, "code": None}, [factor]):
        with pytest.raises(RecordError):
            from_json(Factor, wrong)
    framework = {f.name: to_json(getattr(load_knowledge().frameworks[0], f.name))
                 for f in dataclasses.fields(Framework)}
    with pytest.raises(RecordError):
        from_json(Framework, {**framework, "source_distributions": ["Not_Normalised"]})


# --- the configuration cache --------------------------------------------------------------------

CONFIG = """
[tool.factorlint]
select = ["TFA08"]
extend-select = ["TFS"]
per-file-ignores = { "tests/*" = ["TFA0802"] }
max-steps = 7
max-file-seconds = 3
approval-function = "app.approvals.request"
"""


def test_a_cached_configuration_is_the_validated_one_field_by_field(folder, tmp_path):
    path = tmp_path / "project" / "pyproject.toml"
    path.parent.mkdir()
    path.write_text(CONFIG)
    (tmp_path / "project" / "base.toml").write_text('ignore = ["TFA0801"]\nmax-tools = 3\n')
    path.write_text(CONFIG.replace("[tool.factorlint]\n", '[tool.factorlint]\nextend = "base.toml"\n'))
    from factorlint.config import _read_table

    chain = [(path, _read_table(path)[0]), (path.parent / "base.toml", _read_table(path.parent / "base.toml")[0])]
    validated = _validated(chain)
    first = read_config(path)
    assert list(folder.glob("compiled-config-*.json"))
    second = read_config(path)
    assert_same(validated, first)
    assert_same(validated, second)
    assert second[0].max_file_seconds == 3.0 and type(second[0].max_file_seconds) is float
    assert second[1] == [(None, ["TFA0801"], []), (["TFA08"], [], ["TFS"])]


def test_a_corrupt_configuration_cache_is_ignored(folder, tmp_path):
    path = tmp_path / "factorlint.toml"
    path.write_text('select = ["TFA08"]\nmax-steps = 7\n')
    expected = read_config(path)
    (cached,) = folder.glob("compiled-config-*.json")
    good = json.loads(cached.read_text())
    for change in ({"max_steps": 0}, {"max_steps": "7"}, {"select": ["NOPE"]}, {"unknown": 1}):
        data = json.loads(json.dumps(good))
        data["data"]["config"].update(change)
        cached.write_text(json.dumps(data))
        assert_same(expected, read_config(path))
    for text in ("", "null", json.dumps({**good, "data": {"config": {}, "layers": []}})):
        cached.write_text(text)
        assert_same(expected, read_config(path))


def test_a_changed_configuration_is_validated_again(folder, tmp_path):
    path = tmp_path / "factorlint.toml"
    path.write_text("max-steps = 7\n")
    assert read_config(path)[0].max_steps == 7
    path.write_text("max-steps = 0\n")
    with pytest.raises(ConfigError, match="max-steps"):
        read_config(path)
    path.write_text("max_steps = 7\n")
    with pytest.raises(ConfigError, match="max_steps: unknown key"):
        read_config(path)


def test_the_configuration_cache_round_trips():
    config = FileConfig.model_validate({"select": ["TFA08"], "per-file-ignores": {"a/*": ["TFS"]}})
    layers = [(["TFA08"], [], [])]
    encoded = json.loads(json.dumps(encode_config(config, layers)))
    assert_same((config, layers), decode_config(encoded))
    assert config_name([b"table:a"]) != config_name([b"table:b"])


# --- where the compiled data lives ----------------------------------------------------------------


def test_no_compiled_data_is_read_from_a_scanned_tree(tmp_path):
    inside = tmp_path / "project" / ".cache"
    compiled_cache.use_folder(inside, [tmp_path / "project"])
    try:
        compiled_cache.write(compiled_cache.key_of("knowledge", [b"x"]), {"a": 1})
        assert not inside.exists()
        assert compiled_cache.read(compiled_cache.key_of("knowledge", [b"x"])) is None
    finally:
        compiled_cache.use_folder(None)


def test_the_command_line_keeps_compiled_data_in_its_cache_folder(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from factorlint.cli import main

    project = tmp_path / "project"
    project.mkdir()
    (project / "agent.py").write_text("import openai\n")
    (project / "factorlint.toml").write_text("max-steps = 5\n")
    monkeypatch.chdir(project)
    cache = tmp_path / "cache"
    try:
        result = CliRunner().invoke(main, ["check", "agent.py", "--no-cache", "--cache-dir", str(cache)])
    finally:
        compiled_cache.use_folder(None)
    assert result.exit_code == 0, result.output
    names = sorted(p.name.split("-")[1] for p in cache.glob("compiled-*.json"))
    assert names == ["config", "knowledge"] or names == ["config"]  # knowledge: once per process


# ---------------------------------------------------------------- lock files

def _uv_lock(count: int) -> str:
    """A uv.lock of ``count`` packages, large enough to be kept."""
    blocks = [
        f'[[package]]\nname = "Package_{i}"\nversion = "1.{i}.0"\nsource = {{ registry = "https://pypi.org/simple" }}\n'
        f'sdist = {{ url = "https://files.example/package_{i}-1.{i}.0.tar.gz", hash = "sha256:{i:064x}" }}\n'
        for i in range(count)
    ]
    return 'version = 1\nrequires-python = ">=3.9"\n\n' + "\n".join(blocks)


def test_a_large_lock_file_is_parsed_once_per_content(folder, monkeypatch):
    from factorlint import versions

    text = _uv_lock(400)
    assert len(text) >= versions._LOCK_KEPT_FROM
    first = versions._lock_pins(text)
    assert first[:2] == [("package-0", "1.0.0"), ("package-1", "1.1.0")] and len(first) == 400
    assert [p.name for p in folder.iterdir() if p.name.startswith("compiled-lock-")]

    def no_parse(text):
        raise AssertionError("parsed again")

    monkeypatch.setattr(versions.tomllib, "loads", no_parse)
    assert versions._lock_pins(text) == first


def test_a_changed_or_tampered_lock_record_is_not_read_back(folder):
    from factorlint import versions

    text = _uv_lock(400)
    pins = versions._lock_pins(text)
    (kept,) = [p for p in folder.iterdir() if p.name.startswith("compiled-lock-")]
    stored = json.loads(kept.read_text())
    stored["data"] = [["package-0", 7]]  # not a version string
    kept.write_text(json.dumps(stored))
    assert versions._lock_pins(text) == pins  # parsed again, as if nothing was kept
    changed = text.replace('version = "1.0.0"', 'version = "2.0.0"')
    assert versions._lock_pins(changed)[0] == ("package-0", "2.0.0")
