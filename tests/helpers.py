"""Running factorlint on example sources written to a temporary folder."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from factorlint.api import lint_paths
from factorlint.config import Settings
from factorlint.versions import detect_versions

EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[A-Z0-9_, ]+)")


def write_example(root: Path, example) -> dict[str, str]:
    files = example if isinstance(example, dict) else {"example.py": example}
    written = {}
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = textwrap.dedent(source).lstrip("\n")
        path.write_text(text, encoding="utf-8")
        written[name] = text
    return written


def expected_findings(files: dict[str, str]) -> set[tuple[str, int, str]]:
    expected = set()
    for name, text in files.items():
        for number, line in enumerate(text.splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                for code in match.group("codes").replace(",", " ").split():
                    expected.add((name, number, code))
    return expected


def settings_for(root: Path, enabled: set[str], **overrides) -> Settings:
    overrides.setdefault("versions", detect_versions(root))
    return Settings(root=root, config_path=None, enabled=set(enabled), **overrides)


def run_example(root: Path, example, enabled: set[str], **overrides):
    files = write_example(root, example)
    report = lint_paths([root], settings_for(root, enabled, **overrides))
    return files, report
