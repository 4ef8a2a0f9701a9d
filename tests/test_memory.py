"""Analysing a file keeps nothing of it alive: a long run's memory does not grow with each file."""

from __future__ import annotations

import gc

import libcst as cst
from helpers import AGENT, STATEFUL

from factorlint.config import Overrides, resolve_settings
from factorlint.engine.run.runner import lint_file
from factorlint.knowledge import default_knowledge


def _live_nodes() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, cst.CSTNode))


def test_no_tree_outlives_its_file(tmp_path):
    settings = resolve_settings(tmp_path, Overrides(isolated=True))
    knowledge = default_knowledge()
    sources = [AGENT, STATEFUL]
    for source in sources:  # the first runs create module-level tables; measure after them
        lint_file("warmup.py", source.encode(), settings, module_name="warmup", package="", knowledge=knowledge)
    before = _live_nodes()
    for round_number in range(4):
        for index, source in enumerate(sources):
            result = lint_file(f"m{round_number}_{index}.py", source.encode(), settings,
                               module_name=f"m{index}", package="", knowledge=knowledge)
            assert result.findings  # the rules really ran (and their helper visitors with them)
    assert _live_nodes() <= before

