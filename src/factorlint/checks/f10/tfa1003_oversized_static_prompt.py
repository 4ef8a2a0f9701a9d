from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.prompt_text import PromptText, prompt_text, prompt_values


class OversizedStaticPrompt(Rule):
    '''## What it does
    Finds prompts whose static text is longer than `max-prompt-chars` (default 12,000 characters,
    about 3,000 tokens): the literal handed to a model call (`system=`, `instructions=`, a
    `{"role": "system", "content": ...}` message), to an agent (`instructions=`, `system_prompt=`,
    `backstory=`) or to a prompt builder (`SystemMessage(...)`, `PromptTemplate.from_template(...)`),
    or the module constant (`SYSTEM_PROMPT = """..."""`) or variable such a site names. Text
    wrapped in `textwrap.dedent`, `.format(...)`, `.strip()`, `%` or joined with `+` is measured
    by its literal parts; f-string holes count as nothing.

    Prompts read from files, or constants imported from another module, are not measured.

    ## Why is this bad?
    Factor 10 (small, focused agents) keeps each agent to one job; a prompt of several thousand
    tokens usually describes several jobs, or carries reference material the model must wade
    through at every step. Long static prompts dilute the instructions that matter, cost tokens on
    every call, and leave less of the window for the task itself. Reference data belongs in a
    retrieval step or a pre-fetch (factor 13), included only when it is relevant.

    ## Example
    ```python
    SYSTEM = """You are the company assistant. ... (40 pages of policies, product tables and
    examples) ..."""
    reply = client.messages.create(model=MODEL, system=SYSTEM, messages=msgs, max_tokens=1024)
    ```

    ## Use instead
    ```python
    SYSTEM = """You answer billing questions. Use the policy excerpts below.
    {policies}"""
    policies = retrieve_policies(question, k=3)  # only what this request needs
    reply = client.messages.create(model=MODEL, system=SYSTEM.format(policies=policies), ...)
    ```

    ## Fix safety
    No automatic fix: what to cut, split or retrieve is for the prompt's author.

    ## Options
    - `max-prompt-chars`: the longest static prompt text that is not reported (default 12000).

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-10-small-focused-agents.md
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/appendix-13-pre-fetch.md
    '''

    meta = RuleMeta(
        code="TFA1003",
        name="oversized-static-prompt",
        factor=10,
        severity="advice",
        confidence="medium",
        summary="A prompt's static text is longer than max-prompt-chars",
        fix_advice=(
            "Split the responsibilities into smaller agents, and move reference material out of the "
            "prompt into retrieval or a deterministic pre-fetch that adds only what the task needs."
        ),
    )

    invalid = [
        f'''
import anthropic

client = anthropic.Anthropic()
SYSTEM = """{"policy line. " * 1000}"""  # expect: TFA1003 @10-13016 | Prompt `SYSTEM` (used at `system=`) holds 12,999 characters of static text, more than max-prompt-chars (12,000): split the job or retrieve the reference material it carries

def ask(messages):
    return client.messages.create(model="m", max_tokens=512, system=SYSTEM, messages=messages)
''',
        f'''
from openai import OpenAI

client = OpenAI()

def ask(question):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {{"role": "system", "content": "{"Rules. " * 1800}"}},  # expect: TFA1003 @43-12645 | Prompt (used at `messages[system]`) holds 12,599 characters of static text, more than max-prompt-chars (12,000): split the job or retrieve the reference material it carries
            {{"role": "user", "content": question}},
        ],
    )
''',
        f'''
import textwrap
from agents import Agent

def build(tools):
    instructions = textwrap.dedent(
        f"""{"You are the operations agent. " * 500} Tools: {{tools}}"""  # expect: TFA1003 @9-15031 | Prompt (used at `instructions=`) holds 15,010 characters of static text, more than max-prompt-chars (12,000): split the job or retrieve the reference material it carries
    )
    return Agent(name="ops", instructions=instructions, tools=tools)
''',
    ]
    valid = [
        """
import anthropic

client = anthropic.Anthropic()
SYSTEM = "You answer billing questions in two sentences."

def ask(messages):
    return client.messages.create(model="m", max_tokens=512, system=SYSTEM, messages=messages)
""",
        """
from pathlib import Path
from agents import Agent

agent = Agent(name="ops", instructions=Path("prompts/ops.md").read_text())
""",
        '''
from openai import OpenAI

client = OpenAI()
TEMPLATE = """Answer from these excerpts only:
{excerpts}
Question: {question}"""

def ask(question, excerpts):
    content = TEMPLATE.format(excerpts=excerpts, question=question)
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": content}])
''',
    ]
    near_miss = [
        # A large literal that is not a prompt (a data table passed to a parser).
        f'''
import json

TABLE = """{"row;" * 5000}"""
rows = json.loads(TABLE)
''',
        # A large f-string whose size comes from its holes, not its text.
        """
from openai import OpenAI

client = OpenAI()

def ask(document):
    return client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"Summarise:\\n{document}"}]
    )
""",
        # A large text passed to a model call's non-prompt keyword.
        f'''
from openai import OpenAI

client = OpenAI()
client.embeddings.create(model="text-embedding-3-small", input="""{"chunk " * 3000}""")
''',
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        # id(text node) -> (text, where, requires); a certain model call wins over a candidate.
        self._found: dict[int, tuple[PromptText, str, tuple[str, ...]]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        limit = self.settings.max_prompt_chars
        for where, value, requires in prompt_values(self.ctx, node):
            text = prompt_text(self.ctx, value)
            if text is None or len(text.text.strip()) <= limit:
                continue
            known = self._found.get(id(text.node))
            if known is None or (known[2] and not requires):
                self._found[id(text.node)] = (text, where, requires)

    def leave_Module(self, node: cst.Module) -> None:
        limit = self.settings.max_prompt_chars
        for text, where, requires in self._found.values():
            name = f"`{text.constant}` " if text.constant else ""
            self.report(
                text.node,
                f"Prompt {name}(used at `{where}`) holds {len(text.text.strip()):,} characters of static "
                f"text, more than max-prompt-chars ({limit:,}): split the job or retrieve the reference "
                "material it carries",
                requires_llm=requires,
            )
        self._found.clear()
