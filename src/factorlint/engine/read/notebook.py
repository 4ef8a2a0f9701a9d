"""Jupyter notebooks (``.ipynb``): their code cells analysed as one script, positions reported as
cell and line, and fixes written back into the cells with the rest of the notebook kept.

The script is the code cells in order, each after a marker line (``# %% cell N``, N the cell's
1-based position among all the notebook's cells), so a fix that edits the script can be split back
into the cells it touched. IPython syntax that is not Python (``%magic``, ``!shell``, ``%%cell
magic``, ``x?``) becomes a placeholder comment of its own line, restored when the cells are
written back, so a cell with a magic still has its Python analysed.

The notebook is data like any other file: it is parsed as JSON within the file size limit, and a
file that is not a notebook (not JSON, no ``cells`` list, a cell whose source is not text) is a
diagnostic.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

MARKER = "# %% cell "
_MARKER_LINE = re.compile(r"# %% cell (\d+)\n")
_PLACEHOLDER = "# factorlint: ipython "
_IPYTHON = re.compile(r"^\s*(%|!|\?)|^\s*[\w.]+\?{1,2}\s*$")


class NotebookError(Exception):
    """The file is not a notebook factorlint can read."""


@dataclass
class Notebook:
    data: dict  # the parsed JSON, kept to write fixes back
    script: str  # the code cells joined, with marker lines
    # For each line of the script (1-based, index 0 unused): (cell number, line in the cell), or
    # (cell, 0) for a marker line.
    positions: list[tuple[int, int]] = field(default_factory=list)
    magics: dict[str, str] = field(default_factory=dict)  # placeholder line -> the original line

    def cell_position(self, line: int) -> tuple[int, int]:
        """(cell number, line in the cell) of a script line."""
        if 1 <= line < len(self.positions):
            cell, inner = self.positions[line]
            return cell, max(inner, 1)
        return 0, line


def is_notebook(path: str) -> bool:
    return path.lower().endswith(".ipynb")


def read_notebook(text: str) -> Notebook:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NotebookError(f"not a notebook (not JSON: {exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a notebook (no list of cells)")
    script: list[str] = []
    positions: list[tuple[int, int]] = [(0, 0)]
    magics: dict[str, str] = {}
    for number, cell in enumerate(data["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = _source_text(cell.get("source", ""), number)
        script.append(f"{MARKER}{number}\n")
        positions.append((number, 0))
        lines = source.split("\n")
        cell_magic = bool(lines) and lines[0].lstrip().startswith("%%")
        for inner, line in enumerate(lines, 1):
            if cell_magic or _IPYTHON.search(line):
                placeholder = f"{_PLACEHOLDER}{number}.{inner}"
                magics[placeholder] = line
                line = placeholder
            script.append(line + "\n")
            positions.append((number, inner))
    return Notebook(data, "".join(script), positions, magics)


def _source_text(source: object, number: int) -> str:
    if isinstance(source, str):
        text = source
    elif isinstance(source, list) and all(isinstance(part, str) for part in source):
        text = "".join(source)
    else:
        raise NotebookError(f"not a notebook (cell {number}: its source is not text)")
    return text[:-1] if text.endswith("\n") else text


def write_cells(notebook: Notebook, script: str, original: str) -> str | None:
    """The notebook's JSON text with the code cells taken from ``script`` (the fixed script);
    None when the script no longer splits into the same cells. Everything else in the notebook
    is kept; the JSON is written with the original's indentation."""
    parts = _MARKER_LINE.split(script)
    if parts[0] != "":
        return None
    cells = notebook.data["cells"]
    numbers = [number for number, cell in enumerate(cells, 1)
               if isinstance(cell, dict) and cell.get("cell_type") == "code"]
    found = [int(n) for n in parts[1::2]]
    if found != numbers:
        return None
    for number, body in zip(found, parts[2::2], strict=True):
        lines = body[:-1].split("\n") if body.endswith("\n") else body.split("\n")
        lines = [notebook.magics.get(line, line) for line in lines]
        text = "\n".join(lines)
        cell = cells[number - 1]
        if _source_text(cell.get("source", ""), number) == text:
            continue
        if isinstance(cell.get("source"), list):
            pieces = text.split("\n")
            cell["source"] = [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
        else:
            cell["source"] = text
    return json.dumps(notebook.data, indent=_indent(original), ensure_ascii=False) + (
        "\n" if original.endswith("\n") else ""
    )


def _indent(text: str) -> int | None:
    match = re.search(r"\n( +)\"", text)
    return len(match.group(1)) if match else None


def cell_markers(notebook: Notebook) -> tuple[tuple[int, int], ...]:
    """(the script line of each cell's marker, the cell's number), as FileResult.cells keeps them."""
    return tuple((line, cell) for line, (cell, inner) in enumerate(notebook.positions) if line and inner == 0)


def cell_line(cells: tuple[tuple[int, int], ...], line: int) -> tuple[int, int]:
    """(cell number, line in the cell) of a script line, from FileResult.cells."""
    import bisect

    at = bisect.bisect_left([marker for marker, _ in cells], line) - 1
    if at < 0:
        return (cells[0][1] if cells else 0), max(line, 1)
    marker, cell = cells[at]
    return cell, max(line - marker, 1)
