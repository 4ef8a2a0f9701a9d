from __future__ import annotations

import re

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.agents.agents_shape import tool_names, tool_site
from factorlint.engine.recognise.prompt_text import PromptText, prompt_text, prompt_values

_VERB = r"(?:call(?:ing)?|use|using|invoke|invoking|run(?:ning)?|execute|executing|fetch(?:ing)?)"
_NAME = (
    r"(?:the\s+)?(?P<quote>[`'\"*]{0,2})(?P<name>[A-Za-z_][A-Za-z0-9_]*)[`'\"*]{0,2}(?:\(\))?"
    r"(?:\s+(?P<kind>tool|function))?"
)
_FIRST = (
    r"(?:first(?:ly)?|start(?:ing)?\s+(?:by|with)|begin(?:ning)?\s+(?:by|with)|to\s+begin(?:\s+with)?"
    r"|before\s+(?:anything|doing\s+anything|you\s+do\s+anything)(?:\s+else)?)"
)
# "Before answering": an inspection step whose arguments the model may well have to choose.
_BEFORE_REPLY = r"before\s+(?:answering|responding|replying|proceeding|you\s+(?:answer|respond|reply))"
# (pattern, strong): a weak pattern needs a name that is one of the agent's tools or snake_case.
_PATTERNS = (
    # "First, call X", "Start by calling the X tool"
    (re.compile(rf"(?i)\b{_FIRST}\W{{0,3}}(?:(?:you\s+)?(?:must|should|always)\s+)*{_VERB}\W{{1,3}}{_NAME}"), True),
    # "Always call X first", "call X (exactly once) before anything else"
    (re.compile(
        rf"(?i)\b(?:always\s+|must\s+)?{_VERB}\W{{1,3}}{_NAME}(?:\s+(?:exactly\s+)?once)?\s+"
        r"(?:first\b|before\s+(?:anything|doing\s+anything))"
    ), True),
    # "Before deploying, always call X"
    (re.compile(rf"(?i)\bbefore\s+\w+ing\b[^.\n]{{0,40}}\balways\s+{_VERB}\W{{1,3}}{_NAME}"), True),
    # "Before answering, use X" / "Call X once before replying"
    (re.compile(rf"(?i)\b{_BEFORE_REPLY}\W{{0,3}}(?:(?:you\s+)?(?:must|should|always)\s+)*{_VERB}\W{{1,3}}{_NAME}"), False),
    (re.compile(
        rf"(?i)\b(?:always\s+|must\s+)?{_VERB}\W{{1,3}}{_NAME}(?:\s+(?:exactly\s+)?once)?\s+{_BEFORE_REPLY}"
    ), False),
)
_NOT_NAMES = frozenset(
    {"the", "a", "an", "this", "that", "these", "those", "it", "them", "tool", "tools", "function",
     "functions", "your", "its", "any", "all", "one", "some", "each", "appropriate", "available",
     "relevant", "following", "provided", "right", "correct", "same", "other", "to", "and", "or"}
)


def find_instruction(text: str, tools: set[str], complete: bool) -> tuple[str, str] | None:
    """(tool name, the matched phrase) for the first call-this-first instruction in ``text``."""
    lowered = {t.lower() for t in tools}
    for pattern, strong in _PATTERNS:
        for match in pattern.finditer(text):
            name = match.group("name")
            if name.lower() in _NOT_NAMES:
                continue
            if name.lower() in lowered:
                return name, " ".join(match.group(0).split())
            if complete:
                continue  # the agent's tools are all known and this is none of them
            if "_" in name or (strong and (match.group("kind") or match.group("quote"))):
                return name, " ".join(match.group(0).split())
    return None


