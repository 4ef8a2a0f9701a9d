"""The result cache is never a way into the machine, nor a way to change a result.

factorlint scans untrusted code (pull requests from forks, pre-commit on any checkout). Nothing
that code's tree ships (a pickle at the old cache path, a forged cache file in the new format)
and nothing in a cache folder someone else can write may run, or change a finding: every run here
must report exactly what a run without a cache reports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import pickle
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import AGENT, CLEAN, STATEFUL, write
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from factorlint import api
from factorlint.config import Overrides, resolve_settings
from factorlint.discovery import discover
from factorlint.engine.read.module_names import module_name_for
from factorlint.engine.read.suppressions import Suppression
from factorlint.engine.run import cache as cache_module
from factorlint.engine.run import cache_codec as codec
from factorlint.engine.run.cache import (
    ResultCache,
    default_cache_dir,
    read_source,
    settings_key,
)
from factorlint.engine.run.cache_codec import CacheFormatError
from factorlint.model import (
    Diagnostic,
    Edit,
    FileFacts,
    FileResult,
    Finding,
    Fix,
    FunctionFacts,
    Site,
)

REPO = Path(__file__).resolve().parent.parent
REAL_PROJECTS = [
    REPO / "examples" / "support_agent",
    *sorted(p for p in (REPO / "tests" / "fixtures").iterdir() if p.is_dir()),
]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
posix_only = pytest.mark.skipif(os.name == "nt", reason="owner and mode bits are POSIX")

# Suppressions used and unused, a file-level one, a parse error, a binary file, a latin-1 file,
# test and example roles, prefiltered files: everything a FileResult can carry.
VARIED = {
    "pkg/__init__.py": "",
    "pkg/agent.py": AGENT.replace("while True:", "while True:  # factorlint: ignore[TFA0802] -- bounded by the caller"),
    "pkg/state.py": STATEFUL + "\nx = 1  # noqa: TFA0101\n",
    "pkg/skip.py": "# factorlint: ignore-file[TFA12]\n" + STATEFUL,
    "broken.py": "def (:\n",
    "binary.py": b"\x00\x01",
    "latin.py": b"# -*- coding: latin-1 -*-\nname = '\xe9'\n",
    "tests/test_agent.py": AGENT,
    "examples/demo.py": AGENT,
    "util.py": CLEAN,
}


@pytest.fixture(autouse=True)
def _steady_code_stamp(monkeypatch):
    """The settings key covers factorlint's own files, by size and mtime; with an editable
    install being edited while the tests run, it could move between a run and the test's look at
    that run's cache file. Pinned here (``test_cache_and_pool`` checks the key itself)."""
    stamp = cache_module._code_stamp()
    monkeypatch.setattr(cache_module, "_code_stamp", lambda: stamp)


def _settings(root: Path):
    return resolve_settings(root, Overrides(isolated=True), root)


def _run_settings(root: Path):
    """The settings ``lint_paths`` keys its cache by (it adds the project's module roots)."""
    settings = _settings(root)
    return dataclasses.replace(settings, project_roots=api.project_roots(discover([root], settings).files))


def _view(report) -> tuple:
    """Everything a report holds, per file and after the project pass."""
    return report.files, report.findings, report.suppressed, report.sites, report.diagnostics


def _cold(root: Path):
    return api.lint_paths([root], _settings(root), jobs=1)


def _lint(root: Path, cache_dir: Path, jobs: int = 1):
    return api.lint_paths([root], _settings(root), jobs=jobs, cache_dir=cache_dir)


def _open(root: Path, cache_dir: Path) -> ResultCache:
    return ResultCache(cache_dir, settings_key(_run_settings(root)), root)


def _cache_file(root: Path, cache_dir: Path) -> Path:
    return _open(root, cache_dir).path


def _sources(root: Path) -> list[tuple[str, str, bytes]]:
    """(relative path, module, bytes) of each scanned file, as the cache is asked about them."""
    settings = _settings(root)
    return [
        (s.relative, module_name_for(s.path.absolute())[0], s.path.read_bytes())
        for s in discover([root], settings).files
    ]


def _hits(root: Path, cache_dir: Path) -> int:
    cache = _open(root, cache_dir)
    return sum(cache.lookup(*source) is not None for source in _sources(root))


