"""Which rules run on a path (per-file ignores) and what part of a project a file is."""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath

from factorlint.model import FileRole

# Rules that run on test and example code whatever ``check-test-code`` says: a provider key
# committed in a test leaks like any other. The taint rules need a model's text reaching a sink
# at run time, which tests (fed constants and mocks) do not serve.
ON_TEST_CODE = frozenset({"TFS003"})


def enabled_for(path: str, settings) -> set[str]:
    """The rules that run on ``path`` once per-file ignores and the test-code policy apply, by
    the configuration that governs it (``Settings.for_path``)."""
    if hasattr(settings, "for_path"):
        settings = settings.for_path(path)
    codes = set(settings.enabled)
    if not judged_as_agent_code(path, settings):
        # The analysis's own rules (TFA00: files not analysed, unused suppressions) stay.
        codes = {c for c in codes if c.startswith("TFA00") or c in ON_TEST_CODE}
    for pattern, selectors in settings.per_file_ignores:
        if _path_matches(path, pattern):
            codes = {c for c in codes if not any(c.startswith(s.upper()) for s in selectors)}
    return codes


def judged_as_agent_code(path: str, settings) -> bool:
    """Whether the factor rules judge ``path`` (by the configuration that governs it): application
    code always, test and example code under ``check-test-code``."""
    return getattr(settings, "check_test_code", False) or file_role(path) == "app"


def _path_matches(path: str, pattern: str) -> bool:
    pure = PurePosixPath(path)
    return (
        fnmatch.fnmatchcase(path, pattern)
        or pure.match(pattern)
        or fnmatch.fnmatchcase(pure.name, pattern)
    )


def file_role(path: str) -> FileRole:
    parts = PurePosixPath(path).parts
    name = parts[-1] if parts else path
    lowered = [p.lower() for p in parts[:-1]]
    stem = name.rsplit(".", 1)[0].lower()
    if (
        # An evaluation or benchmark harness runs the agent to measure it; it is not the agent.
        any(p in ("tests", "test", "testing", "evals", "benchmarks", "benchmark") for p in lowered)
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    ):
        return "test"
    if (
        any(p in ("examples", "example", "samples", "demo", "demos", "cookbook", "docs") for p in lowered)
        or stem in ("example", "examples", "demo")
        or stem.endswith(("_example", "_demo"))
    ):
        return "example"
    return "app"
