"""factorlint reads source text; it never imports, runs or installs the code it scans."""

from __future__ import annotations

import sys

from helpers import AGENT, invoke, write


def _side_effect(marker) -> str:
    # Top-level code that would leave a marker file if the module were ever imported or run.
    return f"open({str(marker)!r}, 'w').write('imported')\n"


def test_scanning_does_not_import_the_scanned_code(project, tmp_path_factory):
    markers = tmp_path_factory.mktemp("markers")
    names = ["agent.py", "pkg/__init__.py", "pkg/tools.py", "conftest.py", "setup.py", "sitecustomize.py"]
    files = {name: _side_effect(markers / name.replace("/", "_")) + AGENT for name in names}
    files["pkg/stub.pyi"] = _side_effect(markers / "stub") + "def f() -> int: ...\n"
    # An import of a sibling module that would also run it.
    files["main.py"] = "import agent\nfrom pkg import tools\n" + _side_effect(markers / "main")
    write(project, files)
    modules_before = set(sys.modules)

    for args in (["check", "."], ["check", "agent.py", "pkg/tools.py"], ["audit", "."],
                 ["check", ".", "--output-format", "json"], ["check", ".", "--statistics"]):
        result = invoke(*args)
        assert result.exit_code in (0, 1), (args, result.stderr)
        assert "TFA0802" in result.stdout or args[-1] == "--statistics"

    assert list(markers.iterdir()) == []
    # Nothing from the scanned project was imported in this process either.
    assert not {"agent", "pkg", "pkg.tools", "main", "setup", "sitecustomize"} & (set(sys.modules) - modules_before)
