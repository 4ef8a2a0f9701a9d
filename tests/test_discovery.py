"""Which files are linted: .gitignore, default excludes, explicit paths, symlinks and encodings."""

from __future__ import annotations

import os
import threading

import pytest
from helpers import AGENT, CLEAN, check_json, invoke, write


def _paths(*args: str) -> list[str]:
    return sorted({f["path"] for f in check_json(*args)[1]["findings"]})


def _diagnostics(*args: str) -> dict[str, str]:
    return {d["path"]: d["message"] for d in check_json(*args)[1]["diagnostics"]}


# --- .gitignore and excludes ---------------------------------------------------------------------


def test_gitignored_files_are_skipped(project):
    write(project, {
        ".gitignore": "generated/\nscratch_*.py\n",
        "agent.py": AGENT,
        "generated/agent.py": AGENT,
        "scratch_1.py": AGENT,
        "pkg/scratch_2.py": AGENT,
    })
    assert _paths(".") == ["agent.py"]


def test_gitignore_of_the_repository_applies_to_a_subfolder(project):
    (project / ".git").mkdir()
    write(project, {".gitignore": "generated/\n", "src/generated/agent.py": AGENT, "src/agent.py": AGENT})
    assert _paths("src") == ["src/agent.py"]


def test_nested_gitignore_and_negation(project):
    write(project, {
        "pkg/.gitignore": "*.py\n!keep.py\n",
        "pkg/drop.py": AGENT,
        "pkg/keep.py": AGENT,
        "top.py": AGENT,
    })
    assert _paths(".") == ["pkg/keep.py", "top.py"]


def test_respect_gitignore_can_be_turned_off(project):
    write(project, {
        ".gitignore": "generated/\n",
        "factorlint.toml": "respect-gitignore = false\n",
        "generated/agent.py": AGENT,
    })
    assert _paths(".") == ["generated/agent.py"]


@pytest.mark.parametrize(
    "folder", [".venv", "venv", "node_modules", "build", "dist", "__pycache__", ".git", "site-packages", "x.egg-info"]
)
def test_default_excludes(project, folder):
    write(project, {"agent.py": AGENT, f"{folder}/agent.py": AGENT, f"deep/{folder}/lib/agent.py": AGENT})
    assert _paths(".") == ["agent.py"]


def test_extend_exclude_and_exclude(project):
    write(project, {"agent.py": AGENT, "legacy/agent.py": AGENT, "build/agent.py": AGENT})
    assert _paths(".", "--extend-exclude", "legacy") == ["agent.py"]
    # --exclude replaces the defaults: build/ is scanned again.
    assert _paths(".", "--exclude", "legacy") == ["agent.py", "build/agent.py"]


def test_only_python_files(project):
    write(project, {"agent.py": AGENT, "stub.pyi": "def f() -> int: ...\n", "notes.txt": AGENT, "script": AGENT})
    report = check_json(".")[1]
    assert report["summary"]["files"] == 2
    assert _paths(".") == ["agent.py"]


def test_a_file_named_explicitly_is_linted_even_if_excluded(project):
    write(project, {
        ".gitignore": "generated/\n",
        "build/agent.py": AGENT,
        "generated/agent.py": AGENT,
    })
    assert _paths(".") == []
    assert _paths("build/agent.py") == ["build/agent.py"]
    assert _paths("generated/agent.py") == ["generated/agent.py"]


def test_force_exclude_applies_excludes_to_explicit_files(project):
    write(project, {"build/agent.py": AGENT, "legacy/agent.py": AGENT, "agent.py": AGENT})
    result = invoke("check", "build/agent.py", "--force-exclude")
    assert result.exit_code == 0, result.stdout
    assert _paths("build/agent.py", "legacy/agent.py", "agent.py", "--force-exclude", "--extend-exclude", "legacy") == [
        "agent.py"
    ]


def test_the_same_file_twice_is_linted_once(project):
    write(project, {"agent.py": AGENT})
    report = check_json("agent.py", "agent.py", ".")[1]
    assert report["summary"]["files"] == 1
    assert len(report["findings"]) == 1


# --- symlinks ------------------------------------------------------------------------------------


