from __future__ import annotations

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, RuleMeta
from factorlint.checks.security._common import TaintRule, chosen_source, sentence, where
from factorlint.engine.taint.analyser import SinkFinding


class EvalOfModelOutput(TaintRule):
    """## What it does
    Finds text the model chose that reaches `eval`, `exec`, `compile`, `runpy`, an interactive
    interpreter, `pandas.eval` / `DataFrame.query` or `sympy.sympify`: a model's reply (its
    content, tool-call arguments or parsed object, also after `json.loads`, f-strings or
    concatenation), or an argument of a tool function, which the model fills in. A value passed
    to a function of the same file that runs it counts too (one call deep), and so does one handed
    to a project function of another file whose parameter reaches the sink (followed through the
    helpers it is handed on to): that finding is at the sink, naming the function it was handed to.

    ## Why is this bad?
    Model output is untrusted input: a prompt injection in a web page, a document or a tool
    result can make the model write any code, and `eval` runs it with the program's rights
    (OWASP LLM05, improper output handling). Factor 4 asks you to treat the model's output as
    structured data you validate, not as a program.

    ## Example
    ```python
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    result = eval(reply.choices[0].message.content)
    ```

    ## Use instead
    ```python
    step = client.chat.completions.parse(model="gpt-4o", messages=messages, response_format=Calc)
    result = CALCULATORS[step.choices[0].message.parsed.operation](*step.choices[0].message.parsed.args)
    ```
    Parse the reply into a typed model and dispatch on it. If running code is the product, run it
    in an isolated executor (a container, E2B, Modal, a WebAssembly sandbox).

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`), for `eval(text)` alone: it becomes `ast.literal_eval(text)`
    (imported as `literal_eval`), which reads Python literals (numbers, strings, lists, dicts)
    and never runs code. A reply that held an expression now raises `ValueError`. `exec` and
    the other sinks need a design decision and are not changed.

    ## Options
    None. Sinks, sanitisers and parsers are data in `rules/frameworks/security_sinks.toml`.

    ## References
    - https://genai.owasp.org/llmrisk/llm052025-improper-output-handling/
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-04-tools-are-structured-outputs.md
    """

    meta = RuleMeta(
        code="TFS001",
        name="eval-of-model-output",
        factor=None,
        also_factor=4,
        severity="error",
        confidence="high",
        summary="Text the model chose is run as Python code",
        fix_advice=(
            "Parse the model's reply into a typed model and dispatch on it; if running code is "
            "the product, run it in an isolated executor (container, E2B, Modal, WebAssembly)."
        ),
        fix="sometimes",
    )

    fixes = [
        (
            """
\"\"\"Plans the model writes as a Python list.\"\"\"
from openai import OpenAI

client = OpenAI()

def plan(goal):
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": goal}])
    return eval(reply.choices[0].message.content)
""",
            """
\"\"\"Plans the model writes as a Python list.\"\"\"
from openai import OpenAI
from ast import literal_eval

client = OpenAI()

def plan(goal):
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": goal}])
    return literal_eval(reply.choices[0].message.content)
""",
        ),
    ]
    kind = "code"

    invalid = [
        # A function whose own model reply reaches eval: one finding, at the eval, not one more
        # at every call of the function (the model's plan it is handed only goes into the prompt).
        {
            "app/__init__.py": "",
            "app/llm.py": """
from openai import OpenAI
client = OpenAI()

def ask(prompt):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}])
""",
            "app/tot.py": """
from app.llm import ask

def think(state):
    reply = ask(f"Next thoughts for: {state}")
    return eval(reply.choices[0].message.content)  # expect: TFS001 @12-50 | The result of `ask` reaches `eval()`: text the model chose runs as Python code

def search(task):
    plan = ask(f"Plan: {task}")
    return think(plan.choices[0].message.content)
""",
        },
        """
from openai import OpenAI
client = OpenAI()

def calculate(question):
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": question}])
    expression = reply.choices[0].message.content.strip()
    return eval(expression)  # expect: TFS001 @12-28 | The reply of `client.chat.completions.create` reaches `eval()`: text the model chose runs as Python code
""",
        # A tool argument is chosen by the model; json.loads and attribute access keep the taint.
        """
import json
from langchain_core.tools import tool
from openai import OpenAI
client = OpenAI()

@tool
def run_python(code: str) -> str:
    \"\"\"Run a snippet.\"\"\"
    namespace = {}
    exec(code, namespace)  # expect: TFS001 @5-26 | The tool argument `code` reaches `exec()`: text the model chose runs as Python code
    return str(namespace.get("result"))

def handle(messages, tools):
    message = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools).choices[0].message
    for call in message.tool_calls:
        args = json.loads(call.function.arguments)
        exec(compile(args["code"], "<agent>", "exec"))  # expect: TFS001 @9-55 | The reply of `client.chat.completions.create` reaches `exec()`: text the model chose runs as Python code
""",
        # One call deep: the model's reply is passed to a same-file helper that runs it.
        """
import anthropic
client = anthropic.Anthropic()

def run_snippet(snippet):
    exec(snippet)

def agent(task):
    msg = client.messages.create(model="claude-sonnet-4-5", max_tokens=512, messages=[{"role": "user", "content": task}])
    run_snippet(f"print({msg.content[0].text})")  # expect: TFS001 @5-49 | The reply of `client.messages.create` reaches `exec()` inside `run_snippet()`: text the model chose runs as Python code
""",
        # smolagents Tool.forward receives the model's arguments; pandas evaluates query strings.
        """
import pandas as pd
from smolagents import Tool

class FilterTool(Tool):
    name = "filter_rows"
    inputs = {"condition": {"type": "string", "description": "pandas condition"}}
    output_type = "string"

    def forward(self, condition: str) -> str:
        df = pd.DataFrame({"a": [1, 2, 3]})
        return df.query(condition).to_json()  # expect: TFS001 @16-35 | The tool argument `condition` reaches `df.query()`: text the model chose runs as Python code
""",
        # Across files of one package: a wrapper that reaches a model, and a parser of the project.
        {
            "app/__init__.py": "",
            "app/llm.py": """
from openai import OpenAI
client = OpenAI()

def ask(prompt):
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}]).choices[0].message.content
""",
            "app/parsing.py": """
import re

def extract_code(text):
    match = re.search(r"```python\\n(.*?)```", text, re.DOTALL)
    return match.group(1) if match else text
""",
            "app/agent.py": """
from app.llm import ask
from app.parsing import extract_code

def solve(task):
    code = extract_code(ask(f"Write Python for: {task}"))
    exec(code)  # expect: TFS001 @5-15 | The result of `ask` or `extract_code` reaches `exec()`: text the model chose runs as Python code
""",
        },
        # Handed to a helper in another module, which hands it on to the function that runs it:
        # the project pass follows the parameter across the files; the finding is at the sink.
        {
            "sandbox.py": """
def _execute(source):
    exec(compile(source, "<agent>", "exec"))  # expect: TFS001 @5-45 | The reply of `client.chat.completions.create`, handed to `run_code()` from another module, reaches `exec()`: text the model chose runs as Python code

def run_code(source, timeout=10):
    return _execute(source)
""",
            "agent.py": """
from openai import OpenAI
from sandbox import run_code
client = OpenAI()

def solve(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    run_code(reply.choices[0].message.content)
""",
        },
    ]

    valid = [
        # The reply is parsed into a typed model and dispatched, never run.
        """
from openai import OpenAI
from pydantic import BaseModel
client = OpenAI()

class Calc(BaseModel):
    op: str
    a: float
    b: float

OPS = {"add": lambda a, b: a + b}

def calculate(messages):
    reply = client.chat.completions.parse(model="gpt-4o", messages=messages, response_format=Calc)
    step = reply.choices[0].message.parsed
    return OPS[step.op](step.a, step.b)
""",
        # ast.literal_eval only reads literals.
        """
import ast
from openai import OpenAI
client = OpenAI()

def numbers(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    return ast.literal_eval(reply.choices[0].message.content)
""",
        # Code runs in a remote sandbox, not in this process.
        """
from e2b_code_interpreter import Sandbox
from langchain_core.tools import tool

@tool
def run_python(code: str) -> str:
    \"\"\"Run code in a sandbox.\"\"\"
    with Sandbox() as sandbox:
        return sandbox.run_code(code).text
""",
    ]
    near_miss = [
        # Handed to a helper in another module that only shows it.
        {
            "display.py": """
def show(source):
    print(source)
""",
            "agent.py": """
from openai import OpenAI
from display import show
client = OpenAI()

def solve(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    show(reply.choices[0].message.content)
""",
        },
        # eval of a constant string in agent code.
        """
from openai import OpenAI
client = OpenAI()

def setup(messages):
    limits = eval("{'max_tokens': 256}")
    return client.chat.completions.create(model="gpt-4o", messages=messages, **limits)
""",
        # The model's reply only chooses among fixed snippets; the code run is a constant.
        """
from openai import OpenAI
client = OpenAI()
SNIPPETS = {"greet": "print('hi')"}

def act(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    if reply.choices[0].message.content.strip() == "greet":
        exec(SNIPPETS["greet"])
""",
        # A parameter of an ordinary function (not a tool, no model call) reaching eval.
        """
def evaluate(expression):
    return eval(expression)
""",
        # A method named eval on another object (a torch model), not the builtin.
        """
import torch
from openai import OpenAI
client = OpenAI()

def score(net: torch.nn.Module, messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    net.eval()
    return reply.choices[0].message.content
""",
        # A project helper that does not reach a model.
        {
            "helpers.py": """
def default_expression():
    return "1 + 1"
""",
            "agent.py": """
from helpers import default_expression

def run():
    return eval(default_expression())
""",
        },
    ]

    def check(self, finding: SinkFinding) -> None:
        chosen = chosen_source(finding, module=self.ctx.module_name)
        if chosen is None:
            return
        source, requires = chosen
        self.report(
            finding.node,
            f"{sentence(source.label)} reaches {finding.label}{where(finding)}: "
            "text the model chose runs as Python code",
            requires_llm=requires,
            fix=self._literal(finding.node),
        )

    def _literal(self, node) -> CodeFix | None:
        """``eval(text)`` with nothing but the text becomes ``literal_eval(text)``: Python
        literals only (numbers, strings, lists, dicts), never code."""
        if not (isinstance(node, cst.Call) and self.ctx.qualname(node.func) == "builtins.eval"):
            return None
        if len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star:
            return None
        return CodeFix((RawEdit(node.func, "literal_eval"),), (("ast", "literal_eval"),), unsafe=True)
