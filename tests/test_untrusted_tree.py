"""Reading a tree from an untrusted pull request: nothing skipped in silence, nothing hangs, nothing
is read from outside the tree, and odd files are one-line errors rather than internal errors.

Each section is one reproduced problem: unreadable folders, a .gitignore hiding tracked files,
configuration above the repository and runs that scan nothing, FIFOs and devices, project files
read for versions, symlinks out of the tree and very deep trees, and odd configuration files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from helpers import AGENT, CLEAN, assert_one_line_error, check_json, invoke, write
from hypothesis import given, settings
from hypothesis import strategies as st

import factorlint
from factorlint.config import Overrides, resolve_settings
from factorlint.discovery import _Excludes, discover
from factorlint.git_index import git_dir, parse_index, read_tracked
from factorlint.versions import detect_versions

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="needs git")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
posix = pytest.mark.skipif(os.name != "posix", reason="needs POSIX permissions, symlinks and devices")


def _finishes(function, timeout: float = 20.0):
    """``function()``, failing the test if it has not returned after ``timeout`` seconds."""
    box: dict = {}

    def target():
        try:
            box["value"] = function()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "did not finish: blocked on a FIFO or reading without end?"
    if "error" in box:
        raise box["error"]
    return box["value"]


def _diagnostics(report: dict) -> dict[str, str]:
    return {d["path"]: d["message"] for d in report["diagnostics"]}


def _found(report: dict) -> set[str]:
    return {f["path"] for f in report["findings"]}


def _under(folder: str, paths: set[str]) -> set[str]:
    """Paths as the command line shows them: relative to the working directory."""
    return {f"{folder}/{path}" for path in paths}


def _git(cwd: Path, *args: str) -> str:
    """Run git in a repository this test made (never in a tree under review)."""
    env = {
        **os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(cwd),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        [GIT, "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false", *args],
        cwd=cwd, env=env, capture_output=True, check=True,
    )
    return done.stdout.decode("utf-8", "surrogateescape")


def _commit_all(repo: Path) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "files")


def _index_version(repo: Path) -> int:
    return struct.unpack(">L", (repo / ".git" / "index").read_bytes()[4:8])[0]


# --- 1. folders and .gitignore files that cannot be read -----------------------------------------


@pytest.fixture
def shared_tree():
    """A folder every user can reach (pytest's own tmp folder is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="factorlint-untrusted-"))
    folder.chmod(0o755)
    yield folder
    for path, dirs, files in os.walk(folder):  # top-down: a folder is opened up before it is listed
        for name in dirs + files:
            if not os.path.islink(os.path.join(path, name)):
                os.chmod(os.path.join(path, name), 0o700)
    shutil.rmtree(folder)


def _run_unprivileged(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``factorlint ARGS`` as a user permissions apply to: as root, ``nobody`` with no capabilities
    (root reads a chmod 000 folder anyway)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        import pwd

        setpriv = shutil.which("setpriv")
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            nobody = None
        if setpriv is None or nobody is None:
            pytest.skip("needs setpriv and the user nobody to drop root's rights")
        prefix = [
            setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--inh-caps=-all",
        ]
        probe = subprocess.run(
            [*prefix, sys.executable, "-c", "import factorlint"], capture_output=True, check=False,
            env={"PYTHONPATH": str(Path(factorlint.__file__).parents[1])},
        )
        if probe.returncode != 0:
            pytest.skip("the user nobody cannot import factorlint from this environment")
    command = [*prefix, sys.executable, "-m", "factorlint", *args]
    # The same factorlint as this test imported, whichever folder it comes from.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(Path(factorlint.__file__).parents[1]),
    }
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


@posix
def test_folders_and_gitignores_that_cannot_be_read_are_diagnostics(shared_tree):
    write(shared_tree, {
        "agent.py": AGENT,
        "locked/agent.py": AGENT,
        "listable/agent.py": AGENT,
        "pkg/.gitignore": "agent.py\n",
        "pkg/agent.py": AGENT,
        "secret.py": CLEAN,
    })
    for path, _, files in os.walk(shared_tree):
        os.chmod(path, 0o755)
        for name in files:
            os.chmod(os.path.join(path, name), 0o644)
    (shared_tree / "locked").chmod(0)  # neither listed nor entered
    (shared_tree / "listable").chmod(0o644)  # listed, not entered
    (shared_tree / "pkg" / ".gitignore").chmod(0)
    (shared_tree / "secret.py").chmod(0)

    result = _run_unprivileged(shared_tree, "check", "--no-cache", "--output-format", "json", ".")

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    diagnostics = _diagnostics(report)
    assert set(diagnostics) == {"locked", "listable", "pkg/.gitignore", "secret.py"}
    assert {d["code"] for d in report["diagnostics"]} == {"TFA0001"}
    assert "cannot be listed" in diagnostics["locked"] and "Permission denied" in diagnostics["locked"]
    assert "not entered" in diagnostics["listable"]
    assert "cannot be read" in diagnostics["pkg/.gitignore"]
    # The folder whose .gitignore cannot be read is scanned without it.
    assert _found(report) == {"agent.py", "pkg/agent.py"}


def test_a_gitignore_with_a_pattern_git_cannot_use_is_no_internal_error(project):
    write(project, {".gitignore": "!\nlegacy/\ntrailing\\\n", "agent.py": AGENT, "legacy/agent.py": AGENT})
    status, report = check_json(".")
    assert status == 1 and report["diagnostics"] == []
    assert _found(report) == {"agent.py"}


def test_a_deeper_gitignore_can_re_include_what_a_higher_one_ignores(project):
    write(project, {
        ".gitignore": "gen/*.py\n",
        "gen/.gitignore": "!keep.py\n",
        "gen/drop.py": AGENT,
        "gen/keep.py": AGENT,
    })
    assert _found(check_json(".")[1]) == {"gen/keep.py"}


# --- 2. a .gitignore cannot hide files git tracks -----------------------------------------------


def _hidden_agent_repo(repo: Path) -> None:
    """Agent code committed, then a .gitignore that matches it, and untracked ignored files."""
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q")
    write(repo, {
        "agents/evil.py": AGENT,
        "deep/a/b/hidden.py": AGENT,
        "ok.py": CLEAN,
        "ünï cödé/agent.py": AGENT,
    })
    _commit_all(repo)
    write(repo, {
        ".gitignore": "agents/\nhidden.py\nünï cödé/\nscratch/\n",
        "agents/untracked.py": AGENT,
        "deep/a/b/untracked/hidden.py": AGENT,
        "scratch/agent.py": AGENT,
    })


TRACKED = {"agents/evil.py", "deep/a/b/hidden.py", "ünï cödé/agent.py"}


@needs_git
@pytest.mark.parametrize("version", [2, 3, 4])
def test_tracked_files_are_scanned_though_a_gitignore_matches_them(project, version):
    repo = project / "repo"
    _hidden_agent_repo(repo)
    if version == 3:  # git writes version 3 only for entries with extended flags
        _git(repo, "update-index", "--skip-worktree", "ok.py")
    else:
        _git(repo, "update-index", "--index-version", str(version))
    assert _index_version(repo) == version
    status, report = check_json("repo")
    assert status == 1
    assert _found(report) == _under("repo", TRACKED)
    assert report["diagnostics"] == []


@needs_git
def test_tracked_files_in_a_subfolder_scan_and_with_gitignore_off(project):
    repo = project / "repo"
    _hidden_agent_repo(repo)
    assert _found(check_json("repo/deep")[1]) == {"repo/deep/a/b/hidden.py"}
    write(repo, {"factorlint.toml": "respect-gitignore = false\n"})
    assert _found(check_json("repo")[1]) == _under("repo", TRACKED | {
        "agents/untracked.py", "deep/a/b/untracked/hidden.py", "scratch/agent.py",
    })


@needs_git
def test_sha256_repository(project):
    repo = project / "repo"
    repo.mkdir()
    try:
        _git(repo, "init", "-q", "--object-format=sha256")
    except subprocess.CalledProcessError:
        pytest.skip("this git cannot make SHA-256 repositories")
    write(repo, {"gen/agent.py": AGENT})
    _git(repo, "add", "-A")
    write(repo, {".gitignore": "gen/\n"})
    assert _found(check_json("repo")[1]) == {"repo/gen/agent.py"}
    _git(repo, "update-index", "--index-version", "4")
    assert _found(check_json("repo")[1]) == {"repo/gen/agent.py"}


@needs_git
def test_a_worktree_whose_git_is_a_file(project):
    _hidden_agent_repo(project / "repo")
    _git(project / "repo", "worktree", "add", "-q", str(project / "wt"))
    assert (project / "wt" / ".git").is_file()
    write(project / "wt", {".gitignore": "agents/\nhidden.py\nünï cödé/\n", "agents/untracked.py": AGENT})
    assert _found(check_json("wt")[1]) == _under("wt", TRACKED)


@needs_git
def test_a_nested_repository_uses_its_own_index(project):
    outer = project / "outer"
    outer.mkdir()
    _git(outer, "init", "-q")
    write(outer, {"top.py": CLEAN})
    _commit_all(outer)
    inner = outer / "vendor" / "inner"
    inner.mkdir(parents=True)
    _git(inner, "init", "-q")
    write(inner, {"gen/agent.py": AGENT})
    _commit_all(inner)
    write(inner, {".gitignore": "gen/\n", "gen/untracked.py": AGENT})
    assert _found(check_json("outer")[1]) == {"outer/vendor/inner/gen/agent.py"}


@needs_git
def test_a_malformed_index_falls_back_to_the_gitignore_without_a_diagnostic(project):
    repo = project / "repo"
    _hidden_agent_repo(repo)
    index = repo / ".git" / "index"
    index.write_bytes(index.read_bytes()[:-7])
    status, report = check_json("repo")
    assert report["diagnostics"] == []
    assert status == 0 and _found(report) == set()


# The parser itself, against git's own listing.


def _ls_files(repo: Path) -> tuple[set[str], set[str]]:
    """(files, submodules) as ``git ls-files --stage`` lists them."""
    files, links = set(), set()
    for line in _git(repo, "-c", "core.quotepath=off", "ls-files", "--stage", "-z").split("\0"):
        if line:
            meta, path = line.split("\t", 1)
            (links if meta.startswith("160000") else files).add(path)
    return files, links


@pytest.fixture(scope="module")
def odd_repo(tmp_path_factory):
    """A repository with long, unicode, spaced and symlinked paths, intent-to-add and skip-worktree
    entries and a submodule entry."""
    if GIT is None:
        pytest.skip("needs git")
    repo = tmp_path_factory.mktemp("odd") / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    long_folder = "/".join(["d" * 250] * 16)
    # Paths of 4,095 bytes (the 0xFFF case: the name ends at a NUL) and 4,094, written from the
    # repository: with the folder above them they would pass the system's PATH_MAX.
    here = os.getcwd()
    os.chdir(repo)
    try:
        os.makedirs(long_folder)
        for letter, length in (("f", 4095), ("g", 4094)):
            Path(f"{long_folder}/{letter * (length - len(long_folder) - 4)}.py").write_text("x = 1\n")
    finally:
        os.chdir(here)
    write(repo, {
        "sp ace/ta\tb.py": "x = 1\n",
        "ünï/çödé.py": "x = 1\n",
        **{f"many/file{i:03}.py": "x = 1\n" for i in range(120)},
    })
    os.symlink("many/file000.py", repo / "link.py")
    _commit_all(repo)
    head = _git(repo, "rev-parse", "HEAD").strip()
    _git(repo, "update-index", "--add", "--cacheinfo", f"160000,{head},sub")
    write(repo, {"new.py": "x = 1\n"})
    _git(repo, "add", "-N", "new.py")
    _git(repo, "update-index", "--skip-worktree", "many/file001.py")
    return repo


@needs_git
@pytest.mark.parametrize("version", [3, 4, 2])
def test_the_index_parser_lists_what_git_lists(odd_repo, version):
    if version == 2:  # version 2 cannot hold the extended flags: drop them first
        _git(odd_repo, "update-index", "--no-skip-worktree", "many/file001.py")
        _git(odd_repo, "rm", "-q", "--cached", "--ignore-unmatch", "new.py")
    else:
        _git(odd_repo, "update-index", "--skip-worktree", "many/file001.py")
        _git(odd_repo, "add", "-N", "new.py")
    _git(odd_repo, "update-index", "--index-version", str(version))
    assert _index_version(odd_repo) == version
    tracked = read_tracked(odd_repo)
    files, links = _ls_files(odd_repo)
    assert tracked is not None
    assert tracked.files == files
    assert links == {"sub"} and "sub" in tracked.dirs and "sub" not in tracked.files
    assert {"many", "sp ace", "ünï"} <= tracked.dirs
    assert max(len(p.encode()) for p in files) == 4095


@needs_git
def test_a_sparse_index_counts_every_path_under_a_sparse_folder(project):
    repo = project / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    write(repo, {"a/x.py": CLEAN, "b/c/y.py": CLEAN, "top.py": CLEAN})
    _commit_all(repo)
    try:
        _git(repo, "sparse-checkout", "set", "--cone", "--sparse-index", "a")
    except subprocess.CalledProcessError:
        pytest.skip("this git has no sparse index")
    tracked = read_tracked(repo)
    assert tracked is not None and "b" in tracked.trees
    assert tracked.has_file("b/c/y.py") and tracked.has_dir("b/c") and not tracked.has_file("c/y.py")


@needs_git
def test_a_split_index_is_not_followed(project):
    repo = project / "repo"
    _hidden_agent_repo(repo)
    _git(repo, "update-index", "--split-index")
    assert read_tracked(repo) is None


def _with_checksum(body: bytes) -> bytes:
    return body + hashlib.sha1(body).digest()


def _v2_entry(name: bytes, mode: int = 0o100644) -> bytes:
    """One version 2 entry: stat data, a SHA-1, flags with the name's length, the name, NULs."""
    fixed = bytes(24) + struct.pack(">L", mode) + bytes(12) + bytes(20) + struct.pack(">H", min(len(name), 0xFFF))
    return fixed + name + bytes(8 - (len(fixed) + len(name)) % 8)


def test_malformed_indexes_are_no_tracked_list():
    header = b"DIRC" + struct.pack(">LL", 2, 1)
    good = _v2_entry(b"a.py")
    assert parse_index(_with_checksum(header + good)).files == {"a.py"}
    assert parse_index(header + good + bytes(20)).files == {"a.py"}  # index.skipHash: zeros
    assert parse_index(b"") is None
    assert parse_index(header + good + bytes(19) + b"x") is None  # a bad checksum
    assert parse_index(_with_checksum(b"DIRC" + struct.pack(">LL", 5, 1) + good)) is None  # unknown version
    assert parse_index(_with_checksum(b"DIRC" + struct.pack(">LL", 2, 2**32 - 1))) is None  # too many
    assert parse_index(_with_checksum(header)) is None  # an entry promised, none there
    for name in (b"../etc/passwd", b"/abs.py", b"a//b.py", b"a/./b.py", b"dir/"):
        assert parse_index(_with_checksum(header + _v2_entry(name))) is None, name
    assert parse_index(_with_checksum(header + good[:-1] + b"x")) is None  # padding that is not NUL
    assert parse_index(_with_checksum(header + good + b"link" + struct.pack(">L", 0))) is None  # split index
    assert parse_index(_with_checksum(header + good + b"TREE" + struct.pack(">L", 99))) is None  # overruns


@needs_git
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_index_parser_never_raises_on_corrupt_bytes(odd_repo, data):
    original = (odd_repo / ".git" / "index").read_bytes()
    body = bytearray(original[:-20])
    for _ in range(data.draw(st.integers(1, 8))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(12, len(body)))
    # A valid checksum, so the damage reaches the entry parser.
    result = parse_index(_with_checksum(bytes(body[:cut])))
    assert result is None or isinstance(result.files, frozenset)


def test_a_git_file_is_followed_only_when_sane(tmp_path):
    real = tmp_path / "real.git"
    real.mkdir()
    (real / "HEAD").write_text("ref: refs/heads/main\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    marker = tree / ".git"
    marker.write_text(f"gitdir: {real}\n")
    assert git_dir(tree) == real
    marker.write_text("gitdir: ../real.git\n")
    assert git_dir(tree) == tree / "../real.git"
    for text in (f"gitdir: {real}\nmore\n", f"{real}\n", "gitdir: ../nowhere\n", f"gitdir: {tmp_path}\n"):
        marker.write_text(text)
        assert git_dir(tree) is None, text
    marker.write_bytes(b"gitdir: " + b"x" * 10_000)
    assert git_dir(tree) is None


# --- 3. configuration above the repository, and runs that scan nothing -------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("factorlint.toml", 'exclude = ["*"]\n'),
        (".factorlint.toml", 'exclude = ["*"]\n'),
        ("pyproject.toml", '[tool.factorlint]\nexclude = ["*"]\n'),
    ],
)
@pytest.mark.parametrize("marker", ["folder", "file"])
def test_configuration_above_the_repository_is_not_read(project, name, content, marker):
    write(project, {name: content, "repo/agent.py": AGENT})
    if marker == "folder":
        (project / "repo" / ".git").mkdir()
    else:
        (project / "repo" / ".git").write_text("gitdir: ../elsewhere\n")
    for target in ("repo", "repo/agent.py"):
        status, report = check_json(target)
        assert status == 1 and report["diagnostics"] == []
        assert len(report["findings"]) == 1, target