def _finishes(function, timeout: float = 10.0):
    box: dict = {}

    def target():
        box["value"] = function()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "did not finish: a symlink loop?"
    return box["value"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop_does_not_hang(project):
    write(project, {"pkg/agent.py": AGENT})
    os.symlink("..", project / "pkg" / "up")  # pkg/up -> .
    os.symlink(project / "pkg", project / "pkg" / "self")  # pkg/self -> pkg
    report = _finishes(lambda: check_json(".")[1])
    assert [f["path"] for f in report["findings"]] == ["pkg/agent.py"]
    # Named on the command line, the symlinked folder is scanned, but its loop is not followed.
    report = _finishes(lambda: check_json("pkg/self")[1])
    assert [f["path"] for f in report["findings"]] == ["pkg/self/agent.py"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_file_cycle_is_a_diagnostic(project):
    write(project, {"util.py": CLEAN})
    os.symlink("b.py", project / "a.py")
    os.symlink("a.py", project / "b.py")
    status, report = _finishes(lambda: check_json("."))
    assert status == 1
    assert {d["path"] for d in report["diagnostics"]} == {"a.py", "b.py"}
    assert all(d["code"] == "TFA0001" for d in report["diagnostics"])


# --- encodings and binary files ------------------------------------------------------------------


def test_non_utf8_without_cookie_is_a_diagnostic(project):
    write(project, {"latin.py": 'x = "caf\xe9"\n'.encode("latin-1"), "agent.py": AGENT})
    status, report = check_json(".")
    assert status == 1
    assert [(d["code"], d["path"]) for d in report["diagnostics"]] == [("TFA0001", "latin.py")]
    assert "decode" in report["diagnostics"][0]["message"]
    # Other files are still linted.
    assert [f["path"] for f in report["findings"]] == ["agent.py"]


def test_non_utf8_further_down_without_cookie_is_a_diagnostic(project):
    # Past line 2, tokenize's cookie detection does not see the byte: the decode must still fail cleanly.
    write(project, {"latin.py": b"a = 1\nb = 2\nc = 3\nx = 'caf\xe9'\n"})
    assert set(_diagnostics(".")) == {"latin.py"}


def test_latin1_with_a_coding_cookie_is_linted(project):
    source = "# -*- coding: latin-1 -*-\n# caf\xe9 agent\n" + AGENT.replace('model="m"', 'model="m\xe9"')
    write(project, {"agent.py": source.encode("latin-1")})
    status, report = check_json(".")
    assert report["diagnostics"] == []
    assert [(f["code"], f["line"], f["column"]) for f in report["findings"]] == [("TFA0802", 7, 5)]
    assert status == 1


def test_utf8_bom_is_fine(project):
    write(project, {"agent.py": b"\xef\xbb\xbf" + AGENT.encode("utf-8")})
    report = check_json(".")[1]
    assert report["diagnostics"] == []
    assert [(f["line"], f["column"]) for f in report["findings"]] == [(5, 5)]


def test_unknown_coding_cookie_is_a_diagnostic(project):
    write(project, {"odd.py": b"# coding: no-such-codec\nx = 1\n"})
    assert set(_diagnostics(".")) == {"odd.py"}


def test_nul_bytes_are_a_diagnostic(project):
    write(project, {"blob.py": b"x = 1\x00\x00\n", "util.py": CLEAN})
    status, report = check_json(".")
    assert status == 1
    assert [(d["code"], d["path"]) for d in report["diagnostics"]] == [("TFA0001", "blob.py")]
    assert "NUL" in report["diagnostics"][0]["message"]


def test_empty_file_is_fine(project):
    write(project, {"empty.py": "", "__init__.py": ""})
    status, report = check_json(".")
    assert status == 0 and report["diagnostics"] == []


def test_file_over_the_size_limit_is_a_diagnostic(project):
    write(project, {"factorlint.toml": "max-file-bytes = 100\n", "big.py": "x = 1\n" * 50, "agent.py": AGENT})
    diagnostics = _diagnostics(".")
    assert set(diagnostics) == {"big.py", "agent.py"}
    assert "max-file-bytes" in diagnostics["big.py"]