@contextlib.contextmanager
def _deadline(seconds: int):
    """Fail instead of hanging (a FIFO opened for reading blocks until a writer comes)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(*_):
        raise TimeoutError("blocked")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _project(tmp_path: Path, files=None) -> Path:
    root = tmp_path / "project"
    write(root, files or VARIED)
    return root


# -- warm equals cold -----------------------------------------------------------------------------


@pytest.mark.parametrize("root", [*REAL_PROJECTS, None], ids=lambda p: p.name if p else "varied")
def test_a_warm_run_reports_exactly_what_a_cold_run_reports(root, tmp_path):
    root = root or _project(tmp_path)
    cold = _cold(root)
    cache_dir = tmp_path / "cache"
    first = _lint(root, cache_dir)
    assert _hits(root, cache_dir) == len(cold.files)  # every file was stored, and is served
    warm = _lint(root, cache_dir)
    assert _view(first) == _view(cold)
    assert _view(warm) == _view(cold)
    assert cold.files and (cold.findings or cold.sites or root.name == "exemplary_agent")


def test_the_varied_project_exercises_every_part_of_a_result(tmp_path):
    report = _cold(_project(tmp_path))
    files = {f.path: f for f in report.files}
    assert files["pkg/agent.py"].suppressions and files["pkg/skip.py"].suppressions[0].file_level
    assert report.suppressed and report.diagnostics and any(f.code == "TFA0002" for f in report.findings)
    assert files["tests/test_agent.py"].role == "test" and files["examples/demo.py"].role == "example"
    assert files["util.py"].skipped and files["pkg/agent.py"].facts.functions
    assert any(s.detail for s in report.sites)


# -- the codec ------------------------------------------------------------------------------------


def test_the_layout_names_every_field_of_the_model():
    """A field added to the model must be added to the codec (and FORMAT bumped)."""
    for cls, names in codec.LAYOUT.items():
        fields = tuple(f.name for f in dataclasses.fields(cls) if (cls, f.name) != (FileResult, "disk_path"))
        assert names == fields, cls.__name__
    import typing

    assert set(typing.get_args(typing.get_type_hints(FileResult)["role"])) == codec.ROLES


_names = st.text(max_size=12)
_position = st.integers(0, codec.MAX_POSITION)
_code = st.from_regex(r"\ATF[AS][0-9]{4}\Z")
_json_scalar = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | _names
)
_detail = st.dictionaries(
    _names, st.recursive(_json_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3), max_leaves=8),
    max_size=4,
)


@st.composite
def _results(draw) -> FileResult:
    path = draw(_names)
    edits = st.builds(Edit, _position, _position, _position, _position, _names)
    fix = st.none() | st.builds(
        Fix, st.sampled_from(sorted(codec.APPLICABILITIES)), _names, st.lists(edits, max_size=2).map(tuple)
    )
    finding = st.builds(
        Finding, _code, _names, st.none() | st.integers(0, 12), st.sampled_from(sorted(codec.SEVERITIES)),
        st.sampled_from(sorted(codec.CONFIDENCES)), st.just(path), _position, _position, _position,
        _position, _names, fix, _names, _names, _names, st.lists(_names, max_size=2).map(tuple),
        st.lists(_names, max_size=2).map(tuple), st.lists(_names, max_size=2).map(tuple),
        st.lists(_names, max_size=2).map(tuple), st.lists(_names, max_size=2).map(tuple),
        st.lists(_names, max_size=2).map(tuple), st.none() | _names, st.sampled_from(["", "0123456789abcdef"]),
        st.none() | _position,
    )
    diagnostic = st.builds(Diagnostic, _code, st.just(path), _names, st.none() | _position, st.none() | _position)
    functions = st.lists(
        st.builds(
            FunctionFacts, _names, _position, st.booleans(), st.booleans(), st.lists(_names, max_size=3),
            st.lists(_names, max_size=2), st.lists(_names, max_size=2), _names,
            st.sampled_from(sorted(codec.RETURN_KINDS)), st.lists(_names, max_size=2), st.lists(_names, max_size=2),
        ), max_size=3
    ).map(lambda fs: {f.qualname: f for f in fs})
    facts = st.none() | st.builds(
        FileFacts, _names, st.booleans(), st.lists(_names, max_size=3), functions,
        st.dictionaries(_names, _names, max_size=3), st.dictionaries(_names, _names, max_size=3),
        st.dictionaries(_names, st.lists(_names, max_size=2), max_size=3), _position,
        st.lists(st.tuples(_names, _names, _names), max_size=3),
        st.lists(st.tuples(_names, _names, _names, _names), max_size=3),
    )
    suppression = st.builds(
        Suppression, _position, _position, _position, _position,
        st.lists(st.from_regex(r"\ATF[AS][0-9]{0,4}\Z"), max_size=2).map(tuple), st.booleans(), _names, _names,
        st.sets(_code, max_size=2), st.booleans(), _position, st.booleans(),
    )
    site = st.builds(
        Site, st.from_regex(r"\A[a-z][a-z_]{0,12}\Z"), st.just(path), _position, _position, _names, _names,
        _detail, st.lists(_names, max_size=2).map(tuple), st.lists(_names, max_size=2).map(tuple),
        st.lists(_names, max_size=2).map(tuple),
    )
    return FileResult(
        path=path,
        digest=hashlib.sha256(draw(st.binary(max_size=8))).hexdigest(),
        findings=draw(st.lists(finding, max_size=3)),
        diagnostics=draw(st.lists(diagnostic, max_size=2)),
        facts=draw(facts),
        lines=draw(_position),
        role=draw(st.sampled_from(sorted(codec.ROLES))),
        skipped=draw(st.booleans()),
        suppressions=draw(st.lists(suppression, max_size=2)),
        sites=draw(st.lists(site, max_size=3)),
        cells=tuple(draw(st.lists(st.tuples(_position, _position), max_size=3))),
    )


def _depth(value) -> int:
    """How many lists and mappings are nested in ``value``, itself included."""
    if isinstance(value, (list, dict)):
        items = value.values() if isinstance(value, dict) else value
        return 1 + max((_depth(v) for v in items), default=0)
    return 0


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_results())
def test_any_result_round_trips_exactly(result):
    if any(_depth(site.detail) > codec.MAX_DETAIL_DEPTH for site in result.sites):
        with pytest.raises(CacheFormatError):
            codec.encode_result(result)
        return
    encoded = codec.encode_result(result)
    assert encoded.isascii() and b"\n" not in encoded and b"\t" not in encoded  # one line, one field
    assert codec.decode_result(encoded, result.path, result.digest) == result


def test_odd_strings_round_trip_exactly():
    """Undecodable file names reach paths as lone surrogates; text may hold any character."""
    path = "bad\udcff/\u00e9\U0001f600\t\n\"\\.py"
    digest = "a" * 64
    result = FileResult(path=path, digest=digest, sites=[Site("tool", path, 1, 2, "x\x00y", detail={"k\n": [1.5, -0.0, None]})])
    assert codec.decode_result(codec.encode_result(result), path, digest) == result


def test_what_json_cannot_carry_exactly_is_not_stored(tmp_path):
    digest = "b" * 64
    for detail in ({"k": (1, 2)}, {1: "x"}, {"k": {1, 2}}, {"k": float("nan")}, {"k": [[[[[[[[[[1]]]]]]]]]]}):
        result = FileResult(path="a.py", digest=digest, sites=[Site("tool", "a.py", 1, 1, "t", detail=detail)])
        with pytest.raises(CacheFormatError):
            codec.encode_result(result)
    (tmp_path / "p").mkdir()
    cache = ResultCache(tmp_path / "c", "k" * 24, tmp_path / "p")
    assert cache.problem is None
    data = b"x = 1\n"
    bad = FileResult(path="a.py", digest=hashlib.sha256(data).hexdigest(), sites=[Site("t", "a.py", 1, 1, "t", detail={"k": (1,)})])
    cache.store("a.py", "a", data, bad)
    assert not cache.fresh  # analysed again next time, never stored inexactly
    cache.store("a.py", "a", b"other bytes", dataclasses.replace(bad, sites=[]))
    assert not cache.fresh  # a result that does not describe these bytes is not stored
    cache.store("a.py", "a", data, dataclasses.replace(bad, sites=[], digest=""))
    assert not cache.fresh  # nor one that records no bytes (a file the pool gave up on)
    cache.store("a.py", "a", data, dataclasses.replace(bad, sites=[]))
    assert set(cache.fresh) == {"a.py"}


def _encoded_agent() -> tuple[list, str, str]:
    """The JSON of a real result with findings, sites and facts, its path and digest."""
    data = AGENT.encode()
    from factorlint.engine.run.runner import lint_file

    result = lint_file("agent.py", data, _settings(REPO / "examples"), module_name="agent", package="")
    assert result.findings and result.sites and result.facts
    return json.loads(codec.encode_result(result)), result.path, result.digest


def _with(document: list, where: tuple, value) -> list:
    copy = json.loads(json.dumps(document))
    target = copy
    for index in where[:-1]:
        target = target[index]
    target[where[-1]] = value
    return copy


_F, _S, _FACTS = 2, 9, 4  # positions of findings, sites and facts in a FileResult array
BAD_RESULTS = {
    "not an array": lambda d: {},
    "too few fields": lambda d: d[:-1],
    "too many fields": lambda d: [*d, []],
    "line is a string": lambda d: _with(d, (_F, 0, 6), "5"),
    "line is a bool": lambda d: _with(d, (_F, 0, 6), True),
    "line is a float": lambda d: _with(d, (_F, 0, 6), 5.0),
    "line is negative": lambda d: _with(d, (_F, 0, 6), -1),
    "line is huge": lambda d: _with(d, (_F, 0, 6), 10**30),
    "unknown severity": lambda d: _with(d, (_F, 0, 3), "fatal"),
    "unknown confidence": lambda d: _with(d, (_F, 0, 4), "certain"),
    "unknown applicability": lambda d: _with(d, (_F, 0, 11, 0), "always"),
    "unknown role": lambda d: _with(d, (6,), "library"),
    "code not a code": lambda d: _with(d, (_F, 0, 0), "__import__('os')"),
    "finding for another file": lambda d: _with(d, (_F, 0, 5), "other.py"),
    "site for another file": lambda d: _with(d, (_S, 0, 1), "other.py"),
    "result for another file": lambda d: _with(d, (0,), "other.py"),
    "result for other bytes": lambda d: _with(d, (1,), "0" * 64),
    "name far too long": lambda d: _with(d, (_F, 0, 1), "n" * (codec.MAX_NAME + 1)),
    "detail not a mapping": lambda d: _with(d, (_S, 0, 6), [1]),
    "detail nested too deeply": lambda d: _with(d, (_S, 0, 6), {"k": json.loads("[" * 20 + "]" * 20)}),
    "detail too big": lambda d: _with(d, (_S, 0, 6), {"k": list(range(codec.MAX_DETAIL_NODES + 1))}),
    "detail number too big": lambda d: _with(d, (_S, 0, 6), {"k": 2**70}),
    "facts functions not a list": lambda d: _with(d, (_FACTS, 3), {"f": 1}),
    "facts bindings not strings": lambda d: _with(d, (_FACTS, 4), {"a": 1}),
    "facts classes malformed": lambda d: _with(d, (_FACTS, 6), [["C"]]),
    "fix edits malformed": lambda d: _with(d, (_F, 0, 11, 2), [[1, 2, 3]]),
    "requires_llm not strings": lambda d: _with(d, (_F, 0, 15), [1]),
    "suppression malformed": lambda d: _with(d, (8,), [[1, 2, 3]]),
}
BAD_TEXTS = {
    "random bytes": bytes(range(256)),
    "invalid UTF-8": b'["\xff\xfe"]',
    "truncated": b'["agent.py","' + b"0" * 30,
    "empty": b"",
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "huge integer": b"[" + b"9" * 100_000 + b"]",
    "huge float": b"[1e999999]",
    "NaN": b"[NaN]",
    "Infinity": b"[-Infinity]",
    "a pickle": pickle.dumps({"x": 1}),
}


@pytest.mark.parametrize("name", sorted(BAD_RESULTS))
def test_a_result_of_the_wrong_shape_is_rejected(name):
    document, path, digest = _encoded_agent()
    assert codec.decode_result(json.dumps(document).encode(), path, digest)  # the unaltered one is fine
    with pytest.raises(CacheFormatError):
        codec.decode_result(json.dumps(BAD_RESULTS[name](document)).encode(), path, digest)


@pytest.mark.parametrize("name", sorted(BAD_TEXTS))
def test_bad_json_is_rejected_with_the_one_exception(name):
    with pytest.raises(CacheFormatError):
        codec.decode_result(BAD_TEXTS[name], "agent.py", "0" * 64)


# -- a repository that ships a cache --------------------------------------------------------------


class _Boom:
    """Unpickling this creates ``marker``: what a hostile pickle would do, harmlessly."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _old_key(settings) -> str:
    """The key the pickle cache named its file by (format 1)."""
    fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    text = repr(sorted((k, sorted(v) if isinstance(v, (set, frozenset)) else v) for k, v in fields.items()))
    return hashlib.sha256(f"1:{cache_module._code_stamp()}:{text}".encode()).hexdigest()[:24]