def test_configuration_at_the_repository_root_is_found_from_a_subfolder(project):
    write(project, {"repo/factorlint.toml": 'ignore = ["TFA0802"]\n', "repo/src/agent.py": AGENT})
    (project / "repo" / ".git").mkdir()
    status, report = check_json("repo/src")
    assert status == 0 and report["findings"] == []


def test_a_run_that_finds_no_file_fails_and_says_why(project):
    write(project, {"factorlint.toml": 'exclude = ["*.py"]\n', "agent.py": AGENT, "pkg/util.py": CLEAN})
    status, report = check_json(".")
    assert status == 1 and report["summary"]["files"] == 0
    [diagnostic] = report["diagnostics"]
    assert diagnostic["code"] == "TFA0001"
    assert diagnostic["message"] == "No Python files found under . (2 excluded by exclude patterns or .gitignore)"


def test_an_empty_folder_fails_the_run(project):
    (project / "empty").mkdir()
    status, report = check_json("empty")
    assert status == 1
    assert report["diagnostics"][0]["message"] == "No Python files found under empty"


def test_a_folder_named_inside_an_excluded_folder_says_so(project):
    write(project, {"build/agent.py": AGENT, "agent.py": AGENT})
    status, report = check_json("build", "agent.py")
    assert status == 1
    assert _diagnostics(report) == {"build": "No Python files found under build (it is excluded)"}


