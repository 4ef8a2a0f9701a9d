"""One tree with every kind of hostile input, scanned in one run: nothing is lost or run."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from factorlint.cli import main

AGENT = (
    "from openai import OpenAI\n"
    "client = OpenAI()\n\n"
    "def run(messages):\n"
    "    while True:\n"
    "        reply = client.chat.completions.create(model='m', messages=messages)\n"
    "        messages.append(reply.choices[0].message)\n"
)


def _build(root: Path, marker: Path) -> dict[str, str]:
    """Write the tree; return the bad files and the reason each must be reported."""
    files = {
        "good/agent.py": AGENT.encode(),
        "good/latin1.py": ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + AGENT).encode("latin-1"),
        "good/bom.py": b"\xef\xbb\xbf" + AGENT.encode(),
        "good/empty.py": b"",
        "good/long_line.py": ("x = '" + "a" * 200_000 + "'\n").encode(),
        "good/newer_syntax.py": b"type Alias = list[int]\n\ndef first[T](items: list[T]) -> T:\n    return items[0]\n",
        "good/leaves_a_mark.py": f"open({str(marker)!r}, 'w').write('ran')\n".encode(),
        "bad/syntax_error.py": b"def broken(:\n    pass\n",
        "bad/python2.py": b"print 'hello'\n",
        "bad/invalid_utf8.py": b"x = '\xff\xfe'\n",
        "bad/nul_bytes.py": b"x = 1\x00\n",
        "bad/binary.py": bytes(range(256)) * 4,
        "bad/huge.py": b"x = 1\n" * 400_000,
        "bad/deep_brackets.py": b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n",
        "bad/long_chain.py": b"x = " + b"+".join([b"1"] * 100_000) + b"\n",
        "bad/bad_cookie.py": b"# -*- coding: no-such-codec -*-\nx = 1\n",
        # The codec turns the escape into a lone surrogate, which no parser takes as text.
        "bad/surrogate_codec.py": b"# coding: raw_unicode_escape\nx = '\\ud800'\n" + AGENT.encode(),
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "bad" / "dangling.py").symlink_to(root / "does-not-exist.py")
    (root / "bad" / "loop_a.py").symlink_to(root / "bad" / "loop_b.py")
    (root / "bad" / "loop_b.py").symlink_to(root / "bad" / "loop_a.py")
    (root / "good" / "dir_loop").symlink_to(root / "good", target_is_directory=True)
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "bad" / "fifo.py")
    return sorted(p for p in [*files, "bad/dangling.py", "bad/loop_a.py", "bad/loop_b.py", "bad/fifo.py"]
                  if p.startswith("bad/") and (p != "bad/fifo.py" or hasattr(os, "mkfifo")))


def test_one_run_over_every_hostile_file(tmp_path, monkeypatch):
    marker = tmp_path / "marker.txt"
    project = tmp_path / "tree"
    bad = _build(project, marker)
    (project / "factorlint.toml").write_text("max-file-bytes = 1000000\n")
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["check", ".", "--output-format", "json"])
    assert result.exit_code == 1, result.output
    import json

    report = json.loads(result.stdout)
    diagnosed = sorted({d["path"] for d in report["diagnostics"]})
    assert diagnosed == bad
    assert all(d["code"] == "TFA0001" for d in report["diagnostics"])
    found = {(f["path"], f["code"]) for f in report["findings"]}
    for good in ("good/agent.py", "good/latin1.py", "good/bom.py"):
        assert (good, "TFA0802") in found
    assert not marker.exists(), "scanned code was executed"


def test_nonexistent_path_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["check", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr.startswith("factorlint:") and "Traceback" not in result.stderr


def test_file_deleted_between_discovery_and_reading(tmp_path, monkeypatch):
    from factorlint import api

    (tmp_path / "agent.py").write_text(AGENT)
    (tmp_path / "gone.py").write_text("x = 1\n")
    real = api.discover

    def discover_then_delete(paths, settings):
        found = real(paths, settings)
        (tmp_path / "gone.py").unlink()
        return found

    monkeypatch.setattr(api, "discover", discover_then_delete)
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--isolated", "--output-format", "concise"])
    assert result.exit_code == 1
    assert "gone.py:1:1: TFA0001 File could not be read" in result.stdout
    assert "agent.py:5:5: TFA0802" in result.stdout


def test_internal_error_in_one_rule_is_isolated(tmp_path, monkeypatch):
    from factorlint.checks.f12.tfa1201_module_global_agent_state import (
        ModuleGlobalAgentState,
    )

    def explode(self, node):
        raise ValueError("boom")

    monkeypatch.setattr(ModuleGlobalAgentState, "visit_Call", explode)
    (tmp_path / "agent.py").write_text(AGENT)
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--isolated", "--output-format", "concise"])
    assert result.exit_code == 1
    assert "TFA0003 Internal error in rule TFA1201: ValueError: boom" in result.stdout
    assert "agent.py:5:5: TFA0802" in result.stdout  # the other rules still ran
