from __future__ import annotations

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, RuleMeta
from factorlint.checks.security._common import TaintRule, chosen_source, sentence, where
from factorlint.engine.taint.analyser import SinkFinding


class UnsafeDeserialisation(TaintRule):
    """## What it does
    Finds data or a file name the model chose that reaches a deserialiser able to run code:
    `pickle.load(s)`, `dill`, `cloudpickle`, `marshal`, `jsonpickle.decode`,
    `pandas.read_pickle`, `joblib.load`, `yaml.load` / `yaml.load_all` without a safe loader,
    `yaml.unsafe_load`, `numpy.load(allow_pickle=True)`, `torch.load(weights_only=False)`. The
    value is a model's reply or a tool function's argument (a path the model picked counts:
    `pickle.load(open(path, "rb"))`).

    ## Why is this bad?
    Unpickling runs code chosen by whoever wrote the bytes: a pickle's `__reduce__` can call
    `os.system`. When the model picks the data or the file, a prompt injection picks it
    (OWASP LLM05; bandit B301, B506).

    ## Example
    ```python
    @tool
    def load_result(path: str) -> str:
        with open(path, "rb") as handle:
            return str(pickle.load(handle))
    ```

    ## Use instead
    ```python
    @tool
    def load_result(name: str) -> str:
        data = json.loads((RESULTS_DIR / RESULT_FILES[name]).read_text())
        return Result.model_validate(data).model_dump_json()
    ```
    Exchange JSON validated by a schema; use `yaml.safe_load` for YAML.

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`), for PyYAML: `yaml.load(text, Loader=...)`,
    `yaml.unsafe_load` and their `_all` forms become `yaml.safe_load(text)` /
    `yaml.safe_load_all(text)`, which build plain data and no Python objects; YAML that relied
    on Python tags now fails to load. pickle, marshal and the other formats need a format
    change and are not fixed automatically.

    ## Options
    None. Deserialisers and safe loaders are data in `rules/frameworks/security_sinks.toml`.

    ## References
    - https://docs.python.org/3/library/pickle.html (the warning at the top)
    - https://bandit.readthedocs.io/en/latest/plugins/b506_yaml_load.html
    """

    meta = RuleMeta(
        code="TFS006",
        name="unsafe-deserialisation",
        factor=None,
        severity="error",
        confidence="high",
        summary="Data the model chose reaches a deserialiser that can run code",
        fix_advice=(
            "Exchange JSON validated by a schema (or `yaml.safe_load`); never unpickle data or "
            "files the model can choose."
        ),
        fix="sometimes",
    )
    kind = "deserialise"

    fixes = [
        (
            """
import yaml
from yaml import load
from openai import OpenAI

client = OpenAI()

def settings(goal):
    text = client.chat.completions.create(model="m", messages=[{"role": "user", "content": goal}]).choices[0].message.content
    first = yaml.load(text, Loader=yaml.Loader)
    return first, load(text, Loader=yaml.FullLoader)
""",
            """
import yaml
from yaml import load
from openai import OpenAI
from yaml import safe_load

client = OpenAI()

def settings(goal):
    text = client.chat.completions.create(model="m", messages=[{"role": "user", "content": goal}]).choices[0].message.content
    first = yaml.safe_load(text)
    return first, safe_load(text)
""",
        ),
    ]

    invalid = [
        """
import pickle
from langchain_core.tools import tool

@tool
def load_result(path: str) -> str:
    \"\"\"Load a saved result.\"\"\"
    with open(path, "rb") as handle:
        return str(pickle.load(handle))  # expect: TFS006 @20-39 | The tool argument `path` reaches `pickle.load()`: deserialising data the model chose can run arbitrary code
""",
        """
import base64
import pickle
import yaml
from openai import OpenAI

client = OpenAI()

def restore(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    text = reply.choices[0].message.content
    config = yaml.load(text, Loader=yaml.Loader)  # expect: TFS006 @14-49 | The reply of `client.chat.completions.create` reaches `yaml.load()`: deserialising data the model chose can run arbitrary code
    state = pickle.loads(base64.b64decode(text))  # expect: TFS006 @13-49 | The reply of `client.chat.completions.create` reaches `pickle.loads()`: deserialising data the model chose can run arbitrary code
    return config, state
""",
        # A tool class method, and yaml.load with no loader at all.
        """
import yaml
from crewai.tools import BaseTool

class ConfigTool(BaseTool):
    name: str = "read_config"
    description: str = "Read a YAML config"

    def _run(self, document: str) -> dict:
        return yaml.load(document)  # expect: TFS006 @16-35 | The tool argument `document` reaches `yaml.load()`: deserialising data the model chose can run arbitrary code
""",
    ]
    valid = [
        """
import json
from langchain_core.tools import tool

@tool
def load_result(text: str) -> dict:
    \"\"\"Parse a result.\"\"\"
    return json.loads(text)
""",
        """
import yaml
from openai import OpenAI

client = OpenAI()

def read_config(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    return yaml.safe_load(reply.choices[0].message.content)
""",
        # Unpickling the program's own cache file, not anything the model chose.
        """
import pickle
from openai import OpenAI

client = OpenAI()

def cached(messages):
    with open("cache.pkl", "rb") as handle:
        cache = pickle.load(handle)
    return cache.get("answer") or client.chat.completions.create(model="gpt-4o", messages=messages)
""",
    ]
    near_miss = [
        # yaml.load with a safe loader.
        """
import yaml
from langchain_core.tools import tool

@tool
def read_config(document: str) -> dict:
    \"\"\"Read a YAML config.\"\"\"
    return yaml.load(document, Loader=yaml.SafeLoader)
""",
        # yaml.load with the C safe loader passed positionally.
        """
import yaml
from openai import OpenAI

client = OpenAI()

def read_config(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    return yaml.load(reply.choices[0].message.content, yaml.CSafeLoader)
""",
        # numpy.load without allow_pickle, torch.load with weights_only=True.
        """
import numpy as np
import torch
from langchain_core.tools import tool

@tool
def load_arrays(path: str) -> str:
    \"\"\"Load arrays.\"\"\"
    weights = torch.load(path, weights_only=True)
    return str(np.load(path).shape) + str(len(weights))
""",
    ]

    def check(self, finding: SinkFinding) -> None:
        chosen = chosen_source(finding, module=self.ctx.module_name)
        if chosen is None:
            return
        source, requires = chosen
        self.report(
            finding.node,
            f"{sentence(source.label)} reaches {finding.label}{where(finding)}: "
            "deserialising data the model chose can run arbitrary code",
            requires_llm=requires,
            fix=self._safe_yaml(finding.node),
        )

    def _safe_yaml(self, node) -> CodeFix | None:
        """``yaml.load(text, Loader=...)`` becomes ``yaml.safe_load(text)`` (``load_all`` and
        ``unsafe_load`` likewise): plain YAML data, no Python objects built."""
        if not isinstance(node, cst.Call) or not node.args or node.args[0].keyword is not None:
            return None
        safe = _SAFE_YAML.get(self.ctx.qualname(node.func) or "")
        if safe is None or any(arg.keyword is None for arg in node.args[1:]):
            return None
        func = self.ctx.code_for(node.func)
        if isinstance(node.func, cst.Attribute):
            call = f"{func.rsplit('.', 1)[0]}.{safe}({self.ctx.code_for(node.args[0].value)})"
            return CodeFix((RawEdit(node, call),), unsafe=True)
        call = f"{safe}({self.ctx.code_for(node.args[0].value)})"
        return CodeFix((RawEdit(node, call),), (("yaml", safe),), unsafe=True)


_SAFE_YAML = {
    "yaml.load": "safe_load", "yaml.unsafe_load": "safe_load", "yaml.full_load": "safe_load",
    "yaml.load_all": "safe_load_all", "yaml.unsafe_load_all": "safe_load_all", "yaml.full_load_all": "safe_load_all",
}