def test_force_exclude_of_every_named_file_still_passes(project):
    # pre-commit passes the changed files; when all of them are excluded, nothing is wrong.
    write(project, {"build/agent.py": AGENT})
    status, report = check_json("build/agent.py", "--force-exclude")
    assert status == 0 and report["diagnostics"] == []


# --- 4. FIFOs, sockets and devices --------------------------------------------------------------


@needs_fifo
def test_fifos_sockets_and_devices_in_the_tree_are_diagnostics_never_opened(project):
    write(project, {"agent.py": AGENT})
    os.mkfifo(project / "pipe.py")
    os.mkfifo(project / "not_python")  # not a candidate: no diagnostic
    os.symlink(project / "pipe.py", project / "to_pipe.py")
    os.symlink("/dev/zero", project / "zero.py")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(project / "sock.py"))
        status, report = _finishes(lambda: check_json("."))
    finally:
        server.close()
    assert status == 1
    assert _found(report) == {"agent.py"}
    assert _diagnostics(report) == {
        "pipe.py": "File skipped: not a regular file (a FIFO)",
        "sock.py": "File skipped: not a regular file (a socket)",
        "to_pipe.py": "File skipped: symlink to a file that is not a regular file (a FIFO)",
        "zero.py": "File skipped: symlink to a file that is not a regular file (a character device)",
    }


