from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.tools import dict_get
from factorlint.engine.semantic.names import literal_string

# Wire values that switch a model to "any JSON" output: OpenAI-compatible `{"type": "json_object"}`
# (OpenAI, litellm, Groq, Mistral, DeepSeek), Ollama `format="json"`, Gemini
# `response_mime_type="application/json"` without a response schema.
_JSON_OBJECT = "json_object"
_JSON_WORDS = frozenset({"json", "application/json"})


class SchemalessJsonMode(Rule):
    """## What it does
    Finds model calls that switch on JSON mode without giving a schema:
    `response_format={"type": "json_object"}` (OpenAI and OpenAI-compatible APIs, litellm),
    `text={"format": {"type": "json_object"}}` (Responses API), Ollama's `format="json"`, and a
    Gemini `config` with `response_mime_type="application/json"` but no `response_schema`.

    ## Why is this bad?
    Factor 4 (tools are just structured outputs): the model's output is only as structured as the
    schema you give it. JSON mode guarantees a parseable object, not the fields, types or intent
    values your code expects, so every consumer re-checks by hand or breaks on the first surprise.

    ## Example
    ```python
    resp = client.chat.completions.create(
        model=M, messages=m, response_format={"type": "json_object"}
    )
    ```

    ## Use instead
    ```python
    resp = client.chat.completions.parse(model=M, messages=m, response_format=NextStep)
    # or response_format={"type": "json_schema", "json_schema": {..., "strict": True}}
    ```

    ## Fix safety
    No automatic fix: the schema has to be written.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-04-tools-are-structured-outputs.md
    """

    meta = RuleMeta(
        code="TFA0403",
        name="schemaless-json-mode",
        factor=4,
        severity="advice",
        confidence="high",
        summary="JSON mode without a schema: the model promises JSON, not your fields",
        fix_advice=(
            "Pass a schema: `response_format=MyModel` with `.parse(...)`, or "
            "`{\"type\": \"json_schema\", \"json_schema\": {..., \"strict\": True}}`, and validate the result."
        ),
    )

    invalid = [
        """
from openai import OpenAI

client = OpenAI()

def classify(messages):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=messages,
        response_format={"type": "json_object"},  # expect: TFA0403 @25-48 | JSON mode without a schema: `response_format={"type": "json_object"}` asks for JSON but names no fields or types
    )
""",
        """
import litellm
import ollama

JSON_MODE = {"type": "json_object"}

def plan(messages):
    first = litellm.completion(model="gpt-4o", messages=messages, response_format=JSON_MODE)  # expect: TFA0403 @83-92 | JSON mode without a schema: `response_format=JSON_MODE` asks for JSON but names no fields or types
    second = ollama.chat(model="llama3", messages=messages, format="json")  # expect: TFA0403 @68-74 | JSON mode without a schema: `format="json"` asks for JSON but names no fields or types
    return first, second
""",
        """
from google import genai
from google.genai import types

client = genai.Client()

def extract(text):
    return client.models.generate_content(
        model="gemini-2.0-flash",
        contents=text,
        config=types.GenerateContentConfig(response_mime_type="application/json"),  # expect: TFA0403 @16-82 | JSON mode without a schema: `response_mime_type="application/json"` asks for JSON but names no fields or types
    )
""",
        """
from openai import OpenAI

client = OpenAI()

def step(items):
    return client.responses.create(model="gpt-4o", input=items, text={"format": {"type": "json_object"}})  # expect: TFA0403 @70-105 | JSON mode without a schema: `text={"format": {"type": "json_object"}}` asks for JSON but names no fields or types
""",
    ]
    valid = [
        """
from openai import OpenAI
from pydantic import BaseModel

client = OpenAI()

class NextStep(BaseModel):
    intent: str

def classify(messages):
    return client.chat.completions.parse(model="gpt-4o", messages=messages, response_format=NextStep)
""",
        """
from openai import OpenAI

client = OpenAI()
SCHEMA = {"type": "json_schema", "json_schema": {"name": "step", "schema": {}, "strict": True}}

def classify(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages, response_format=SCHEMA)
""",
        """
from google import genai
from google.genai import types

client = genai.Client()

def extract(text, schema):
    return client.models.generate_content(
        model="gemini-2.0-flash",
        contents=text,
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=schema),
    )
""",
    ]
    near_miss = [
        # A dict that is not passed to a model call.
        """
RESPONSE = {"type": "json_object"}

def describe():
    return RESPONSE
""",
        # A project function with a keyword of the same name: not a known model call.
        """
def fetch(url, response_format=None):
    return url

def run():
    return fetch("https://example.com", response_format={"type": "json_object"})
""",
        # Ollama with a JSON schema in `format=`.
        """
import ollama

def plan(messages, schema):
    return ollama.chat(model="llama3", messages=messages, format=schema)
""",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        llm = self.ctx.recognise.llm_call(node)
        if llm is None or llm.spec is None or not llm.spec.structured_keywords:
            return
        # The call's own keywords, then a config object one level down
        # (config=GenerateContentConfig(response_mime_type="application/json")).
        holders = [(node, None)] + [
            (arg.value, arg) for arg in node.args if arg.keyword is not None and isinstance(arg.value, cst.Call)
        ]
        for holder, via in holders:
            json_mode, schema = None, False
            for arg in holder.args:
                if arg.keyword is None:
                    continue
                keyword = arg.keyword.value
                if self._json_mode(arg.value) and (via is not None or keyword in llm.spec.structured_keywords):
                    json_mode = json_mode or arg
                elif keyword in llm.spec.structured_keywords:
                    schema = True
            if json_mode is not None and not schema:
                where = via.value if via is not None else json_mode.value
                shown = f"`{json_mode.keyword.value}={self.ctx.code_for(json_mode.value).strip()}`"
                if len(shown) > 50:
                    shown = f"`{json_mode.keyword.value}=`"
                self._report(where, f"{shown} asks for JSON", llm.requires)
                return

    def _report(self, node, what: str, requires) -> None:
        self.report(node, f"JSON mode without a schema: {what} but names no fields or types",
                    requires_llm=requires)

    def _json_mode(self, value: cst.BaseExpression, depth: int = 0) -> bool:
        if depth > 2:
            return False
        text = literal_string(value)
        if text is not None:
            return text in _JSON_WORDS
        if isinstance(value, cst.Name):
            bound = self.ctx.scan.module_constants.get(value.value)
            return bound is not None and self._json_mode(bound, depth + 1)
        if isinstance(value, cst.Dict):
            kind = dict_get(value, "type")
            if kind is not None and literal_string(kind) == _JSON_OBJECT:
                return True
            nested: cst.BaseExpression | None = dict_get(value, "format")
            return isinstance(nested, cst.Dict) and self._json_mode(nested, depth + 1)
        return False
