"""Reporters: pure functions from a Report to text. Imported lazily, one per format."""

from __future__ import annotations

import importlib

FORMATS = {
    "full": "factorlint.reporters.full",
    "concise": "factorlint.reporters.concise",
    "json": "factorlint.reporters.json_report",
    "sarif": "factorlint.reporters.sarif",
    "github": "factorlint.reporters.github",
    "gitlab": "factorlint.reporters.gitlab",
    "junit": "factorlint.reporters.junit",
}


def render(report, output_format: str, **options) -> str:
    module = importlib.import_module(FORMATS[output_format])
    return module.render(report, **options)