@needs_fifo
@pytest.mark.parametrize("target", ["pipe.py", "/dev/null", "link.py"])
def test_a_fifo_or_device_named_on_the_command_line_is_a_diagnostic(project, target):
    os.mkfifo(project / "pipe.py")
    os.symlink("pipe.py", project / "link.py")
    status, report = _finishes(lambda: check_json(target))
    assert status == 1
    [diagnostic] = report["diagnostics"]
    assert diagnostic["path"] == target and "not a regular file" in diagnostic["message"]


# --- 5. project files read for versions ---------------------------------------------------------


@needs_fifo
@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt", "uv.lock", "Pipfile.lock"])
def test_a_fifo_project_file_is_not_read(tmp_path, name):
    os.mkfifo(tmp_path / name)
    write(tmp_path, {"requirements-base.txt": "openai==1.2.3\n"})
    assert _finishes(lambda: detect_versions(tmp_path)) == {"openai": "1.2.3"}


@posix
def test_a_symlink_to_an_endless_device_is_not_read(tmp_path):
    os.symlink("/dev/zero", tmp_path / "uv.lock")
    os.symlink("/dev/urandom", tmp_path / "requirements.txt")
    started = time.monotonic()
    assert _finishes(lambda: detect_versions(tmp_path)) == {}
    assert time.monotonic() - started < 5


