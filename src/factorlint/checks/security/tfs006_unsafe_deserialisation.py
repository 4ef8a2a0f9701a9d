from __future__ import annotations

from factorlint.checks.base import RuleMeta
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
    No automatic fix: switching formats changes the files the program reads.

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
    )
    kind = "deserialise"

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
        )
