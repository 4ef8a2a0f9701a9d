"""Jupyter notebooks: code cells analysed as one script, findings told by cell and line, IPython
syntax set aside, fixes written back into the cells with the rest of the notebook kept."""

from __future__ import annotations

import json

from helpers import check_json, invoke, write

from factorlint.engine.read.notebook import read_notebook, write_cells

SETUP = ["from openai import OpenAI\n", "client = OpenAI()"]
LOOP = [
    "%time x = 1\n",
    "def run(messages):\n",
    "    while True:\n",
    '        reply = client.chat.completions.create(model="m", messages=messages)\n',
    "        messages.append(reply.choices[0].message)",
]


def _notebook(*cells, markdown: bool = True) -> str:
    body = [{"cell_type": "markdown", "metadata": {}, "source": ["# An agent\n", "in a notebook"]}] if markdown else []
    body += [
        {"cell_type": "code", "execution_count": None, "metadata": {"tags": ["x"]}, "outputs": [], "source": source}
        for source in cells
    ]
    data = {"cells": body, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def test_findings_are_told_by_cell_and_line(project):
    write(project, {"agent.ipynb": _notebook(SETUP, LOOP)})
    code, report = check_json(str(project))
    assert code == 1
    [finding] = report["findings"]
    assert (finding["path"], finding["code"], finding["cell"], finding["line"], finding["column"]) == (
        "agent.ipynb", "TFA0802", 3, 3, 5,
    )
    text = invoke("check", "--output-format", "concise", str(project)).stdout
    assert text.startswith("agent.ipynb:cell 3:3:5: TFA0802")


def test_a_notebook_named_on_the_command_line(project):
    write(project, {"agent.ipynb": _notebook(SETUP, LOOP)})
    code, report = check_json("agent.ipynb")
    assert code == 1 and report["summary"]["files"] == 1


def test_suppressions_and_fixes_inside_cells(project):
    quiet = [*LOOP[:2], "    while True:  # factorlint: ignore[TFA0802] -- a demo\n", *LOOP[3:]]
    unused = ["x = 1  # factorlint: ignore[TFA0802]\n", "y = x"]
    original = _notebook(SETUP, quiet, unused)
    write(project, {"agent.ipynb": original})
    _, report = check_json(str(project))
    assert [(f["code"], f["cell"], f["line"]) for f in report["findings"]] == [("TFA0002", 4, 1)]
    result = invoke("check", "--fix", str(project))
    assert result.exit_code == 0, result.stdout + result.stderr
    fixed = json.loads((project / "agent.ipynb").read_text(encoding="utf-8"))
    before = json.loads(original)
    assert fixed["cells"][3]["source"] == ["x = 1\n", "y = x"]
    fixed["cells"][3]["source"] = before["cells"][3]["source"]
    assert fixed == before  # everything else kept: metadata, outputs, the magic, markdown
    assert (project / "agent.ipynb").read_text(encoding="utf-8").startswith('{\n "cells": [')


def test_what_is_not_a_notebook_is_a_diagnostic(project):
    write(project, {"a.ipynb": "not json", "b.ipynb": json.dumps({"cells": [{"cell_type": "code", "source": 5}]})})
    code, report = check_json(str(project))
    assert code == 1
    messages = {d["path"]: d["message"] for d in report["diagnostics"]}
    assert "not JSON" in messages["a.ipynb"] and "not text" in messages["b.ipynb"]


def test_a_syntax_error_names_its_cell(project):
    write(project, {"bad.ipynb": _notebook(SETUP, ["def broken(:\n", "    pass"])})
    _, report = check_json(str(project))
    [diagnostic] = report["diagnostics"]
    assert diagnostic["message"].startswith("cell 3: File could not be parsed")
    assert "at 2:4" in diagnostic["message"] and diagnostic["line"] == 2  # the cell's lines, as the parser saw them


def test_cells_round_trip_and_magics_survive():
    text = _notebook(["%%bash\n", "echo hi"], ["!pip install x\n", "import os\n", "os?"], markdown=False)
    notebook = read_notebook(text)
    assert "echo hi" not in notebook.script and "import os" in notebook.script
    assert write_cells(notebook, notebook.script, text) == text
    assert write_cells(notebook, notebook.script.replace("# %% cell 2\n", ""), text) is None