def _forged_line(relative: str, data: bytes, module: str) -> bytes:
    """A well-formed entry claiming the file at ``relative`` has no findings, sites or facts."""
    digest = hashlib.sha256(data).hexdigest()
    result = FileResult(path=relative, digest=digest, lines=1, skipped=True)
    return codec.encode_entry(relative, len(data), digest, module, codec.encode_result(result))


def _ship_hostile_caches(root: Path, marker: Path) -> None:
    """A pickle at every name the old cache used or might use, and a forged cache in the new
    format at the exact name the new cache would look for, all inside the scanned tree."""
    settings = _run_settings(root)
    payload = pickle.dumps({"agent.py": _Boom(marker)})
    folder = root / ".factorlint_cache"
    folder.mkdir()
    for key in (_old_key(settings), settings_key(settings), "0" * 24):
        (folder / f"results-{key}.pickle").write_bytes(payload)
    (root / "sub").mkdir(exist_ok=True)
    (root / "sub" / "results.pickle").write_bytes(payload)
    name = cache_module.cache_file_name(root, settings_key(settings))
    lines = [codec.encode_header(cache_module.project_id(root), settings_key(settings))]
    for relative, module, data in _sources(root):
        lines.append(_forged_line(relative, data, module))
    (folder / name).write_bytes(b"\n".join(lines) + b"\n")


