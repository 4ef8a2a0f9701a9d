from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.recognise.responses import tracker
from factorlint.engine.semantic.names import literal_string

# Parsers and pattern matchers that pull structure out of a string: (argument index, keyword).
_SCRAPERS = {
    "re.search": (1, "string"),
    "re.match": (1, "string"),
    "re.fullmatch": (1, "string"),
    "re.findall": (1, "string"),
    "re.finditer": (1, "string"),
    "re.split": (1, "string"),
    "json.loads": (0, "s"),
    "ast.literal_eval": (0, "node_or_string"),
    "yaml.safe_load": (0, "stream"),
    "yaml.load": (0, "stream"),
    "json_repair.loads": (0, "json_str"),
    "json_repair.repair_json": (0, "json_str"),
}
_COMPILED = frozenset({"search", "match", "fullmatch", "findall", "finditer", "split"})
_SPLITTERS = frozenset({"split", "rsplit", "partition", "rpartition"})
# Pydantic's JSON parsers: ``Model.model_validate_json(text)`` (v2), ``Model.parse_raw(text)`` (v1).
_MODEL_PARSERS = frozenset({"model_validate_json", "parse_raw"})
_TEST_REGEX = frozenset({"re.search", "re.match", "re.fullmatch", "search", "match", "fullmatch"})