class CallThisFirstInstruction(Rule):
    '''## What it does
    Finds prompts that tell the model which tool to call first: "always call `list_git_tags`
    first", "First, call the get_user_profile tool", "Start by calling fetch_account", "Before
    deploying, always call list_environments". The prompt is read where it is handed to a model
    call, an agent or a prompt builder, including module constants and variables it names. When
    the agent's tools are known from the same call (`tools=[...]`), the named tool must be one of
    them; otherwise the name must look like a tool (snake_case, quoted, or followed by "tool" or
    "function").

    ## Why is this bad?
    Factor 13 (pre-fetch all the context you might need): if the model will almost certainly call
    a tool first, call it yourself, deterministically, before the first model call and put the
    result in the context. The instruction costs a full round trip on every run, can be ignored
    or followed with wrong arguments, and makes a predictable step depend on the model.

    ## Example
    ```python
    SYSTEM = "Before deploying, always call list_git_tags to see which tags exist."
    agent = Agent(name="deploy", instructions=SYSTEM, tools=[list_git_tags, deploy_backend])
    ```

    ## Use instead
    ```python
    tags = list_git_tags()                                      # deterministic pre-fetch
    agent = Agent(name="deploy", instructions=DEPLOY_SYSTEM.format(tags=tags), tools=[deploy_backend])
    ```

    ## Fix safety
    No automatic fix: moving the call into code changes when and how it runs.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/appendix-13-pre-fetch.md
    '''

    meta = RuleMeta(
        code="TFA1301",
        name="call-this-first-instruction",
        factor=13,
        severity="advice",
        confidence="medium",
        summary="The prompt tells the model to call a tool first: pre-fetch it in code instead",
        fix_advice=(
            "Call the tool yourself before the first model call and put its result in the prompt or "
            "the thread; drop the instruction (and the tool, if nothing else needs it)."
        ),
    )

    invalid = [
        """
from agents import Agent

SYSTEM = "You deploy services. Before deploying, always call list_git_tags to see which tags exist."  # expect: TFA1301 @10-101 | `SYSTEM` tells the model to call `list_git_tags` first ("Before deploying, always call list_git_tags"): call it in code before the first model call and put the result in the context
agent = Agent(name="deploy", instructions=SYSTEM, tools=[list_git_tags, deploy_backend])
""",
        """
from openai import OpenAI

client = OpenAI()
TOOLS = [{"type": "function", "function": {"name": "get_user_profile", "parameters": {}}}]

def answer(question):
    return client.chat.completions.create(
        model="gpt-4o",
        tools=TOOLS,
        messages=[
            {"role": "system", "content": "First, call the get_user_profile tool. Then answer."},  # expect: TFA1301 @43-96 | The prompt tells the model to call `get_user_profile` first ("First, call the get_user_profile tool"): call it in code before the first model call and put the result in the context
            {"role": "user", "content": question},
        ],
    )
""",
        """
import anthropic

client = anthropic.Anthropic()

def run(messages, tools):
    system = (
        "You are a support agent. "  # expect: TFA1301 @9-8:68 | The prompt tells the model to call `fetch_account` first ("Always use `fetch_account` first"): call it in code before the first model call and put the result in the context
        "Always use `fetch_account` first, then help the customer."
    )
    return client.messages.create(model="m", max_tokens=512, system=system, messages=messages, tools=tools)
""",
        # An instruction held by the agent object and sent with every request.
        """
from openai import OpenAI

client = OpenAI()
SYSTEM = "Respond in Spanish. Call get_user_name exactly once before replying, then greet the user."  # expect: TFA1301 @10-101 | `SYSTEM` tells the model to call `get_user_name` first ("Call get_user_name exactly once before replying"): call it in code before the first model call and put the result in the context

class Greeter:
    def __init__(self):
        self.messages = [{"role": "system", "content": SYSTEM}]

    def reply(self, text, tools):
        self.messages.append({"role": "user", "content": text})
        return client.chat.completions.create(model="m", messages=self.messages, tools=tools)
""",
    ]
    valid = [
        """
from agents import Agent

def build(tags):
    return Agent(
        name="deploy",
        instructions=f"You deploy services. Existing tags: {tags}. Ask before deploying to prod.",
        tools=[deploy_backend],
    )
""",
        """
from openai import OpenAI

client = OpenAI()

def answer(profile, question):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": f"User profile: {profile}. Answer the question."},
            {"role": "user", "content": question},
        ],
    )
""",
        """
from agents import Agent

agent = Agent(name="search", instructions="Use the search tool when you need facts.", tools=[search])
""",
    ]
    near_miss = [
        # "first" about the output, not about a tool call.
        """
from agents import Agent

agent = Agent(name="s", instructions="Use web_search and return the first result only.", tools=[web_search])
""",
        # The named thing is not one of the agent's (fully known) tools.
        """
from agents import Agent

agent = Agent(
    name="coder",
    instructions="Always run unit_tests first, then commit.",
    tools=[edit_file, commit],
)
""",
        # An instruction about a shell command in a prompt with no tools: not a tool name.
        """
import anthropic

client = anthropic.Anthropic()
client.messages.create(model="m", max_tokens=64, system="First, run ls to look around.", messages=[])
""",
        # An inspection step before answering, with a tool the model must drive itself.
        """
from agents import Agent

reviewer = Agent(
    name="pricing",
    instructions="Inspect the files before answering. Use the shell tool before answering.",
    tools=toolkit(),
)
""",
        # The same words in a string that is not a prompt.
        """
import logging

logging.info("Always call setup_logging first")
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._found: dict[int, tuple[PromptText, str, str, tuple[str, ...]]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        values = prompt_values(self.ctx, node)
        if not values:
            return
        names: set[str] = set()
        complete = False
        site = tool_site(self.ctx, node)
        if site is not None and site.lists:
            complete = True
            for _, expr in site.lists:
                found, known = tool_names(self.ctx, expr)
                names |= found
                complete = complete and known
        for _, value, requires in values:
            text = prompt_text(self.ctx, value)
            if text is None:
                continue
            hit = find_instruction(text.text, names, complete)
            if hit is None:
                continue
            known = self._found.get(id(text.node))
            if known is None or (known[3] and not requires):
                self._found[id(text.node)] = (text, *hit, requires)

    def leave_Module(self, node: cst.Module) -> None:
        for text, name, phrase, requires in self._found.values():
            where = f"`{text.constant}`" if text.constant else "The prompt"
            self.report(
                text.node,
                f"{where} tells the model to call `{name}` first (\"{phrase}\"): call it in code before "
                "the first model call and put the result in the context",
                requires_llm=requires,
            )
        self._found.clear()