def _payload_works(marker: Path) -> None:
    """The test's pickle really would run code: unpickle it once, on purpose."""
    pickle.loads(pickle.dumps(_Boom(marker)))  # on purpose: proves the payload would run
    assert marker.exists()
    marker.unlink()


def test_a_shipped_cache_runs_nothing_and_changes_nothing_through_the_api(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT, "state.py": STATEFUL})
    marker = tmp_path / "PWNED"
    _payload_works(marker)
    cold = _cold(root)
    assert cold.findings
    _ship_hostile_caches(root, marker)
    shipped = root / ".factorlint_cache"
    before = sorted(p.name for p in shipped.iterdir())
    for cache_dir in (shipped, root, root / "sub", tmp_path / "outside"):
        for _ in range(2):
            assert _view(_lint(root, cache_dir)) == _view(cold), cache_dir
    assert not marker.exists()
    assert sorted(p.name for p in shipped.iterdir()) == before  # nothing read, nothing written there
    assert ResultCache(shipped, "k" * 24, root).problem.startswith(f"cache folder {shipped} is inside")


def test_the_forged_file_would_hide_findings_if_its_folder_were_trusted(tmp_path):
    """So refusing a cache folder inside the scanned tree is what keeps the forgery out."""
    root = _project(tmp_path, {"agent.py": AGENT})
    _ship_hostile_caches(root, tmp_path / "PWNED")
    trusted = tmp_path / "trusted"
    trusted.mkdir(mode=0o700)
    (forged,) = (root / ".factorlint_cache").glob("*.json")
    shutil.copy(forged, trusted / forged.name)
    assert not _lint(root, trusted).findings  # the forged result, believed
    assert _lint(root, root / ".factorlint_cache").findings  # refused in the tree


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "factorlint", "check", *args, "--isolated", "--output-format", "json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )


def test_a_shipped_cache_runs_nothing_and_changes_nothing_through_the_cli(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT, "state.py": STATEFUL})
    marker = tmp_path / "PWNED"
    _payload_works(marker)
    _ship_hostile_caches(root, marker)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    env.pop("FACTORLINT_CACHE_DIR", None)
    cold = _cli(str(root), "--no-cache", env=env)
    assert cold.returncode == 1 and json.loads(cold.stdout)["findings"], cold.stderr
    runs = [
        _cli(str(root), env=env),
        _cli(str(root), env=env),
        _cli(str(root), "--cache-dir", str(root / ".factorlint_cache"), env=env),
        _cli(str(root), env={**env, "FACTORLINT_CACHE_DIR": str(root / ".factorlint_cache")}),
        _cli(str(root), "--cache-dir", str(tmp_path / "mine"), env=env),
        _cli(str(root), "--cache-dir", str(tmp_path / "mine"), env=env),
    ]
    for run in runs:
        assert (run.returncode, run.stdout) == (cold.returncode, cold.stdout), run.stderr
    assert not marker.exists()


