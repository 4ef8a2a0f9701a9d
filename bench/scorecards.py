"""Print the per-factor scores of the corpus as a Markdown table.

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
        cells = ["n/a" if f["score"] is None else f"{f['score']:.1f}" for f in card["factors"]]
        overall, security = card["overall"], card["security"]
        counted = sum(f["findings"] for f in card["factors"]) + security["findings"]
        total = "n/a" if overall["score"] is None else f"**{overall['score']:.1f}** {overall['letter']}"
        sec = "n/a" if security["score"] is None else f"{security['score']:.1f}"
        print(f"| {project} | " + " | ".join(cells) + f" | {total} | {sec} | {card['app_files']} | {counted} |")


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
