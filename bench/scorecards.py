"""Print the per-factor statuses and scores of the corpus as a Markdown table.

Reads the JSON written by `factorlint audit --output-format json -o DIR/<project>.json` for each
project (see bench/README.md) and prints one row per project, in the order given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(folder: str, *projects: str) -> None:
    keys = [f"F{n:02d}" for n in range(1, 14)]
    print("| project | " + " | ".join(keys) + " | overall | security | app files | scored findings |")
    print("|---" * (len(keys) + 5) + "|")
    for project in projects:
        data = json.loads((Path(folder) / f"{project}.json").read_text())
        card = data["scorecard"]
        cells = [_cell(f) for f in card["factors"]]
        overall, security = card["overall"], card["security"]
        counted = len({(f["path"], f["line"], f["code"]) for f in data["findings"]})
        total = f"**{overall['status']}**" + ("" if overall["score"] is None else f" {overall['score']:.1f}")
        print(f"| {project} | " + " | ".join(cells) + f" | {total} | {_cell(security)} | {card['app_files']} | {counted} |")


def _cell(factor: dict) -> str:
    """``fail 5.9``, ``pass``, ``n/a``: the status, and the number when it says more."""
    status = factor["status"]
    if factor["score"] is None or status == "pass":
        return status
    return f"{status} {factor['score']:.1f}"


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
