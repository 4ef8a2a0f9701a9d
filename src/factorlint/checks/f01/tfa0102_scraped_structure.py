from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.parse.walk import run_visitor
from factorlint.engine.recognise.response_paths import Origin
from factorlint.engine.recognise.responses import tracker
from factorlint.engine.recognise.scrapers import handed_reply, scrape
from factorlint.engine.semantic.names import literal_string


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
        # Fields taken out of each line of the reply: structure, not the reply's lines.
        """
from openai import OpenAI
client = OpenAI()

def plan(msgs):
    reply = client.chat.completions.create(model="m", messages=msgs).choices[0].message.content
    steps = [line.split(":", 1) for line in reply.split("\\n") if line.startswith("Step")]  # expect: TFA0102 @45-62 | `.split(...)` scrapes structure out of the free text returned by `client.chat.completions.create(...)`, which asked for neither a response schema nor tools
    return steps
""",
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
        # The reply handed to the module's own parsing helper (gptme's pruner).
        """
import json
import re
from openai import OpenAI
client = OpenAI()
_JSON = re.compile(r"\\{.*\\}", re.DOTALL)

def _parse_ranges(response):
    match = _JSON.search(response)
    return json.loads(match.group(0))["ranges"] if match else None

def plan_prune(output):
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": output}]).choices[0].message.content
    return _parse_ranges(reply)  # expect: TFA0102 @12-32 | `_parse_ranges(...)` scrapes structure out of the free text returned by `client.chat.completions.create(...)`, which asked for neither a response schema nor tools
""",
        # ...or to a parser of another module (metagpt's CodeParser).
        {
            "logs.py": """
import logging
logger = logging.getLogger("agent")
""",
            "parsers.py": """
import re
from logs import logger

class CodeParser:
    @classmethod
    def parse_code(cls, block, text, lang=""):
        match = re.search(rf"```{lang}.*?\\s+(.*?)```", text, re.DOTALL)
        if not match:
            logger.warning("no code block")
        return match.group(1) if match else text
""",
            "agent.py": """
import json
from openai import OpenAI
from parsers import CodeParser
client = OpenAI()

def think(prompt):
    rsp = client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}]).choices[0].message.content
    state = json.loads(CodeParser.parse_code(block=None, text=rsp))  # expect: TFA0102 @13-68 | `json.loads(...)` scrapes structure out of the free text returned by `client.chat.completions.create(...)`, which asked for neither a response schema nor tools
    return state["next"]
""",
        },
        # A fallback parser helper after the reply was already parsed: the same construct.
        {
            "fixups.py": """
import json
import re
from logs import logger

def handle_json_error(response):
    match = re.search(r"\\{.*\\}", response, re.DOTALL)
    logger.warning("falling back")
    return json.loads(match.group(0)) if match else None
""",
            "logs.py": """
import logging
logger = logging.getLogger("agent")
""",
            "agent.py": """
import json
from openai import OpenAI
from fixups import handle_json_error
client = OpenAI()

def choose_agent(task):
    response = client.chat.completions.create(model="m", messages=[{"role": "user", "content": task}]).choices[0].message.content
    try:
        return json.loads(response)  # expect: TFA0102 @16-36 | `json.loads(...)` scrapes structure out of the free text returned by `client.chat.completions.create(...)`, which asked for neither a response schema nor tools
    except json.JSONDecodeError:
        return handle_json_error(response)
""",
        },
        # The third-party `regex` module, a drop-in for `re`.
        """
import regex as re
from openai import OpenAI
client = OpenAI()

def next_action(msgs):
    text = client.chat.completions.create(model="m", messages=msgs).choices[0].message.content
    return re.findall(r"Action: (\\w+)", text)  # expect: TFA0102 @12-46 | `regex.findall(...)` scrapes structure out of the free text returned by `client.chat.completions.create(...)`, which asked for neither a response schema nor tools
""",
        # A streamed reply built up chunk by chunk (open-interpreter's jupyter input helper).
        """
import re
import litellm

def next_input(messages, model):
    params = {"model": model, "messages": messages, "stream": True}
    response = ""
    for chunk in litellm.completion(**params):
        content = chunk.choices[0].delta.content
        if type(content) == str:
            response += content
    match = re.search(r"<input>(.*?)</input>", response)  # expect: TFA0102 @13-57 | `re.search(...)` scrapes structure out of the free text returned by `litellm.completion(...)`, which asked for neither a response schema nor tools
    return match.group(1) if match else None
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
        # Code cut out of a code-writing reply by a helper: the product is the code, not a
        # payload or a decision (metagpt's WriteCode with CodeParser.parse_code).
        {
            "logs.py": """
import logging
logger = logging.getLogger("agent")
""",
            "parsers.py": """
import re
from logs import logger

def parse_code(text, lang="python"):
    match = re.search(rf"```{lang}\\s+(.*?)```", text, re.DOTALL)
    if not match:
        logger.warning("no code block")
    return match.group(1) if match else text
""",
            "agent.py": """
from openai import OpenAI
from parsers import parse_code
client = OpenAI()

def write_code(task):
    rsp = client.chat.completions.create(model="m", messages=[{"role": "user", "content": task}]).choices[0].message.content
    return parse_code(rsp)
""",
        },
        # The reply handed to a project function that stores it, scraping nothing.
        {
            "store.py": """
def remember(text, log):
    log.append({"role": "assistant", "content": text})
""",
            "agent.py": """
from openai import OpenAI
from store import remember
client = OpenAI()

def step(messages, log):
    reply = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
    remember(reply, log)
    return reply
""",
        },
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
        # ... or as the lines that carry the answer's marker, the marker removed.
        """
from openai import OpenAI
client = OpenAI()