class ScrapedStructure(Rule):
    """## What it does
    Finds structure pulled out of the free text of a model reply with regular expressions,
    `json.loads` / `ast.literal_eval` / `yaml.safe_load` / Pydantic's `model_validate_json`, or
    `split` on a separator, when the call
    that produced the text asked for neither a response schema nor tools. The text is tracked as
    for TFA0101 (`resp.choices[0].message.content`, `resp.output_text`, `msg.content[0].text`,
    a LangChain message's `.content`, up to four assignments away).

    ## Why is this bad?
    Factor 1 (natural language to tool calls) and factor 4 (tools are just structured outputs):
    every provider can return JSON that matches a schema. Scraping a code fence, a
    `"Action: ..."` line or the first `{` of a paragraph works until the model adds a sentence,
    changes a heading or emits two JSON objects, and then fails at run time far from the cause.

    ## Example
    ```python
    text = llm.invoke(prompt).content
    action = json.loads(re.search(r"\\{.*\\}", text, re.S).group(0))
    ```

    ## Use instead
    ```python
    planner = llm.with_structured_output(NextStep)
    action = planner.invoke(prompt)  # a validated NextStep
    ```

    ## Fix safety
    No automatic fix: it needs a schema.

    ## Options
    None. A regular expression inside an `if`/`while` test is TFA0101 (prose-driven-branch).
    A reply from a wrapper defined in another file is reported unless the project pass finds
    that the wrapper hands back something other than free text: a reply it asked for with a
    schema or tools, or a bool.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-01-natural-language-to-tool-calls.md
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-04-tools-are-structured-outputs.md
    """

    meta = RuleMeta(
        code="TFA0102",
        name="scraped-structure",
        factor=1,
        severity="warning",
        confidence="high",
        summary="Structure scraped out of a model's free text instead of asked for as structured output",
        fix_advice=(
            "Ask the model for the structure: `response_format=Model` / `chat.completions.parse`, "
            "`responses.parse(text_format=Model)`, Anthropic `messages.parse(output_format=Model)`, "
            "`with_structured_output(Model)`, instructor `response_model=`, or tools."
        ),
    )

    invalid = [
        """
import json
import re
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o")

def plan(prompt):
    text = llm.invoke(prompt).content
    match = re.search(r"\\{.*\\}", text, re.S)  # expect: TFA0102 @13-45 | `re.search(...)` scrapes structure out of the free text returned by `llm.invoke(...)`, which asked for neither a response schema nor tools
    return json.loads(match.group(0)) if match else None
""",
        """
import json
from openai import OpenAI

client = OpenAI()

def extract(doc):
    resp = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": doc}])
    content = resp.choices[0].message.content
    start, end = content.find("{"), content.rfind("}")
    return json.loads(content[start:end + 1])  # expect: TFA0102 @12-46 | `json.loads(...)` scrapes structure out of the free text returned by `client.chat.completions.create(...)`, which asked for neither a response schema nor tools
""",
        """
import anthropic

client = anthropic.Anthropic()

def next_action(history):
    msg = client.messages.create(model="m", max_tokens=300, messages=history)
    text = msg.content[0].text
    name, _, args = text.split("Action:")[-1].partition("(")  # expect: TFA0102 @21-42 | `.split(...)` scrapes structure out of the free text returned by `client.messages.create(...)`, which asked for neither a response schema nor tools
    return name.strip(), args
""",
        # JSON asked for in the prompt only, then parsed into a model.
        """
from openai import AsyncOpenAI

client = AsyncOpenAI()

async def plan(messages, output_format, temperature):
    common = {"temperature": temperature}
    common["seed"] = 7
    resp = await client.chat.completions.create(model="m", messages=messages, **common)
    content = resp.choices[0].message.content
    return output_format.model_validate_json(content)  # expect: TFA0102 @12-54 | `output_format.model_validate_json(...)` scrapes structure out of the free text returned by `client.chat.completions.create(...)`, which asked for neither a response schema nor tools
""",
        # A wrapper in another file: a regular expression over its text.
        {
            "llm.py": """
import litellm

def complete(messages):
    return litellm.completion(model="gpt-4o", messages=messages).choices[0].message.content
""",
            "agent.py": """
import re
from llm import complete

BASH = re.compile(r"```bash\\n(.*?)\\n```", re.S)

def next_command(messages):
    output = complete(messages)
    commands = BASH.findall(output)  # expect: TFA0102 @16-36 | `BASH.findall(...)` scrapes structure out of the free text returned by `complete(...)`, which asked for neither a response schema nor tools
    return commands[0] if commands else None
""",
        },
            # A wrapper of another file that asks for prose (gpt-researcher's create_chat_completion).
        {
            "llm.py": """
from openai import OpenAI
client = OpenAI()

def complete(prompt):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}]).choices[0].message.content
""",
            "agent.py": """
import json
from llm import complete

def choose_agent(task):
    response = complete(f"Pick an agent for: {task}. Answer as JSON.")
    agent = json.loads(response)  # expect: TFA0102 @13-33 | `json.loads(...)` scrapes structure out of the free text returned by `complete(...)`, which asked for neither a response schema nor tools
    return agent["server"], agent["role"]
""",
        },
        # One reply parsed, then scraped when the parse fails: one construct, one finding.
        """
import json
import re
from openai import OpenAI
client = OpenAI()

def select_tools(prompt):
    response = client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}]).choices[0].message.content
    try:
        return json.loads(response)  # expect: TFA0102 @16-36 | `json.loads(...)` scrapes structure out of the free text returned by `client.chat.completions.create(...)`, which asked for neither a response schema nor tools
    except json.JSONDecodeError:
        match = re.search(r"\\{.*\\}", response, re.DOTALL)
        return json.loads(match.group(0)) if match else []
""",
    ]
    valid = [
        """
from openai import OpenAI

client = OpenAI()

def extract(doc):
    resp = client.chat.completions.parse(model="gpt-4o", messages=[{"role": "user", "content": doc}], response_format=Invoice)
    return resp.choices[0].message.parsed
""",
        # JSON mode: the reply is JSON by contract.
        """
import json
from openai import OpenAI

client = OpenAI()

def extract(doc):
    resp = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": doc}], response_format={"type": "json_object"}
    )
    return json.loads(resp.choices[0].message.content)
""",
        # Tool-call arguments are JSON produced against a schema.
        """
import json
from openai import OpenAI

client = OpenAI()

def run(messages, tools):
    resp = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
    for call in resp.choices[0].message.tool_calls or []:
        yield call.function.name, json.loads(call.function.arguments)
""",
        # instructor returns a validated model.
        """
import instructor
from openai import OpenAI

client = instructor.from_openai(OpenAI())

def extract(doc):
    return client.chat.completions.create(model="gpt-4o", response_model=Invoice, messages=[{"role": "user", "content": doc}])
""",
    ]
    near_miss = [
        # JSON mode set through an options dict, then validated: the reply is JSON by contract.
        """
from openai import AsyncOpenAI

client = AsyncOpenAI()

async def plan(messages, output_format):
    params = {"model": "m", "messages": messages}
    params["response_format"] = {"type": "json_object"}
    resp = await client.chat.completions.create(**params)
    return output_format.model_validate_json(resp.choices[0].message.content)
""",
        # Parsing the user's input or a file, not a model reply.
        """
import json
import re

def load(path, user_text):
    data = json.loads(open(path).read())
    ids = re.findall(r"#(\\d+)", user_text)
    return data, ids
""",
        # A wrapper from another file that asked for JSON mode: its reply is meant for json.loads
        # (the project pass reads what the wrapper asked for).
        {
            "llm.py": """
from openai import OpenAI
client = OpenAI()

def ask_json(prompt):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}], response_format={"type": "json_object"}).choices[0].message.content
""",
            "agent.py": """
import json
from llm import ask_json

def plan(goal):
    reply = ask_json(goal)
    return json.loads(reply)
""",
        },
        # Cleaning up prose for display: neither a pattern match nor a parse.
        """
from openai import OpenAI
client = OpenAI()

def answer(msgs):
    text = client.chat.completions.create(model="m", messages=msgs).choices[0].message.content
    words = text.split()
    return " ".join(words).replace("\\n", " ")
""",
        # The reply returned as its lines: a list the prompt asked for, no field taken out.
        """
from openai import OpenAI
client = OpenAI()

def section_titles(msgs):
    titles = client.chat.completions.create(model="m", messages=msgs).choices[0].message.content
    return titles.split("\\n")
""",
        # A regular expression in an `if` test belongs to TFA0101.
        """
import re
from openai import OpenAI
client = OpenAI()

def done(msgs):
    text = client.chat.completions.create(model="m", messages=msgs).choices[0].message.content
    if re.search(r"DONE", text):
        return True
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._in_tests: set[int] = set()
        self._lines_only: set[int] = set()
        self._scraped_replies: set[int] = set()  # ids of the model calls whose reply was reported

    def visit_Return(self, node: cst.Return) -> None:
        # ``return text.split("\n")``: the reply handed back as a list of lines, no field taken.
        value = node.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and (
            value.func.attr.value == "split" and len(value.args) == 1
            and literal_string(value.args[0].value) == "\n"
        ):
            self._lines_only.add(id(value))

    def visit_If(self, node: cst.If) -> None:
        self._mark_test(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._mark_test(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._mark_test(node.test)

    def _mark_test(self, test: cst.BaseExpression) -> None:
        marked = self._in_tests

        class _Collect(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                marked.add(id(call))

        run_visitor(test, _Collect())

    def visit_Call(self, node: cst.Call) -> None:
        found = self._scraped(node)
        if found is None or id(node) in self._lines_only:
            return
        label, operand = found
        origin = tracker(self.ctx).reply_text(operand)
        if origin is None or id(origin.source) in self._scraped_replies:
            return
        # One reply scraped several ways (``json.loads``, then a regex when that fails) is one
        # construct: reported once, at its first scrape.
        self._scraped_replies.add(id(origin.source))
        callee = " ".join(self.ctx.code_for(origin.source.func).split())[:60]
        self.report(
            node,
            f"`{label}` scrapes structure out of the free text returned by `{callee}(...)`, which "
            "asked for neither a response schema nor tools",
            requires_llm=origin.requires,
            requires_text=origin.requires if origin.wrapper else (),
        )

    def _scraped(self, call: cst.Call) -> tuple[str, cst.BaseExpression] | None:
        """(label, the text argument) when ``call`` pulls structure out of text."""
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _SPLITTERS:
            if not call.args:
                return None  # ``text.split()``: words, not fields
            return f".{func.attr.value}(...)", func.value
        if isinstance(func, cst.Attribute) and func.attr.value in _MODEL_PARSERS and call.args:
            return f"{self.ctx.code_for(func)}(...)", call.args[0].value
        qualname = self.ctx.qualname(func) or ""
        if qualname in _SCRAPERS:
            if qualname in _TEST_REGEX and id(call) in self._in_tests:
                return None
            index, keyword = _SCRAPERS[qualname]
            arg = keyword_arg(call, keyword) or positional_arg(call, index)
            if arg is None:
                return None
            return f"{qualname}(...)", arg.value
        if qualname.startswith("re.compile().") and qualname.rsplit(".", 1)[-1] in _COMPILED:
            method = qualname.rsplit(".", 1)[-1]
            if method in _TEST_REGEX and id(call) in self._in_tests:
                return None
            arg = keyword_arg(call, "string") or positional_arg(call, 0)
            if arg is None:
                return None
            return f"{self.ctx.code_for(func)}(...)", arg.value
        return None