def test_the_cli_caches_in_the_per_user_folder_by_default(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT})
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop("FACTORLINT_CACHE_DIR", None)
    assert _cli(str(root), env=env).returncode == 1
    assert list((tmp_path / "xdg" / "factorlint").glob("*.json"))


# -- where the cache lives ------------------------------------------------------------------------


def test_the_default_folder_is_per_user(monkeypatch, tmp_path):
    if os.name == "nt":
        monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))
        assert default_cache_dir() == tmp_path / "factorlint" / "Cache"
        return
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "factorlint"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "factorlint"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "factorlint"


@posix_only
def test_the_folder_and_files_are_created_private(tmp_path):
    old = os.umask(0o000)  # the most permissive umask: the modes must not depend on it
    try:
        root = _project(tmp_path, {"agent.py": AGENT})
        cache_dir = tmp_path / "xdg" / "deeper" / "factorlint"
        _lint(root, cache_dir)
    finally:
        os.umask(old)
    for folder in (tmp_path / "xdg", tmp_path / "xdg" / "deeper", cache_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    files = list(cache_dir.iterdir())
    assert {p.name for p in files} >= {"CACHEDIR.TAG", ".gitignore"} and any(p.suffix == ".json" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not [p for p in files if p.name.startswith(".tmp-")]


def test_projects_sharing_a_folder_never_read_each_others_entries(tmp_path):
    one = _project(tmp_path / "one", {"agent.py": AGENT})
    two = _project(tmp_path / "two", {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _lint(one, cache_dir)
    assert _hits(one, cache_dir) == 1 and _hits(two, cache_dir) == 0
    assert _cache_file(one, cache_dir).name != _cache_file(two, cache_dir).name
    # The other project's file renamed to this project's name: its header names the other root.
    shutil.copy(_cache_file(one, cache_dir), _cache_file(two, cache_dir))
    assert _hits(two, cache_dir) == 0
    assert _view(_lint(two, cache_dir)) == _view(_cold(two))


def _trusted_run(root: Path, cache_dir: Path) -> ResultCache:
    """A full run, then the cache as the next run would open it."""
    _lint(root, cache_dir)
    return _open(root, cache_dir)


@posix_only
def test_a_symlinked_cache_folder_is_not_used(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT})
    real = tmp_path / "real"
    _trusted_run(root, real)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    before = {p.name: p.read_bytes() for p in real.iterdir()}
    cache = _open(root, link)
    assert cache.problem and "symlink" in cache.problem and not cache.entries
    assert _view(_lint(root, link)) == _view(_cold(root))
    assert {p.name: p.read_bytes() for p in real.iterdir()} == before  # nothing written through it


@posix_only
@pytest.mark.skipif(not IS_ROOT, reason="chown to another user needs root")
def test_a_cache_folder_owned_by_another_user_is_not_used(tmp_path):
    import pwd

    try:
        nobody = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        nobody = 65534
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _trusted_run(root, cache_dir)
    os.chown(cache_dir, nobody, -1)
    before = {p.name: p.read_bytes() for p in cache_dir.iterdir()}
    cache = _open(root, cache_dir)
    assert cache.problem and f"uid {nobody}" in cache.problem and not cache.entries
    assert _view(_lint(root, cache_dir)) == _view(_cold(root))
    assert {p.name: p.read_bytes() for p in cache_dir.iterdir()} == before
    # A cache file owned by someone else in our own folder is not read either, and is replaced.
    os.chown(cache_dir, os.geteuid(), -1)
    os.chown(_cache_file(root, cache_dir), nobody, -1)
    assert _hits(root, cache_dir) == 0
    assert _view(_lint(root, cache_dir)) == _view(_cold(root))
    assert _cache_file(root, cache_dir).stat().st_uid == os.geteuid() and _hits(root, cache_dir) == 1


@posix_only
@pytest.mark.parametrize("mode", [0o770, 0o730, 0o707, 0o777, 0o1777])
def test_a_cache_folder_others_can_write_is_not_used(tmp_path, mode):
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _trusted_run(root, cache_dir)
    os.chmod(cache_dir, mode)
    before = {p.name: p.read_bytes() for p in cache_dir.iterdir()}
    cache = _open(root, cache_dir)
    assert cache.problem and "writable by other users" in cache.problem and not cache.entries
    assert _view(_lint(root, cache_dir)) == _view(_cold(root))
    assert {p.name: p.read_bytes() for p in cache_dir.iterdir()} == before


@posix_only
def test_a_cache_file_others_can_write_is_not_read(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _trusted_run(root, cache_dir)
    os.chmod(_cache_file(root, cache_dir), 0o622)
    assert _hits(root, cache_dir) == 0
    _lint(root, cache_dir)  # rewritten with our own mode
    assert stat.S_IMODE(_cache_file(root, cache_dir).stat().st_mode) == 0o600 and _hits(root, cache_dir) == 1


def test_a_cache_folder_that_is_a_file_or_unreachable_is_ignored(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT})
    blocked = tmp_path / "file"
    blocked.write_text("x")
    cold = _view(_cold(root))
    for cache_dir in (blocked, blocked / "below", tmp_path / "bad\x00name"):
        assert _view(_lint(root, cache_dir)) == cold
    assert blocked.read_text() == "x"


# -- the cache file -------------------------------------------------------------------------------


@posix_only
def test_a_symlinked_cache_file_is_not_followed(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _trusted_run(root, cache_dir)
    path = _cache_file(root, cache_dir)
    elsewhere = tmp_path / "elsewhere.json"
    path.rename(elsewhere)
    kept = elsewhere.read_bytes()
    path.symlink_to(elsewhere)
    assert _hits(root, cache_dir) == 0  # a valid file, but reached through a link
    assert _view(_lint(root, cache_dir)) == _view(_cold(root))
    assert not path.is_symlink() and elsewhere.read_bytes() == kept  # replaced, not written through


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_as_the_cache_file_never_blocks(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _trusted_run(root, cache_dir)
    path = _cache_file(root, cache_dir)
    path.unlink()
    os.mkfifo(path, 0o600)
    with _deadline(30):
        assert _view(_lint(root, cache_dir)) == _view(_cold(root))
    assert stat.S_ISREG(path.lstat().st_mode) and _hits(root, cache_dir) == 1


@pytest.mark.skipif(not (IS_ROOT and hasattr(os, "mknod")), reason="making a device node needs root")
def test_a_device_as_the_cache_file_is_never_read(tmp_path, monkeypatch):
    """A device (here one like /dev/zero) is opened, seen by fstat and closed unread."""
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _trusted_run(root, cache_dir)
    path = _cache_file(root, cache_dir)
    path.unlink()
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))
    except OSError as exc:
        pytest.skip(f"no device nodes here: {exc}")
    key = settings_key(_run_settings(root))
    reads: list[int] = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    assert ResultCache(cache_dir, key, root).entries == {} and reads == []
    monkeypatch.undo()
    assert _view(_lint(root, cache_dir)) == _view(_cold(root))
    assert stat.S_ISREG(path.lstat().st_mode)


def test_a_directory_as_the_cache_file_is_ignored(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    path = _cache_file(root, cache_dir)
    (path / "inside").mkdir(parents=True)
    for _ in range(2):
        assert _view(_lint(root, cache_dir)) == _view(_cold(root))
    assert (path / "inside").is_dir()  # left alone: never delete what we did not write
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".tmp-")]


def test_a_gigantic_cache_file_is_not_read(tmp_path, monkeypatch):
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _trusted_run(root, cache_dir)
    path = _cache_file(root, cache_dir)
    good = path.read_bytes()
    with path.open("r+b") as handle:
        handle.truncate(4 << 30)  # 4 GiB, sparse: reading it would be the failure
    key = settings_key(_run_settings(root))
    reads: list[int] = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    assert ResultCache(cache_dir, key, root).entries == {} and sum(reads) == 0
    monkeypatch.undo()
    assert _view(_lint(root, cache_dir)) == _view(_cold(root))
    assert path.stat().st_size == len(good)  # rewritten at its real size
    monkeypatch.setattr(cache_module, "MAX_CACHE_BYTES", len(good) - 1)
    assert _open(root, cache_dir).entries == {}
    # A file that has grown since its size was checked is still read only up to the cap.
    handle = os.open(path, os.O_RDONLY)
    try:
        assert cache_module._read_at_most(handle, len(good) - 1, 10) is None
        os.lseek(handle, 0, os.SEEK_SET)
        assert cache_module._read_at_most(handle, len(good), 10) == good
    finally:
        os.close(handle)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


_FORMAT = b'"format":%d' % codec.FORMAT  # the header field as the writer puts it
FILE_DAMAGE = {
    "random bytes": lambda good, rng: rng.randbytes(len(good)),
    "empty": lambda good, rng: b"",
    "truncated in the header": lambda good, rng: good[: good.index(b"\n") // 2],
    "a JSON array": lambda good, rng: b"[]\n",
    "a JSON object of another shape": lambda good, rng: b'{"tool":"factorlint"}\n',
    "another format": lambda good, rng: good.replace(_FORMAT, b'"format":%d' % (codec.FORMAT - 1), 1),
    "format as a huge number": lambda good, rng: good.replace(_FORMAT, b'"format":' + b"9" * 50_000, 1),
    "format as a float": lambda good, rng: good.replace(_FORMAT, _FORMAT + b".0", 1),
    "deeply nested": lambda good, rng: b"[" * 200_000 + b"]" * 200_000,
    "NaN header": lambda good, rng: good.replace(_FORMAT, b'"format":NaN', 1),
    "a pickle": lambda good, rng: pickle.dumps({"x": 1}),
    "UTF-16": lambda good, rng: good.decode().encode("utf-16"),
}


@pytest.mark.parametrize("damage", sorted(FILE_DAMAGE))
def test_a_damaged_cache_file_is_dropped_and_rewritten(tmp_path, damage):
    root = _project(tmp_path)
    cache_dir = tmp_path / "cache"
    cold = _view(_cold(root))
    _trusted_run(root, cache_dir)
    path = _cache_file(root, cache_dir)
    path.write_bytes(FILE_DAMAGE[damage](path.read_bytes(), random.Random(7)))
    assert _hits(root, cache_dir) == 0
    assert _view(_lint(root, cache_dir)) == cold
    assert _hits(root, cache_dir) == len(cold[0])  # rewritten whole


def _replace_entry(path: Path, relative: str, make) -> None:
    """Swap ``relative``'s line for one built by ``make(old fields)`` with a valid check."""
    lines = _lines(path)
    for index, line in enumerate(lines[1:-1], 1):
        rel, size, digest, module, result = codec.decode_entry(line)
        if rel == relative:
            lines[index] = codec.encode_entry(rel, size, digest, module, make(result))
    path.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("name", sorted(BAD_RESULTS) + sorted(BAD_TEXTS))
def test_a_well_checked_entry_of_the_wrong_shape_is_dropped_and_rewritten(tmp_path, name):
    """An entry whose check matches (as one written by someone with this user's rights would)
    but whose result is of the wrong shape: that file is analysed afresh, the rest are served."""
    root = _project(tmp_path, {"agent.py": AGENT, "state.py": STATEFUL, "util.py": CLEAN})
    cache_dir = tmp_path / "cache"
    cold = _view(_cold(root))
    _trusted_run(root, cache_dir)
    if name in BAD_RESULTS:
        def make(result: bytes) -> bytes:
            return json.dumps(BAD_RESULTS[name](json.loads(result))).encode()
    else:
        def make(result: bytes) -> bytes:
            return BAD_TEXTS[name].replace(b"\n", b" ").replace(b"\t", b" ")
    _replace_entry(_cache_file(root, cache_dir), "agent.py", make)
    assert _hits(root, cache_dir) == 2
    assert _view(_lint(root, cache_dir)) == cold
    assert _hits(root, cache_dir) == 3


def test_a_truncated_cache_file_keeps_its_whole_lines(tmp_path):
    root = _project(tmp_path)
    cache_dir = tmp_path / "cache"
    cold = _view(_cold(root))
    _trusted_run(root, cache_dir)
    path = _cache_file(root, cache_dir)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) - 10])  # the last entry is cut
    assert _hits(root, cache_dir) == len(cold[0]) - 1
    assert _view(_lint(root, cache_dir)) == cold and path.read_bytes() == good