def test_a_project_file_over_the_size_limit_is_not_read(tmp_path):
    (tmp_path / "requirements.txt").write_text("openai==1.0\n" + "#" * (5 * 1024 * 1024) + "\n")
    write(tmp_path, {"requirements-dev.txt": "langchain==0.1\n"})
    assert detect_versions(tmp_path) == {"langchain": "0.1"}


PINNED = {"openai": "1.0"}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("pyproject.toml", "[project]\nname = 'x'\ndependencies = 5\n", {}),
        ("pyproject.toml", "[project]\nname = 'x'\ndependencies = [5, {a = 1}, 'openai==1.0']\n", PINNED),
        ("pyproject.toml", "[project]\nname = 'x'\noptional-dependencies = 5\n", {}),
        ("pyproject.toml", "[project]\nname = 'x'\n[project.optional-dependencies]\na = 5\nb = ['openai==1.0']\n", PINNED),
        ("pyproject.toml", "project = 5\n", {}),
        ("pyproject.toml", "x = " + "[" * 50_000 + "]" * 50_000 + "\n", {}),
        ("Pipfile.lock", '{"default": 5}', {}),
        ("Pipfile.lock", '{"default": {"openai": 5, "x": {"version": 5}}, "develop": {"openai": {"version": "==1.0"}}}', PINNED),
        ("Pipfile.lock", "[1, 2]", {}),
        ("Pipfile.lock", "[" * 100_000 + "]" * 100_000, {}),
        ("uv.lock", 'package = "x"\n', {}),
        ("uv.lock", "package = 5\n", {}),
        ("uv.lock", 'package = [1, "a", {name = 5, version = "1"}, {name = "openai", version = "1.0"}]\n', PINNED),
        ("poetry.lock", "[[package]]\nname = 'openai'\nversion = 1.0\n", {}),
        ("requirements.txt", b"\xff\xfe\x00\x01\nopenai==1.0\n", PINNED),
    ],
)
def test_project_files_of_odd_shapes_are_ignored(tmp_path, name, content, expected):
    write(tmp_path, {name: content})
    assert detect_versions(tmp_path) == expected