def follow_up_questions(msgs, count):
    reply = client.chat.completions.create(model="m", messages=msgs).choices[0].message.content
    questions = [q.replace("Question:", "").strip() for q in reply.split("\\n") if q.strip().startswith("Question:")]
    return questions[:count]
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
        self._ignored_helpers: set[int] = set()  # helper calls already read inside a parser
        self._marked_functions: set[int] = set()  # ids of the functions whose returned lines are marked

    def _mark_returned_lines(self) -> None:
        """The reply handed back as a list of its lines, no field taken out: ``return
        text.split("\n")``, or the lines that carry the answer's marker with the marker removed
        (``[q.replace("Question:", "").strip() for q in text.split("\n") if
        q.startswith("Question:")]``, returned directly, through a name or sliced). Read from the
        whole function at its first scrape (the list may be built before the ``return``), so a
        function that scrapes nothing needs no value-flow index. Every call this marks lies in
        the function's own scope, so no other function's marks can name it."""
        if not self.ctx.function_stack:
            return  # module level: no return
        node = self.ctx.function_stack[-1]
        if id(node) in self._marked_functions:
            return
        self._marked_functions.add(id(node))
        flow = self.ctx.flow(node)
        for returned in flow.returns:
            value = returned.value
            if isinstance(value, cst.Subscript):
                value = value.value
            if isinstance(value, cst.Name):
                bound = flow.bindings.get(value.value, [])
                value = bound[0][1] if len(bound) == 1 and bound[0][1] is not None else value
            if _splits_lines(value):
                self._lines_only.add(id(value))
            elif isinstance(value, (cst.ListComp, cst.GeneratorExp)) and _tidied_lines(value):
                self._lines_only.add(id(value.for_in.iter))
                for test in value.for_in.ifs:
                    run_visitor(test.test, _Collect(self._lines_only))

    def visit_If(self, node: cst.If) -> None:
        self._mark_test(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._mark_test(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._mark_test(node.test)

    def _mark_test(self, test: cst.BaseExpression) -> None:
        run_visitor(test, _Collect(self._in_tests))

    def visit_Call(self, node: cst.Call) -> None:
        found = scrape(self.ctx, node)
        if found is None:
            self._handed_to_parser(node)
            return
        self._mark_returned_lines()
        if id(node) in self._lines_only or (found.is_test and id(node) in self._in_tests):
            return
        track = tracker(self.ctx)
        origin = track.reply_text(found.operand)
        if origin is not None:
            if id(origin.source) not in self._scraped_replies:
                # One reply scraped several ways (``json.loads``, then a regex when that fails)
                # is one construct: reported once, at its first scrape.
                self._scraped_replies.add(id(origin.source))
                self._report(node, found.label, origin)
            return
        if found.is_parser and isinstance(found.operand, cst.Call):
            # ``json.loads(CodeParser.parse_code(text=rsp))``: parsed out of what a project
            # helper cut out of the reply; it stands if the helper scrapes that parameter.
            handed = handed_reply(self.ctx, found.operand)
            if handed is not None:
                self._ignored_helpers.add(id(found.operand))
                origin, entry = handed
                self._report(node, found.label, origin, (f"{entry}|scrapes",))

    def _handed_to_parser(self, node: cst.Call) -> None:
        """The reply handed to a project function that turns it into data (gptme's
        ``_parse_ranges(response)``: a regular expression, then ``json.loads``)."""
        if id(node) in self._ignored_helpers:
            return
        handed = handed_reply(self.ctx, node)
        if handed is not None and id(handed[0].source) not in self._scraped_replies:
            origin, entry = handed
            label = f"{' '.join(self.ctx.code_for(node.func).split())}(...)"
            self._report(node, label, origin, (f"{entry}|parses",))

    def _report(self, node: cst.Call, label: str, origin: Origin, scraped_by: tuple[str, ...] = ()) -> None:
        callee = " ".join(self.ctx.code_for(origin.source.func).split())[:60]
        self.report(
            node,
            f"`{label}` scrapes structure out of the free text returned by `{callee}(...)`, which "
            "asked for neither a response schema nor tools",
            requires_llm=origin.requires,
            requires_text=origin.requires if origin.wrapper else (),
            requires_scrape=scraped_by,
        )


_TIDYING = frozenset({"strip", "lstrip", "rstrip", "replace", "removeprefix", "removesuffix"})


def _splits_lines(value) -> bool:
    """``text.split("\n")`` or ``text.splitlines()``."""
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)):
        return False
    name = value.func.attr.value
    if name == "splitlines":
        return not value.args
    return name == "split" and len(value.args) == 1 and literal_string(value.args[0].value) == "\n"


def _tidied_lines(comprehension: cst.ListComp | cst.GeneratorExp) -> bool:
    """One ``for`` over the reply's lines, each line kept as text: the line itself, or the line
    through string methods with literal arguments (``q.replace("Question:", "").strip()``)."""
    for_in = comprehension.for_in
    if for_in.inner_for_in is not None or not isinstance(for_in.target, cst.Name):
        return False
    if not _splits_lines(for_in.iter):
        return False
    element = comprehension.elt
    while isinstance(element, cst.Call) and isinstance(element.func, cst.Attribute):
        if element.func.attr.value not in _TIDYING or any(literal_string(a.value) is None for a in element.args):
            return False
        element = element.func.value
    return isinstance(element, cst.Name) and element.value == for_in.target.value


class _Collect(cst.CSTVisitor):
    """Adds the id of every call under the visited node to ``found``."""

    def __init__(self, found: set[int]) -> None:
        self.found = found

    def visit_Call(self, node: cst.Call) -> None:
        self.found.add(id(node))