# -- the bytes decide, never the metadata ---------------------------------------------------------


def _same_length_variant(text: str) -> str:
    variant = text.replace("while True:", "for _ in r:")
    assert len(variant.encode()) == len(text.encode()) and variant != text
    return variant


def test_a_same_size_same_mtime_edit_is_analysed_afresh(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    assert [f.code for f in _lint(root, cache_dir).findings] == ["TFA0802"]
    target = root / "agent.py"
    info = target.stat()
    target.write_text(_same_length_variant(AGENT))
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert target.stat().st_mtime_ns == info.st_mtime_ns and target.stat().st_size == info.st_size
    warm = _lint(root, cache_dir)
    assert _view(warm) == _view(_cold(root)) and not warm.findings


def test_a_copy_with_preserved_times_is_analysed_afresh(tmp_path):
    """``cp -p`` / ``rsync -t`` / ``shutil.copy2``: same size, same mtime, other bytes."""
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    target = root / "agent.py"
    stamp = target.stat().st_mtime_ns
    _lint(root, cache_dir)
    other = tmp_path / "other.py"
    other.write_text(_same_length_variant(AGENT))
    os.utime(other, ns=(stamp, stamp))
    shutil.copy2(other, target)
    assert target.stat().st_mtime_ns == stamp
    assert _view(_lint(root, cache_dir)) == _view(_cold(root))
    # And back: the original bytes, with the variant's times, are the original result again.
    original = tmp_path / "original.py"
    original.write_text(AGENT)
    os.utime(original, ns=(stamp, stamp))
    shutil.copy2(original, target)
    assert [f.code for f in _lint(root, cache_dir).findings] == ["TFA0802"]


def test_only_a_hash_lets_an_entry_in(tmp_path, monkeypatch):
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _lint(root, cache_dir)
    os.utime(root / "agent.py", ns=(1, 1))  # touched: other mtime, same bytes
    hashed: list[int] = []
    real = cache_module.digest_of
    monkeypatch.setattr(cache_module, "digest_of", lambda data: hashed.append(len(data)) or real(data))
    cache = _open(root, cache_dir)
    assert [cache.lookup(*s) is not None for s in _sources(root)] == [True] and hashed == [len(AGENT)]


def test_the_same_bytes_as_another_module_are_analysed_afresh(tmp_path):
    root = _project(tmp_path, {"app/agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _lint(root, cache_dir)
    (root / "app" / "__init__.py").write_text("")  # agent.py is now app.agent
    cache = _open(root, cache_dir)
    by_path = {rel: (rel, module, data) for rel, module, data in _sources(root)}
    assert cache.lookup(*by_path["app/agent.py"]) is None
    assert _view(_lint(root, cache_dir)) == _view(_cold(root))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_reading_a_source_never_blocks_and_is_bounded(tmp_path):
    fifo = tmp_path / "fifo.py"
    os.mkfifo(fifo)
    big = tmp_path / "big.py"
    big.write_bytes(b"x" * 100)
    with _deadline(10):
        assert read_source(fifo, 1000) is None
    assert read_source(big, 99) is None and read_source(big, 100) == b"x" * 100
    assert read_source(tmp_path / "missing.py", 100) is None and read_source(tmp_path, 100) is None


# -- housekeeping ---------------------------------------------------------------------------------


def test_a_warm_run_writes_nothing_and_old_cache_files_are_pruned(tmp_path):
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"
    _lint(root, cache_dir)
    path = _cache_file(root, cache_dir)
    old = time.time() - cache_module.PRUNE_AFTER_SECONDS - 60
    stale = cache_dir / f"{'0' * 16}-{'1' * 24}.json"
    stale_temp = cache_dir / ".tmp-0123456789abcdef.json"
    recent = cache_dir / f"{'2' * 16}-{'3' * 24}.json"
    unrelated = cache_dir / "notes.txt"
    for extra in (stale, stale_temp, recent, unrelated):
        extra.write_text("x")
    for extra in (stale, stale_temp, unrelated):
        os.utime(extra, (old, old))
    os.utime(path, (old, old))
    inode = path.stat().st_ino
    _lint(root, cache_dir)
    assert path.stat().st_ino == inode and time.time() - path.stat().st_mtime < 600  # touched, not rewritten
    assert not stale.exists() and not stale_temp.exists() and recent.exists() and unrelated.exists()


def test_a_failed_write_leaves_no_temporary_file_and_no_error(tmp_path, monkeypatch):
    root = _project(tmp_path, {"agent.py": AGENT})
    cache_dir = tmp_path / "cache"

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    assert _view(_lint(root, cache_dir)) == _view(_cold(root))
    assert [p.name for p in cache_dir.iterdir() if not p.name.startswith((".gitignore", "CACHEDIR"))] == []


def test_the_cache_modules_import_no_libcst_and_no_pickle():
    script = (
        "import sys\n"
        "import factorlint.engine.run.cache, factorlint.engine.run.cache_codec\n"
        "print(sorted(m for m in ('libcst', 'pickle') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    for name in ("cache.py", "cache_codec.py"):
        source = (REPO / "src" / "factorlint" / "engine" / "run" / name).read_text()
        assert "import pickle" not in source and "marshal" not in source and "shelve" not in source


# -- fuzzing real cache files ---------------------------------------------------------------------


def _mutate(good: bytes, rng: random.Random) -> bytes:
    data = bytearray(good)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        kind = rng.randrange(7)
        where = rng.randrange(len(data) + 1) if data else 0
        if kind == 0 and data:  # flip a bit
            where = min(where, len(data) - 1)
            data[where] ^= 1 << rng.randrange(8)
        elif kind == 1:  # truncate
            del data[where:]
        elif kind == 2:  # insert random bytes
            data[where:where] = rng.randbytes(rng.randrange(1, 6))
        elif kind == 3:  # delete a span
            del data[where:where + rng.randrange(1, 40)]
        elif kind == 4:  # a structural byte
            data[where:where] = rng.choice([b"\n", b"\t", b"[", b"]", b"{", b'"', b",", b"0", b"-"])
        elif kind == 5 and data:  # overwrite a byte with any byte
            data[min(where, len(data) - 1)] = rng.randrange(256)
        else:  # duplicate or drop a line
            lines = bytes(data).split(b"\n")
            pick = rng.randrange(len(lines))
            if rng.random() < 0.5:
                lines.insert(pick, lines[pick])
            else:
                del lines[pick]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def test_fuzzed_cache_files_never_change_a_result(tmp_path):
    """Thousands of damaged copies of real cache files: every lookup is a miss or exactly the
    stored result; and full runs over a few hundred of them report exactly what a cold run does."""
    rng = random.Random(20240601)
    projects = []
    for number, root in enumerate([*REAL_PROJECTS, _project(tmp_path)]):
        cache_dir = tmp_path / f"cache{number}"
        cold = _cold(root)
        _lint(root, cache_dir)
        path = _cache_file(root, cache_dir)
        sources = _sources(root)
        key = settings_key(_run_settings(root))
        reference = ResultCache(cache_dir, key, root)
        expected = {s[0]: reference.lookup(*s) for s in sources}
        assert all(expected.values()) and len(expected) == len(cold.files)
        projects.append((root, cache_dir, key, path, path.read_bytes(), sources, expected, _view(cold)))

    partial = whole_loss = 0
    for _ in range(5000):  # through the cache loader directly
        root, cache_dir, key, path, good, sources, expected, _ = rng.choice(projects)
        path.write_bytes(_mutate(good, rng))
        cache = ResultCache(cache_dir, key, root)
        served = 0
        for source in sources:
            result = cache.lookup(*source)
            if result is not None:
                assert result == expected[source[0]]
                served += 1
        partial += 0 < served < len(sources)
        whole_loss += served == 0
    assert partial > 1000 and whole_loss > 500  # both outcomes, often: the damage reached both

    for _ in range(200):  # full runs
        root, cache_dir, key, path, good, sources, expected, cold = rng.choice(projects)
        path.write_bytes(_mutate(good, rng))
        assert _view(_lint(root, cache_dir, jobs=0)) == cold  # in this process: no worker to start
        # Opened by the key computed afresh: it covers factorlint's own files, which may change.
        rewritten = _open(root, cache_dir)
        assert not rewritten.dirty and set(rewritten.entries) == set(expected)  # whole again


def test_the_code_stamp_covers_the_rules_and_the_knowledge_tables():
    """A changed rule or table must not be answered from entries an older one wrote."""
    names = {f"{root.name}/{path.relative_to(root).as_posix()}" for root, path in cache_module.stamped_files()}
    assert any("/checks/f08/tfa0802_unbounded_agent_loop.py" in n for n in names)
    assert any(n.endswith("audit/scoring.py") for n in names)
    assert any(n.endswith("frameworks/security_sinks.toml") for n in names)
