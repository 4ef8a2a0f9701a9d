"""The content-hash cache and the process pool give the same report as a cold, serial run."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from helpers import AGENT, CLEAN, STATEFUL, invoke, write

from factorlint import api
from factorlint.config import Overrides, resolve_settings
from factorlint.engine.run import tasks
from factorlint.engine.run.cache import ResultCache, settings_key


def _settings(root: Path):
    return resolve_settings(root, Overrides(isolated=True), root)


def _view(report):
    findings = [(f.path, f.line, f.column, f.code, f.message, f.fingerprint) for f in report.findings]
    sites = sorted((s.path, s.line, s.kind, s.label) for s in report.sites)
    return findings, sites, [(d.path, d.code) for d in report.diagnostics]


def _cache(cache_dir: Path, root: Path) -> ResultCache:
    """The run's cache (its key also covers the project's module roots, set per run)."""
    (path,) = cache_dir.glob("*-*.json")
    return ResultCache(cache_dir, path.stem.split("-")[1], root)


def _project(root: Path, copies: int = 1) -> None:
    files = {}
    for number in range(copies):
        files[f"pkg{number}/agent.py"] = AGENT
        files[f"pkg{number}/state.py"] = STATEFUL
        files[f"pkg{number}/util.py"] = CLEAN
    files["broken.py"] = "def (:\n"
    write(root, files)


def test_a_warm_run_reads_every_result_from_the_cache(tmp_path):
    root = tmp_path / "p"
    _project(root)
    cache_dir = tmp_path / "cache"
    settings = _settings(root)
    cold = api.lint_paths([root], settings, cache_dir=cache_dir)
    cache = _cache(cache_dir, root)
    assert set(cache.entries) == {"pkg0/agent.py", "pkg0/state.py", "pkg0/util.py", "broken.py"}
    warm = api.lint_paths([root], settings, cache_dir=cache_dir)
    assert _view(warm) == _view(cold) and cold.findings


def test_a_warm_run_never_lints_an_unchanged_file(tmp_path, monkeypatch):
    root = tmp_path / "p"
    _project(root)
    settings = _settings(root)
    api.lint_paths([root], settings, cache_dir=tmp_path / "cache")
    linted = []
    from factorlint.engine.run import runner

    real = runner.lint_file
    monkeypatch.setattr(runner, "lint_file", lambda path, *a, **k: linted.append(path) or real(path, *a, **k))
    (root / "pkg0" / "util.py").write_text(CLEAN + "\n# edited\n")
    api.lint_paths([root], settings, cache_dir=tmp_path / "cache", jobs=0)  # in this process: `linted` sees it
    assert linted == ["pkg0/util.py"]


def test_same_size_edit_with_the_same_mtime_is_caught_by_the_hash(tmp_path):
    root = tmp_path / "p"
    write(root, {"agent.py": AGENT})
    settings = _settings(root)
    cache_dir = tmp_path / "cache"
    assert api.lint_paths([root], settings, cache_dir=cache_dir).findings
    target = root / "agent.py"
    info = target.stat()
    # Same length, same modification time, different bytes: only the hash tells them apart.
    edited = AGENT.replace("while True:", "for _ in r:")
    assert len(edited) == len(AGENT)
    target.write_text(edited)
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert not [f for f in api.lint_paths([root], settings, cache_dir=cache_dir).findings if f.code == "TFA0802"]


def test_other_settings_use_another_cache(tmp_path):
    root = tmp_path / "p"
    write(root, {"agent.py": AGENT})
    settings = _settings(root)
    quieter = dataclasses.replace(settings, enabled=settings.enabled - {"TFA0802"})
    assert settings_key(settings) != settings_key(quieter)
    api.lint_paths([root], settings, cache_dir=tmp_path / "cache")
    report = api.lint_paths([root], quieter, cache_dir=tmp_path / "cache")
    assert "TFA0802" not in {f.code for f in report.findings}


def test_a_corrupt_or_unwritable_cache_is_ignored(tmp_path):
    root = tmp_path / "p"
    write(root, {"agent.py": AGENT})
    settings = _settings(root)
    cache_dir = tmp_path / "cache"
    assert api.lint_paths([root], settings, cache_dir=cache_dir).findings
    (path,) = cache_dir.glob("*-*.json")
    path.write_bytes(b"not a cache file")
    assert api.lint_paths([root], settings, cache_dir=cache_dir).findings
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    assert api.lint_paths([root], settings, cache_dir=blocked / "cache").findings


def test_the_pool_gives_the_serial_report(tmp_path):
    """One worker, two workers and no worker at all (``jobs=0``: in this process) agree."""
    root = tmp_path / "p"
    _project(root, copies=tasks.POOL_MIN_FILES // 3 + 2)
    settings = _settings(root)
    serial = api.lint_paths([root], settings, jobs=0)
    for jobs in (1, 2):
        assert _view(api.lint_paths([root], settings, jobs=jobs)) == _view(serial)
    assert len(serial.findings) >= tasks.POOL_MIN_FILES // 3


def test_custom_knowledge_reaches_the_workers(tmp_path):
    """Workers are forked once the knowledge is known: a run with custom tables (here without
    OpenAI's, so the agent loop is no longer one) is protected by the pool and reports what a
    run in this process reports."""
    import shutil

    from factorlint.knowledge import _knowledge_root, load_knowledge

    tables = tmp_path / "tables"
    shutil.copytree(_knowledge_root(), tables)
    (tables / "frameworks" / "openai.toml").unlink()
    root = tmp_path / "p"
    _project(root, copies=2)
    settings = _settings(root)
    knowledge = load_knowledge(tables)
    serial = api.lint_paths([root], settings, knowledge=knowledge, jobs=0)
    assert "TFA0802" not in {f.code for f in serial.findings}
    assert "TFA0802" in {f.code for f in api.lint_paths([root], settings, jobs=2).findings}
    assert _view(api.lint_paths([root], settings, knowledge=knowledge, jobs=2)) == _view(serial)


def test_default_jobs_follow_affinity_and_the_cgroup_quota(tmp_path, monkeypatch):
    from factorlint.engine.run import pool

    def cgroup(text: str, files: dict) -> int | None:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(content)
        (folder / "self").write_text(text)
        return pool.cgroup_cpu_limit(folder, folder / "self")

    assert cgroup("0::/app\n", {"app/cpu.max": "150000 100000\n"}) == 2
    assert cgroup("0::/app\n", {"app/cpu.max": "max 100000\n", "cpu.max": "100000 100000"}) == 1
    assert cgroup("0::/\n", {"cpu.max": "max 100000\n"}) is None
    v1 = {"cpu,cpuacct/job/cpu.cfs_quota_us": "300000", "cpu,cpuacct/job/cpu.cfs_period_us": "100000"}
    assert cgroup("3:cpu,cpuacct:/job\n", v1) == 3
    assert cgroup("3:cpu,cpuacct:/\n", {"cpu,cpuacct/cpu.cfs_quota_us": "-1", "cpu,cpuacct/cpu.cfs_period_us": "100000"}) is None
    monkeypatch.setattr(pool, "cgroup_cpu_limit", lambda: 1)
    assert pool.default_jobs() == 1
    monkeypatch.setattr(pool, "cgroup_cpu_limit", lambda: None)
    assert pool.default_jobs() == len(os.sched_getaffinity(0))


def test_the_cli_never_writes_a_cache_in_the_scanned_folder(tmp_path, monkeypatch):
    """The cache lives outside the scanned tree (tests/test_untrusted_cache.py has the why)."""
    root = tmp_path / "p"
    write(root, {"agent.py": AGENT})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("FACTORLINT_CACHE_DIR", raising=False)
    assert invoke("check", str(root), "--isolated", "--no-cache").exit_code == 1
    assert not (tmp_path / "xdg").exists()
    for _ in range(2):
        again = invoke("check", str(root), "--isolated", "--output-format", "concise")
        assert again.exit_code == 1 and "TFA0802" in again.stdout
    assert sorted(p.name for p in root.iterdir()) == ["agent.py"]
    folder = tmp_path / "elsewhere"
    assert invoke("check", str(root), "--isolated", "--cache-dir", str(folder)).exit_code == 1
    assert (folder / ".gitignore").read_text().strip().endswith("*") and (folder / "CACHEDIR.TAG").exists()
    assert len(list(folder.glob("*-*.json"))) == 1


def test_the_cache_key_is_the_same_in_every_process(tmp_path):
    """Sets in the settings print in hash order, which differs per process (PYTHONHASHSEED)."""
    import subprocess
    import sys

    root = tmp_path / "p"
    _project(root)
    script = (
        "import sys, dataclasses; from pathlib import Path; from factorlint import api;"
        "from factorlint.config import Overrides, resolve_settings; from factorlint.discovery import discover;"
        "from factorlint.engine.run.cache import settings_key; r = Path(sys.argv[1]);"
        "s = resolve_settings(r, Overrides(isolated=True), r);"
        "s = dataclasses.replace(s, project_roots=api.project_roots(discover([r], s).files));"
        "print(settings_key(s))"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", script, str(root)], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(keys) == 1


def test_the_rule_index_matches_the_rule_modules():
    from factorlint.checks.registry import index_source

    index = Path(api.__file__).parent / "checks" / "index.py"
    assert index.read_text(encoding="utf-8") == index_source(), (
        "src/factorlint/checks/index.py is stale: run `python -m factorlint.checks.registry`"
    )


def test_a_run_served_from_the_cache_imports_no_libcst(tmp_path):
    """A warm run starts fast: no LibCST, no rule modules, when no file needs analysing."""
    import subprocess
    import sys

    root = tmp_path / "p"
    _project(root)
    script = (
        "import sys\n"
        "from factorlint.cli import main\n"
        "try:\n"
        f"    main(['check', {str(root)!r}, '--isolated', '--exit-zero', '-q', '--cache-dir', {str(tmp_path / 'c')!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LIBCST' if 'libcst' in sys.modules else 'NO-LIBCST')\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert runs[0].rstrip().endswith("LIBCST") and not runs[0].rstrip().endswith("NO-LIBCST")
    assert runs[1].rstrip().endswith("NO-LIBCST"), runs[1]


def test_tasks_cross_the_pipe_as_bytes_never_as_pickles():
    """A task holds bytes of the scanned tree: it goes to the worker as a JSON line and the raw
    bytes, and nothing on either end of the pipe unpickles."""
    from factorlint.engine.run import pool

    task = ("/tmp/p\udcff.py", "p\udcff.py", b"\x00import os\n\xff", "pkg.p", "pkg", True)
    assert tasks.decode_task(tasks.encode_task(task)) == task
    no_bytes = ("/tmp/a.py", "a.py", None, "", "", False)
    assert tasks.decode_task(tasks.encode_task(no_bytes)) == no_bytes
    source = Path(pool.__file__).read_text()
    assert ".recv()" not in source and ".send(" not in source  # Connection's pickling calls


def test_a_run_with_forked_workers_never_imports_pickle(tmp_path):
    """Where workers are forked, neither the run nor its workers load pickle or
    multiprocessing (which imports it): workers are forked and spoken to by engine.run.forked."""
    import subprocess
    import sys

    import pytest

    from factorlint.engine.run import pool

    if not pool.forking():
        pytest.skip("workers are spawned here, through multiprocessing")
    write(tmp_path, {"agent.py": AGENT, "other.py": AGENT})
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from factorlint import api\n"
        "from factorlint.config import Overrides, resolve_settings\n"
        "root = Path(sys.argv[1])\n"
        "report = api.lint_paths([root], resolve_settings(root, Overrides(isolated=True), root), jobs=2)\n"
        "print(len(report.findings), 'pickle' in sys.modules, 'multiprocessing' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True)
    count, pickle_loaded, multiprocessing_loaded = done.stdout.split()
    assert int(count) > 0 and pickle_loaded == "False" and multiprocessing_loaded == "False"


def test_a_channel_carries_whole_messages_and_reports_a_cut_one():
    import socket
    import struct
    import threading

    import pytest

    from factorlint.engine.run.forked import Channel, channel_pair

    left, right = channel_pair()
    left.send_bytes(b"")
    assert right.recv_bytes() == b""
    big = b"x" * 3_000_000  # more than a socket buffer holds: sent and read in pieces
    sender = threading.Thread(target=left.send_bytes, args=(big,))
    sender.start()
    assert right.recv_bytes() == big
    sender.join()
    first, second = channel_pair()
    first.send_bytes(b"too long")
    with pytest.raises(OSError):
        second.recv_bytes(maxlength=3)
    raw, end = socket.socketpair()
    cut = Channel(end)
    raw.sendall(struct.pack("!Q", 10) + b"half")
    raw.close()  # the sender died in the middle of a message
    assert cut.poll()
    with pytest.raises(EOFError):
        cut.recv_bytes()
    left.close()
    with pytest.raises(EOFError):
        right.recv_bytes()
