from __future__ import annotations

import fnmatch
import functools
import io
import re
import tokenize

import libcst as cst

from factorlint.checks.base import CodeFix, Rule, RuleMeta
from factorlint.checks.edits import replace_whole
from factorlint.engine.parse.walk import find_all
from factorlint.engine.recognise.prompts import (
    PromptSite,
    builder_sites,
    call_prompt_sites,
    is_inline_prompt,
    wrapper_message_sites,
)

# The size from which an inline prompt is the violation docs/violations.md names (about ten
# lines of instructions); from `inline-prompt-min-chars` up to it, the finding is advice.
LONG_PROMPT_LINES = 10
LONG_PROMPT_CHARS = 600


class InlinePromptAtCallSite(Rule):
    '''## What it does
    Finds long prompts written inline in the call that uses them: a `system="""..."""` of a
    model call, a `{"role": "system", "content": "..."}` message, an agent's `instructions=` or
    `backstory=`, a `SystemMessage(...)` or `ChatPromptTemplate.from_messages([...])` whose text
    is a literal of at least `inline-prompt-min-chars` characters (default 200) or three lines.
    About ten lines (600 characters) or more is a warning; a shorter paragraph is advice. A
    framework field that is the user's own prompt text (CrewAI's role, goal and backstory, an
    agent's `instructions=`) is not reported: the prompt is the user's already.

    Prompts held in a module-level constant, read from a file or a template, or written in BAML
    are not reported; neither are literals in a module whose purpose is to hold prompts
    (`prompts.py`, `app/prompts.py`, `agent_prompts.py`: see `prompt-modules`).

    ## Why is this bad?
    Factor 2 (own your prompts) treats prompts as code: named, reviewed, versioned and tested.
    A paragraph of instructions buried in the argument list of an API call has no name a test
    can import, is diffed as noise inside unrelated changes, and tends to be copied with small
    edits from one call site to the next until nobody knows which version the agent runs.

    ## Example
    ```python
    resp = client.messages.create(model=MODEL, max_tokens=1024, messages=msgs, system="""You are a
    deployment assistant. Always check the environment first. Never deploy to production without
    approval. ...""")
    ```

    ## Use instead
    ```python
    DEPLOY_SYSTEM = Path("prompts/deploy_system.md").read_text()  # reviewed and unit-tested

    resp = client.messages.create(model=MODEL, max_tokens=1024, messages=msgs, system=DEPLOY_SYSTEM)
    ```

    ## Fix safety
    Unsafe, for a prompt written as a plain string at the call (no f-string, no `.format`): the
    literal moves, exactly as written, into the project's prompts module as a constant named
    after the function that sends it and where (`REVIEW_SYSTEM_PROMPT`), and the call reads the
    constant through an import. The prompts module is the nearest module the `prompt-modules`
    patterns name, in the file's folder or a package above it; when there is none, a new
    `prompts.py` beside the file. Both files are written together or neither is. It is unsafe
    because it adds an import between modules (and a file to package). The fix is not offered
    when the prompts module imports the file (the import would close a cycle) or was not
    analysed in the run. With `move-prompts-to-module = false` the constant stays in the same
    module, after its imports, and the fix is safe: the string is the same.

    ## Options
    - `inline-prompt-min-chars`: the literal size from which a prompt counts as long (default 200).
    - `prompt-modules`: module-name patterns exempt from this rule (default `prompts`,
      `*.prompts`, `*_prompts`, `prompt`, `*.prompt`); modules inside such a package are exempt too.
      The fix moves prompts into the nearest such module.
    - `move-prompts-to-module`: whether the fix moves the prompt to the prompts module (default
      true, unsafe) or into a constant of the same module (safe).

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-02-own-your-prompts.md
    '''

    meta = RuleMeta(
        code="TFA0203",
        name="inline-prompt-at-call-site",
        factor=2,
        severity="warning",
        confidence="high",
        summary="Long prompt written inline at the call site: it has no name to review or test",
        fix_advice=(
            "Move the text to a named module-level constant or a prompt file loaded by path, and "
            "give it a test."
        ),
        fix="sometimes",
    )

    fixes = [
        (
            """
import anthropic

client = anthropic.Anthropic()


def review(msgs):
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=msgs, system=\"\"\"You review pull requests for the payments service.
Check every change for missing tests, unsafe SQL and leaked secrets.
Answer with a list of findings, each with the file, the line and a one-sentence reason.
Say "no findings" when the change is fine.\"\"\")


def triage(ticket):
    return client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=512,
        messages=[{"role": "user", "content": ticket}],
        system=(
            "You triage support tickets for the billing team. Classify the ticket as "
            "refund, dispute or question, and say which team owns it and why, in one line each. "
            "Never promise a refund: the billing team decides, and says so to the customer."
        ),
    )
""",
            """
import anthropic

TRIAGE_SYSTEM_PROMPT = (
    "You triage support tickets for the billing team. Classify the ticket as "
    "refund, dispute or question, and say which team owns it and why, in one line each. "
    "Never promise a refund: the billing team decides, and says so to the customer."
)

REVIEW_SYSTEM_PROMPT = \"\"\"You review pull requests for the payments service.
Check every change for missing tests, unsafe SQL and leaked secrets.
Answer with a list of findings, each with the file, the line and a one-sentence reason.
Say "no findings" when the change is fine.\"\"\"

client = anthropic.Anthropic()


def review(msgs):
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=msgs, system=REVIEW_SYSTEM_PROMPT)


def triage(ticket):
    return client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=512,
        messages=[{"role": "user", "content": ticket}],
        system=TRIAGE_SYSTEM_PROMPT,
    )
""",
            {"move_prompts_to_module": False},
        ),

        # The project has no prompts module: one is created beside the file.
        (
            """
import anthropic

client = anthropic.Anthropic()


def review(msgs):
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=msgs, system=\"\"\"You review pull requests for the payments service.
Check every change for missing tests, unsafe SQL and leaked secrets.
Answer with a list of findings, each with the file, the line and a one-sentence reason.\"\"\")
""",
            {
                "agent.py": """
import anthropic
from prompts import REVIEW_SYSTEM_PROMPT

client = anthropic.Anthropic()


def review(msgs):
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=msgs, system=REVIEW_SYSTEM_PROMPT)
""",
                "prompts.py": '''
"""The prompts the agent sends, named so they can be reviewed and tested."""

REVIEW_SYSTEM_PROMPT = """You review pull requests for the payments service.
Check every change for missing tests, unsafe SQL and leaked secrets.
Answer with a list of findings, each with the file, the line and a one-sentence reason."""
''',
            },
        ),
        # A comment between the parts of the string moves with them: the text is kept as written.
        (
            """
import anthropic

client = anthropic.Anthropic()


def review(msgs):
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=msgs, system=(
        "You review pull requests for the payments service. Check every change for missing tests, "
        # the list the security team asked for
        "unsafe SQL and leaked secrets, and answer with a list of findings, one per line, each "
        "with the file, the line and a one-sentence reason."
    ))
""",
            {
                "agent.py": """
import anthropic
from prompts import REVIEW_SYSTEM_PROMPT

client = anthropic.Anthropic()


def review(msgs):
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=msgs, system=REVIEW_SYSTEM_PROMPT)
""",
                "prompts.py": '''
"""The prompts the agent sends, named so they can be reviewed and tested."""

REVIEW_SYSTEM_PROMPT = (
    "You review pull requests for the payments service. Check every change for missing tests, "
    # the list the security team asked for
    "unsafe SQL and leaked secrets, and answer with a list of findings, one per line, each "
    "with the file, the line and a one-sentence reason."
)
''',
            },
        ),
        # The package above has a prompts module, which holds the name already: the constant
        # gets a free one, and both files change together.
        (
            {
                "app/__init__.py": "",
                "app/prompts.py": '''
REVIEW_SYSTEM_PROMPT = "You review code."
''',
                "app/agents/__init__.py": "",
                "app/agents/review.py": """
\"\"\"The review agent.\"\"\"
from openai import OpenAI

client = OpenAI()


def review(diff):
    return client.chat.completions.create(
        model="gpt-4.1",
        messages=[
            {
                "role": "system",
                "content": (
                    "You review pull requests for the payments service. Check every change "
                    "for missing tests, unsafe SQL and leaked secrets, and answer with a list "
                    "of findings, each with the file, the line and a one-sentence reason."
                ),
            },
            {"role": "user", "content": diff},
        ],
    )
""",
            },
            {
                "app/prompts.py": '''
REVIEW_SYSTEM_PROMPT = "You review code."

REVIEW_MESSAGES_SYSTEM_PROMPT = (
    "You review pull requests for the payments service. Check every change "
    "for missing tests, unsafe SQL and leaked secrets, and answer with a list "
    "of findings, each with the file, the line and a one-sentence reason."
)
''',
                "app/agents/review.py": """
\"\"\"The review agent.\"\"\"
from openai import OpenAI
from app.prompts import REVIEW_MESSAGES_SYSTEM_PROMPT

client = OpenAI()


def review(diff):
    return client.chat.completions.create(
        model="gpt-4.1",
        messages=[
            {
                "role": "system",
                "content": REVIEW_MESSAGES_SYSTEM_PROMPT,
            },
            {"role": "user", "content": diff},
        ],
    )
""",
            },
        ),
    ]

    invalid = [
        '''
import anthropic

client = anthropic.Anthropic()

def deploy(msgs):
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=msgs, system="""  # expect: TFA0203 @101-10:4 | Prompt written inline at `system=` (325 characters): give it a name (a module-level constant or a prompt file) so it can be reviewed and tested.
You are a deployment assistant for the platform team.
Always check the environment first.
Never deploy to production without an approval from a human.
""")
''',
        # An aliased module, a client kept on self, a long instruction in a user message.
        '''
import anthropic as ant

class Triage:
    def __init__(self):
        self.client = ant.Anthropic()

    def run(self, ticket):
        return self.client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=512,
            messages=[
                {
                    "role": "user",
                    "content": (
                        "You triage support tickets for the billing team. Classify the ticket as "  # expect: TFA0203 @25-17:101 | Prompt written inline at `messages[user]` (221 characters): give it a name (a module-level constant or a prompt file) so it can be reviewed and tested.
                        "refund, invoice, plan change or other, quote the sentence that decided it, "
                        "and never promise a refund: only a human approves refunds. Ticket follows."
                    ),
                },
                {"role": "user", "content": ticket},
            ],
        )
''',
        '''
from openai import OpenAI as Client

client = Client()

def answer(question):
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You answer questions about our API.\\nCite the docs page.\\nSay 'I don't know' when unsure."},  # expect: TFA0203 @43-134 | Prompt written inline at `messages[system]` (3 lines): give it a name (a module-level constant or a prompt file) so it can be reviewed and tested.
            {"role": "user", "content": question},
        ],
    )
''',
        '''
from langchain_core.prompts import ChatPromptTemplate

prompt = ChatPromptTemplate.from_messages([
    ("system", """You are a careful SQL analyst.  # expect: TFA0203 @16-6:31 | Prompt written inline at `from_messages[system]` (277 characters): give it a name (a module-level constant or a prompt file) so it can be reviewed and tested.
Only write SELECT statements.
Explain every join you use."""),
    ("human", "{question}"),
])
''',
        # A wrapped literal is still inline: textwrap.dedent(...).format(...).
        '''
import textwrap
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o")

def review(diff):
    return llm.invoke(textwrap.dedent(  # expect: TFA0203 @23-14:24 | Prompt written inline at the prompt argument (4 lines): give it a name (a module-level constant or a prompt file) so it can be reviewed and tested.
        """
        You review code diffs for security problems.
        Report each problem with the file and line.
        Diff:
        {diff}
        """
    ).format(diff=diff))
''',
        # A client imported from another module of the project.
        {
            "llm.py": """
from openai import OpenAI

client = OpenAI()
""",
            "agent.py": '''
from llm import client

def plan(goal):
    return client.responses.create(
        model="gpt-4.1",
        instructions="""You plan the next step of a deployment.  # expect: TFA0203 @22-8:34 | Prompt written inline at `instructions=` (278 characters): give it a name (a module-level constant or a prompt file) so it can be reviewed and tested.
Return one step at a time.
Stop when the goal is reached.""",
        input=goal,
    )
''',
        },
        # A long prompt kept in a local of the function that sends it.
        '''
from openai import OpenAI
client = OpenAI()

def chat(report, question):
    system_prompt = f"""You answer questions about a research report.  # expect: TFA0203 @21-17:8 | Prompt written inline at `messages[system]` (1113 characters): give it a name (a module-level constant or a prompt file) so it can be reviewed and tested.
    Rule 1: keep the answer grounded in the report and cite the section it comes from.
    Rule 2: keep the answer grounded in the report and cite the section it comes from.
    Rule 3: keep the answer grounded in the report and cite the section it comes from.
    Rule 4: keep the answer grounded in the report and cite the section it comes from.
    Rule 5: keep the answer grounded in the report and cite the section it comes from.
    Rule 6: keep the answer grounded in the report and cite the section it comes from.
    Rule 7: keep the answer grounded in the report and cite the section it comes from.
    Rule 8: keep the answer grounded in the report and cite the section it comes from.
    Rule 9: keep the answer grounded in the report and cite the section it comes from.
    Rule 10: keep the answer grounded in the report and cite the section it comes from.
    Report: {report}
    """
    messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": question}]
    return client.chat.completions.create(model="m", messages=messages)
''',
        # Messages handed to the project's own wrapper of another file.
        {
            "llm.py": '''
from openai import OpenAI
client = OpenAI()

def complete(messages):
    return client.chat.completions.create(model="m", messages=messages).choices[0].message.content
''',
            "agent.py": '''
from llm import complete

def plan_images(query, context):
    return complete(messages=[
        {"role": "user", "content": f"""Identify the concepts of this research that need a diagram.  # expect: TFA0203 @37-17:26 | Prompt written inline at `messages=[user]` (1140 characters): give it a name (a module-level constant or a prompt file) so it can be reviewed and tested.
    Rule 1: keep the answer grounded in the report and cite the section it comes from.
    Rule 2: keep the answer grounded in the report and cite the section it comes from.
    Rule 3: keep the answer grounded in the report and cite the section it comes from.
    Rule 4: keep the answer grounded in the report and cite the section it comes from.
    Rule 5: keep the answer grounded in the report and cite the section it comes from.
    Rule 6: keep the answer grounded in the report and cite the section it comes from.
    Rule 7: keep the answer grounded in the report and cite the section it comes from.
    Rule 8: keep the answer grounded in the report and cite the section it comes from.
    Rule 9: keep the answer grounded in the report and cite the section it comes from.
    Rule 10: keep the answer grounded in the report and cite the section it comes from.
    Query: {query}
    Context: {context}"""},
    ])
''',
        },
    ]
    valid = [
        '''
import anthropic

SYSTEM = """You are a deployment assistant for the platform team.
Always check the environment first.
Never deploy to production without an approval from a human.
"""
client = anthropic.Anthropic()

def deploy(msgs):
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=msgs, system=SYSTEM)
''',
        '''
from pathlib import Path
from openai import OpenAI

client = OpenAI()

def answer(question):
    return client.responses.create(
        model="gpt-4.1", instructions=Path("prompts/answer.md").read_text(), input=question
    )
''',
        # A module whose purpose is to hold prompts.
        {
            "prompts.py": '''
from langchain_core.messages import SystemMessage

TRIAGE = SystemMessage(content="""You triage support tickets.
Classify them as refund, invoice or other.
Never promise a refund.""")
''',
            "agent.py": """
from prompts import TRIAGE
""",
        },
        # The prompt lives in baml_src/*.baml; the argument is data.
        '''
from baml_client import b

def extract(resume_text):
    return b.ExtractResume("""Jane Doe
Senior engineer, ten years of Python.
Led the payments platform migration.""")
''',
    ]
    near_miss = [
        # A short prompt kept in a local, or handed to a wrapper: only a long one is reported there.
        {
            "llm.py": '''
from openai import OpenAI
client = OpenAI()

def complete(messages):
    return client.chat.completions.create(model="m", messages=messages).choices[0].message.content
''',
            "agent.py": '''
from llm import complete

def plan(query, context, depth, breadth, goals, learnings, sources, questions, notes):
    return complete(messages=[
        {"role": "user", "content": f"""Plan the next research step.
Query: {query}
Context: {context}
Depth: {depth}
Breadth: {breadth}
Goals: {goals}
Learnings: {learnings}
Sources: {sources}
Questions: {questions}
Notes: {notes}
Answer with one question per line."""},
    ])
''',
        },
        '''
from openai import OpenAI
client = OpenAI()

def summarize(text):
    prompt = f"""Summarize the text below in three bullet points.
    Keep each bullet under twenty words.
    Text: {text}"""
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}])
''',
        # A framework field that is the user's own prompt text: owned, whatever its length.
        '''
from crewai import Agent

analyst = Agent(
    role="Analyst",
    goal="Find churn drivers",
    backstory=(
        "A veteran data scientist who has spent ten years in subscription businesses, distrusts "
        "vanity metrics, always segments by cohort before drawing conclusions, and writes short "
        "reports that a busy executive can read in two minutes."
    ),
    system_template=SYSTEM_TEMPLATE,
)
''',
        # A short user message with an interpolated document.
        """
from openai import OpenAI

client = OpenAI()

def summarise(doc):
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"Summarise: {doc}"}]
    )
""",
        # A long string handed to a function that is not a model call.
        """
import logging

logger = logging.getLogger(__name__)
logger.info(
    "Starting the nightly reconciliation job for every billing account in every region; this "
    "can take several minutes and will page the on-call engineer if any account fails to "
    "reconcile after three attempts, so keep an eye on the dashboard."
)
""",
        # A module of the project whose `client` turns out not to be a model client.
        {
            "store.py": """
client = make_database_client()
""",
            "jobs.py": '''
from store import client

def archive(ticket):
    return client.messages.create(ticket=ticket, system="""archived by the nightly job
reason: inactive for 90 days
owner: billing""")
''',
        },
        # Embeddings are not a prompt.
        """
from openai import OpenAI

client = OpenAI()
vec = client.embeddings.create(model="text-embedding-3-small", input="line one\\nline two\\nline three")
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        # id(value node) -> (site, requires, the function or class it is in): a site certain
        # from one call wins over the same site seen only through a candidate model call.
        self._found: dict[int, tuple[PromptSite, tuple[str, ...], str]] = {}

    @functools.cached_property
    def _exempt(self) -> bool:
        patterns = tuple(getattr(self.settings, "prompt_modules", ()) or ())
        parts = self.ctx.module_name.split(".")
        prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
        return any(fnmatch.fnmatchcase(name, p) for name in prefixes for p in patterns)

    def visit_Call(self, node: cst.Call) -> None:
        if self._exempt:
            return
        min_chars = self.settings.inline_prompt_min_chars
        for site, requires in self._sites(node):
            if not is_inline_prompt(site, min_chars):
                continue
            known = self._found.get(id(site.node))
            if known is None or (known[1] and not requires):
                self._found[id(site.node)] = (site, requires, self._owner())

    def _owner(self) -> str:
        """The name of the function (else the class) the walk is in: the constant's prefix."""
        if self.ctx.function_stack:
            return self.ctx.function_stack[-1].name.value
        return self.ctx.class_stack[-1].name.value if self.ctx.class_stack else ""

    def _sites(self, node: cst.Call) -> list[tuple[PromptSite, tuple[str, ...]]]:
        llm = self.ctx.recognise.llm_call(node)
        if llm is not None and llm.spec is not None:
            return [(s, llm.requires) for s in call_prompt_sites(self.ctx, node, llm.spec)]
        if llm is not None and not llm.certain:
            # The project's own wrapper; the project pass confirms it reaches a model.
            return [(s, llm.requires) for s in wrapper_message_sites(self.ctx, node)]
        if self.ctx.recognise.agent_construct(node) is not None:
            # A framework field that is the user's own prompt (CrewAI's backstory, an agent's
            # instructions) is owned already: docs/violations.md, factor 2.
            return []
        return [(s, ()) for s in builder_sites(self.ctx, node)]

    def leave_Module(self, node: cst.Module) -> None:
        min_chars = self.settings.inline_prompt_min_chars
        taken = {name.value for name in find_all(node, cst.Name)} if self._found else set()
        for site, requires, owner in self._found.values():
            long = site.text_chars >= LONG_PROMPT_CHARS or site.text_lines >= LONG_PROMPT_LINES
            if not site.at_call and site.text_chars < LONG_PROMPT_CHARS:
                # A prompt kept in a local or handed to a wrapper is already apart from the call;
                # only a long body of instructions (not a few sentences around data slots, one
                # per line) is the violation there.
                continue
            size = f"{site.text_chars} characters" if site.text_chars >= min_chars else (
                f"{site.text_lines} lines"
            )
            where = f"`{site.where}`" if any(c in site.where for c in "=[(") else (
                f"the {site.where} argument"
            )
            self.report(
                site.node,
                f"Prompt written inline at {where} ({size}): give it a name "
                "(a module-level constant or a prompt file) so it can be reviewed and tested.",
                fix=self._named(site, owner, taken),
                requires_llm=requires,
                # About ten lines or more of instructions in control code is the violation the
                # definition names; a shorter paragraph is a weakness worth a look.
                severity="warning" if long else "advice",
            )
        self._found.clear()

    def _named(self, site: PromptSite, owner: str, taken: set[str]) -> CodeFix | None:
        """The literal moved, as written, into a constant named after the function it was sent
        from and where (``REVIEW_SYSTEM_PROMPT``), and the call reading the constant: in the
        project's prompts module (unsafe: two files), or in the same module (safe)."""
        literal = site.node
        if not site.at_call or not _plain_literal(literal):
            return None
        where = re.sub(r"[^A-Za-z0-9]+", "_", site.where).strip("_").upper() or "PROMPT"
        stem = where if where.endswith("PROMPT") else f"{where}_PROMPT"
        prefix = re.sub(r"[^A-Za-z0-9]+", "_", owner).strip("_").upper()
        base = f"{prefix}_{stem}" if prefix else stem
        name, number = base, 2
        while name in taken:
            name, number = f"{base}_{number}", number + 1
        taken.add(name)
        value = _as_constant(literal, self.ctx.code_for(literal))
        edit = replace_whole(literal, name)  # the call is left reading the bare name
        if self.settings.move_prompts_to_module and not self.ctx.path.endswith(".ipynb"):
            return CodeFix((edit,), unsafe=True, moves=((name, value),))
        return CodeFix((edit,), preamble=(f"\n{name} = {value}",))


def _as_constant(literal: cst.BaseExpression, code: str) -> str:
    """The literal's text as the value of a module-level constant: a string as written; plain
    strings side by side, one per line inside parentheses indented by four spaces (the same
    string), unless a comment sits between them (then as written, in parentheses)."""
    if isinstance(literal, cst.SimpleString) and not literal.lpar:
        return code
    parts = list(_parts(literal))
    if isinstance(literal, cst.ConcatenatedString) and not _has_comment(code) and all(
        "\n" not in part.value for part in parts
    ):
        return "(\n" + "".join(f"    {part.value}\n" for part in parts) + ")"
    return code if literal.lpar else f"(\n    {code}\n)"


def _has_comment(code: str) -> bool:
    """Whether a comment sits in an expression's text (between the parts of a concatenated
    string, or inside its parentheses): read from its tokens, parenthesised so that a
    concatenation over several lines reads as one."""
    if "#" not in code:
        return False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(f"({code})").readline))
    except (tokenize.TokenError, SyntaxError):
        return True  # unsure: keep the text as written
    return any(token.type == tokenize.COMMENT for token in tokens)


def _parts(node: cst.BaseExpression):
    if isinstance(node, cst.ConcatenatedString):
        yield from _parts(node.left)
        yield from _parts(node.right)
    elif isinstance(node, cst.SimpleString):
        yield node


def _plain_literal(node: cst.CSTNode) -> bool:
    """A string with nothing computed in it: plain, or plain strings written side by side."""
    if isinstance(node, cst.SimpleString):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return _plain_literal(node.left) and _plain_literal(node.right)
    return False