def test_an_odd_project_file_is_no_internal_error_through_the_cli(project):
    write(project, {"Pipfile.lock": '{"default": 5}', "uv.lock": 'package = "x"\n', "agent.py": AGENT})
    status, report = check_json(".")
    assert status == 1 and len(report["findings"]) == 1


@posix
def test_symlinked_project_files_are_read_only_inside_the_repository(tmp_path):
    write(tmp_path, {"outside.txt": "openai==9.9\n", "repo/reqs/base.txt": "langchain==0.1\n", "repo/.git/x": "crewai==6.6\n"})
    repo = tmp_path / "repo"
    os.symlink(tmp_path / "outside.txt", repo / "requirements.txt")
    os.symlink("reqs/base.txt", repo / "requirements-base.txt")
    os.symlink(".git/x", repo / "requirements-git.txt")
    assert detect_versions(repo) == {"langchain": "0.1"}
    # Outside a repository the folder itself is the boundary.
    write(tmp_path, {"plain/reqs.txt": "anthropic==0.5\n"})
    os.symlink(tmp_path / "outside.txt", tmp_path / "plain" / "requirements.txt")
    os.symlink("reqs.txt", tmp_path / "plain" / "requirements-2.txt")
    assert detect_versions(tmp_path / "plain") == {"anthropic": "0.5"}


# --- 6. symlinks out of the tree, and very deep trees -------------------------------------------

SECRET = "sk-live-3f9a1c77d0e24b55"
LEAKY = AGENT.replace('model="m"', f'model="{SECRET}"')


@posix
def test_a_symlink_to_a_file_outside_the_tree_is_not_read(tmp_path, monkeypatch):
    write(tmp_path, {"secret.py": LEAKY, "project/agent.py": AGENT, "project/pkg/real.py": AGENT})
    project = tmp_path / "project"
    monkeypatch.chdir(project)
    os.symlink(tmp_path / "secret.py", project / "leak.py")
    os.symlink("../../secret.py", project / "pkg" / "relative_leak.py")
    os.symlink("real.py", project / "pkg" / "inside.py")
    result = invoke("check", "--output-format", "json", ".")
    assert result.exit_code == 1
    assert SECRET not in result.stdout
    report = json.loads(result.stdout)
    assert _diagnostics(report) == {
        "leak.py": "File skipped: symlink to a file outside the scanned folders",
        "pkg/relative_leak.py": "File skipped: symlink to a file outside the scanned folders",
    }
    # A symlink inside the tree is scanned under its own name.
    assert _found(report) == {"agent.py", "pkg/real.py", "pkg/inside.py"}
    html = tmp_path / "report.html"
    audit = invoke("audit", "--output-format", "html", "-o", str(html), ".")
    assert audit.exit_code in (0, 1), audit.stderr
    assert SECRET not in html.read_text(encoding="utf-8")


@posix
def test_a_symlink_named_on_the_command_line_is_checked_too(tmp_path, monkeypatch):
    write(tmp_path, {"secret.py": LEAKY, "project/agent.py": AGENT})
    monkeypatch.chdir(tmp_path / "project")
    os.symlink(tmp_path / "secret.py", "leak.py")
    result = invoke("check", "--output-format", "json", "leak.py", "agent.py")
    assert SECRET not in result.stdout
    assert _diagnostics(json.loads(result.stdout)) == {"leak.py": "File skipped: symlink to a file outside the scanned folders"}


@posix
def test_a_symlink_into_git_or_an_excluded_folder_is_not_read(project):
    write(project, {
        ".git/config": "[http]\nextraheader = AUTHORIZATION: basic c2VjcmV0\n", ".venv/lib/x.py": CLEAN, "agent.py": AGENT,
    })
    os.symlink(".git/config", project / "config.py")
    os.symlink(".venv/lib/x.py", project / "venv_file.py")
    status, report = check_json(".")
    assert status == 1
    assert _diagnostics(report) == {
        "config.py": "File skipped: symlink to a file inside a .git folder",
        "venv_file.py": "File skipped: symlink to an excluded file (.venv/lib/x.py)",
    }


DEPTH = 2000


@pytest.fixture
def deep_tree(project):
    """``d/d/.../d`` DEPTH folders deep under the project, made and removed without recursion
    (os.makedirs and shutil.rmtree recurse once per folder: pytest's own cleanup would fail)."""
    deep = "/".join(["d"] * DEPTH)
    try:
        for level in range(1, DEPTH + 1):
            os.mkdir(deep[: 2 * level - 1])
        yield deep
    finally:
        for level in range(DEPTH, 0, -1):
            folder = deep[: 2 * level - 1]
            if os.path.isdir(folder):
                for name in os.listdir(folder):
                    if name != "d":
                        os.remove(os.path.join(folder, name))
                os.rmdir(folder)


