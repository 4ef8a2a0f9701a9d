"""What a plain `factorlint check` loads: a run with nothing to report prints its summary as the
full reporter always did, without rich; a run on one file validates nothing it validated before."""

from __future__ import annotations

import subprocess
import sys

import pytest

from factorlint.model import BaselineResult, DiffScope, Report
from factorlint.reporters import full


@pytest.mark.parametrize("report", [
    Report(".", [], [], []),
    Report(".", [], [], [], baseline=BaselineResult("b.json", known=3)),
    Report(".", [], [], [], diff_scope=DiffScope("main\t::warning::x", "abc", outside=2)),
])
@pytest.mark.parametrize("width", [60, 100])
def test_a_report_with_nothing_to_show_reads_as_rich_prints_it(report, width):
    assert full.render(report, color=False, width=width) == full.rendered_by_rich(report, False, width)


def test_a_clean_run_imports_neither_rich_nor_pydantic(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "agent.py").write_text("import openai\n\nclient = openai.OpenAI()\n")
    (project / "factorlint.toml").write_text("max-steps = 5\n")
    script = (
        "import sys\n"
        "from factorlint.cli import main\n"
        "try:\n"
        "    main(['check', 'agent.py', '--no-cache', '--cache-dir', sys.argv[1]])\n"
        "except SystemExit as exit:\n"
        "    print(exit.code, sorted(m for m in ('rich', 'pydantic') if m in sys.modules))\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script, str(tmp_path / "cache")], cwd=project,
                       capture_output=True, text=True, check=True).stdout.splitlines()[-1]
        for _ in range(2)
    ]
    assert runs[0] == "0 ['pydantic']"  # the first run validates the tables and the configuration
    assert runs[1] == "0 []"


def test_a_cache_folder_in_the_scanned_tree_is_not_used_for_compiled_data(tmp_path):
    (tmp_path / "agent.py").write_text("import openai\n")
    script = (
        "import sys\n"
        "from factorlint.cli import main\n"
        "try:\n"
        "    main(['check', 'agent.py', '--cache-dir', 'cache'])\n"
        "except SystemExit as exit:\n"
        "    print(exit.code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0"
    assert not list(tmp_path.glob("cache/compiled-*"))