def test_a_tree_two_thousand_folders_deep_is_walked(project, deep_tree, monkeypatch):
    write(project, {f"{deep_tree}/agent.py": AGENT, "top.py": CLEAN})
    config = resolve_settings(project, Overrides(isolated=True), project)
    resolved = []
    real_resolve = Path.resolve
    with monkeypatch.context() as patch:
        patch.setattr(Path, "resolve", lambda self, *a, **k: resolved.append(self) or real_resolve(self, *a, **k))
        started = time.monotonic()
        found = discover([Path(".")], config)
        elapsed = time.monotonic() - started
    assert [f.relative for f in found.files] == [f"{deep_tree}/agent.py", "top.py"]
    assert found.diagnostics == []
    # No path is resolved per folder (each resolve walks every folder above: quadratic).
    assert len(resolved) < 10
    assert elapsed < 10
    status, report = check_json(".", "--no-cache")
    assert status == 1 and _found(report) == {f"{deep_tree}/agent.py"}


@posix
def test_the_walk_by_descriptor_and_by_path_agree_and_close_every_descriptor(project, monkeypatch):
    from factorlint import discovery

    # More subfolders than descriptors are held for, so both ways of opening a folder are used.
    write(project, {
        **{f"wide/f{i:03}/agent.py": CLEAN for i in range(discovery._MAX_HELD_FOLDERS + 36)},
        "deep/a/b/c/agent.py": AGENT, ".gitignore": "ignored/\n", "ignored/agent.py": AGENT,
        "outside.py": CLEAN,
    })
    os.symlink("../outside.py", project / "deep" / "up.py")
    os.symlink("/etc/hostname", project / "deep" / "host.py")
    os.symlink("a", project / "deep" / "loop")
    config = resolve_settings(project, Overrides(isolated=True), project)

    def descriptors() -> int:
        return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0

    before = descriptors()
    by_descriptor = discover([Path(".")], config)
    assert descriptors() == before
    monkeypatch.setattr(discovery, "_RELATIVE_OPEN", False)
    by_path = discover([Path(".")], config)
    assert by_descriptor == by_path
    assert len(by_path.files) == discovery._MAX_HELD_FOLDERS + 36 + 3
    assert [d.path for d in by_path.diagnostics] == ["deep/host.py"]


# The exclude matcher, compiled and applied a component at a time, says what the matcher it
# replaced said for whole paths.


def _excluded_before(relative: str, patterns: tuple[str, ...]) -> bool:
    import fnmatch
    from pathlib import PurePosixPath

    for pattern in patterns:
        if "/" in pattern.strip("/"):
            if fnmatch.fnmatchcase(relative, pattern.strip("/")) or fnmatch.fnmatchcase(
                relative, pattern.strip("/") + "/*"
            ):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern.strip("/")) for part in PurePosixPath(relative).parts):
            return True
    return False


_PATTERNS = st.lists(
    st.sampled_from(["build", "/build/", "*.egg-info", ".git", "a/b", "/a/b/", "a*/b", "*", "b?", "[ab]c", "c/*.py", "x.py"]),
    max_size=4,
).map(tuple)
_PATHS = st.lists(st.sampled_from(["a", "b", "c", "ac", "bc", "build", "x.py", ".git", "p.egg-info", "a b"]), min_size=1, max_size=5)


@given(patterns=_PATTERNS, parts=_PATHS)
def test_the_exclude_matcher_agrees_with_the_one_it_replaced(patterns, parts):
    excludes = _Excludes(patterns)
    relative = "/".join(parts)
    assert excludes.anywhere(relative) == _excluded_before(relative, patterns)
    # The walk checks one component per level and stops at the first excluded folder.
    walked = any(excludes.entry(parts[i], "/".join(parts[: i + 1])) for i in range(len(parts)))
    assert walked == _excluded_before(relative, patterns)


# --- 7. configuration files of odd shapes: one line naming the file, exit 2 ---------------------


def _nested(depth: int) -> str:
    return "x = " + "[" * depth + "]" * depth + "\n"


@pytest.mark.parametrize(
    ("files", "name", "fragment"),
    [
        ({"factorlint.toml": "# caf\xe9\nmax-steps = 5\n".encode("latin-1")}, "factorlint.toml", "not UTF-8"),
        ({"factorlint.toml": _nested(100_000)}, "factorlint.toml", "nested too deeply"),
        ({"factorlint.toml": b"max-steps = 5\x00\n"}, "factorlint.toml", "invalid TOML"),
        ({"pyproject.toml": "tool = 5\n"}, "pyproject.toml", "tool: expected a table"),
        ({"pyproject.toml": "[tool]\nfactorlint = 5\n"}, "pyproject.toml", "tool.factorlint: expected a table"),
        ({"pyproject.toml": '[tool]\nfactorlint = "x"\n'}, "pyproject.toml", "expected a table, got a string"),
        ({"factorlint.toml": "extend = 5\n"}, "factorlint.toml", "extend: expected a string"),
        ({"factorlint.toml": '"bad\\nkey" = 1\n'}, "factorlint.toml", "bad\\nkey"),
        ({"factorlint.toml": 'extend = "x\\ny.toml"\n'}, "factorlint.toml", "x\\ny.toml"),
        ({"factorlint.toml": 'extend = "sub"\n', "sub/x": ""}, "factorlint.toml", "a directory"),
        ({"factorlint.toml": 'extend = "a\\u0000b.toml"\n'}, "factorlint.toml", "not a valid path"),
    ],
)
def test_odd_configuration_files_exit_2_naming_the_file(project, files, name, fragment):
    write(project, {"agent.py": AGENT, **files})
    result = invoke("check", ".")
    assert_one_line_error(result, name, fragment)


def _toml(value) -> str:
    """``value`` as a TOML inline value (strings in JSON's escapes, which TOML shares)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


_KEYS = st.sampled_from([
    "extend", "select", "ignore", "extend-select", "per-file-ignores", "exclude", "include", "max-steps",
    "respect-gitignore", "budget-name-pattern", "wrapper-depth", "max-file-memory", "tool", "x\ny",
])
_VALUES = st.recursive(
    st.none().map(lambda _: 5) | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8)
    | st.sampled_from(["TFA08", "TFA0802", "*.py", "(", "..", "/dev/zero"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(table=st.dictionaries(_KEYS, _VALUES, max_size=4), as_pyproject=st.booleans())
def test_any_configuration_table_loads_or_is_one_config_error(tmp_path_factory, table, as_pyproject):
    from factorlint.config import ConfigError, load_file_config

    folder = tmp_path_factory.mktemp("config")
    body = "".join(f"{json.dumps(key)} = {_toml(value)}\n" for key, value in table.items())
    path = folder / ("pyproject.toml" if as_pyproject else "factorlint.toml")
    path.write_text("[tool.factorlint]\n" + body if as_pyproject else body, encoding="utf-8")
    try:
        load_file_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


def test_a_two_thousand_file_extend_chain_exits_2(project):
    for i in range(2000):
        write(project, {f"c{i}.toml": f'extend = "c{i + 1}.toml"\n'})
    write(project, {"c2000.toml": "max-steps = 5\n", "factorlint.toml": 'extend = "c0.toml"\n', "agent.py": AGENT})
    assert_one_line_error(invoke("check", "."), "factorlint.toml", "extend chain is longer than")


@needs_fifo
@pytest.mark.parametrize("how", ["found", "--config", "extend"])
@pytest.mark.parametrize("kind", ["FIFO", "directory", "character device"])
def test_a_configuration_path_that_is_no_regular_file_exits_2(project, how, kind):
    write(project, {"agent.py": AGENT})
    target = project / ("base.toml" if how == "extend" else "factorlint.toml")
    if kind == "FIFO":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    else:
        os.symlink("/dev/zero", target)
    if how == "extend":
        write(project, {"factorlint.toml": 'extend = "base.toml"\n'})
    args = ["check", ".", *(["--config", "factorlint.toml"] if how == "--config" else [])]
    result = _finishes(lambda: invoke(*args))
    assert_one_line_error(result, target.name, kind)


@posix
def test_a_dangling_configuration_symlink_exits_2(project):
    write(project, {"agent.py": AGENT})
    os.symlink("nowhere.toml", project / "factorlint.toml")
    assert_one_line_error(invoke("check", "."), "factorlint.toml", "cannot be read")


@posix
def test_configuration_may_not_reach_out_of_its_repository(project):
    write(project, {"base.toml": 'exclude = ["*"]\n', "repo/agent.py": AGENT})
    (project / "repo" / ".git").mkdir()
    write(project, {"repo/factorlint.toml": 'extend = "../base.toml"\n'})
    assert_one_line_error(invoke("check", "repo"), "factorlint.toml", "outside the repository")
    (project / "repo" / "factorlint.toml").unlink()
    os.symlink(project / "base.toml", project / "repo" / "factorlint.toml")
    assert_one_line_error(invoke("check", "repo"), "factorlint.toml", "outside the repository")
    # --config names a file the person running factorlint chose: it may live anywhere.
    (project / "repo" / "factorlint.toml").unlink()
    status, report = check_json("repo", "--config", str(project / "base.toml"))
    assert status == 1 and report["summary"]["files"] == 0
