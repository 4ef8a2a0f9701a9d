from __future__ import annotations

from factorlint.checks.base import RuleMeta
from factorlint.checks.security._common import TaintRule, chosen_source, sentence
from factorlint.engine.taint.analyser import SinkFinding

_UNTRUSTED = ("web", "tool_arg", "model")


class UntrustedTextInSystemPrompt(TaintRule):
    """## What it does
    Finds untrusted text placed in a system prompt: a web response (`requests.get(...).text`,
    `httpx`), a tool function's argument or another model's reply, interpolated into `system=`,
    `instructions=`, `system_prompt=`, `system_message=`, a `{"role": "system"}` message or a
    `SystemMessage(...)`.

    ## Why is this bad?
    Models give the system prompt the most authority. Text from a web page or a tool result is
    written by someone else, and anything it says ("ignore previous instructions...") then
    speaks with your authority: prompt injection (OWASP LLM01). Factor 2 asks you to own your
    prompts; keep what you do not own in clearly delimited user or tool messages.

    ## Example
    ```python
    page = requests.get(url, timeout=10).text
    client.messages.create(model=MODEL, max_tokens=1024, system=f"Answer from this page:\\n{page}",
                           messages=[{"role": "user", "content": question}])
    ```

    ## Use instead
    ```python
    client.messages.create(model=MODEL, max_tokens=1024, system=ANSWER_FROM_DOCUMENT,
                           messages=[{"role": "user",
                                      "content": f"<document>{page}</document>\\n{question}"}])
    ```

    ## Fix safety
    No automatic fix: moving text between messages changes the prompt.

    ## Options
    None. This rule is opt-in (low confidence): `--select TFS008`.

    ## References
    - https://genai.owasp.org/llmrisk/llm012025-prompt-injection/
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-02-own-your-prompts.md
    """

    meta = RuleMeta(
        code="TFS008",
        name="untrusted-text-in-system-prompt",
        factor=None,
        severity="advice",
        confidence="low",
        summary="Untrusted text is placed in a system prompt",
        fix_advice=(
            "Keep the system prompt to text you own; put fetched pages, tool results and other "
            "models' replies in a delimited user or tool message."
        ),
    )
    kind = "system_prompt"

    invalid = [
        """
import requests
import anthropic

client = anthropic.Anthropic()

def answer(url, question):
    page = requests.get(url, timeout=10).text
    return client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        system=f"Answer only from this page:\\n{page}",  # expect: TFS008 @16-54 | The response of `requests.get` is placed in `system=`: text you do not own speaks with the system prompt's authority
        messages=[{"role": "user", "content": question}],
    )
""",
        # A tool argument becomes the system message of a sub-agent's call.
        """
from openai import OpenAI
from langchain_core.tools import tool

client = OpenAI()

@tool
def delegate(persona: str, task: str) -> str:
    \"\"\"Ask a specialist.\"\"\"
    messages = [
        {"role": "system", "content": "You are " + persona},  # expect: TFS008 @39-59 | The tool argument `persona` is placed in a `system` message: text you do not own speaks with the system prompt's authority
        {"role": "user", "content": task},
    ]
    return client.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message.content
""",
        # One model's reply becomes another agent's instructions.
        """
import httpx
from agents import Agent
from openai import OpenAI

client = OpenAI()

def build_agent(topic):
    brief = client.responses.create(model="gpt-4o", input=f"Write a persona for {topic}").output_text
    return Agent(name="writer", instructions=brief)  # expect: TFS008 @46-51 | The reply of `client.responses.create` is placed in `instructions=`: text you do not own speaks with the system prompt's authority
""",
    ]
    valid = [
        # Fetched text goes to the user message, inside delimiters.
        """
import requests
import anthropic

client = anthropic.Anthropic()
SYSTEM = "Answer only from the document in the user message."

def answer(url, question):
    page = requests.get(url, timeout=10).text
    return client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        system=SYSTEM,
        messages=[{"role": "user", "content": f"<document>{page}</document>\\n{question}"}],
    )
""",
        # A system prompt built from the program's own settings.
        """
from openai import OpenAI

client = OpenAI()

def chat(user_name: str, messages: list):
    system = {"role": "system", "content": f"Today is Monday. Be brief."}
    return client.chat.completions.create(model="gpt-4o", messages=[system, *messages])
""",
        """
from langchain_core.messages import SystemMessage, HumanMessage
from langchain_openai import ChatOpenAI
import requests

llm = ChatOpenAI(model="gpt-4o")

def summarise(url):
    page = requests.get(url, timeout=10).text
    return llm.invoke([SystemMessage(content="Summarise the user's page."), HumanMessage(content=page)])
""",
    ]
    near_miss = [
        # A prompt file the program owns, read from disk.
        """
from pathlib import Path
from openai import OpenAI

client = OpenAI()

def chat(messages):
    system = Path("prompts/system.md").read_text()
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": system}, *messages])
""",
        # A parameter of an ordinary function (not a tool): the caller owns it.
        """
from openai import OpenAI

client = OpenAI()

def chat(system_prompt, messages):
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": system_prompt}, *messages])
""",
        # Fetched text in a user message, not a system one.
        """
import httpx
from openai import OpenAI

client = OpenAI()

def summarise(url):
    page = httpx.get(url).text
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": page}])
""",
    ]

    needs = frozenset({"prompt_taint"})

    def check(self, finding: SinkFinding) -> None:
        chosen = chosen_source(finding, _UNTRUSTED, self.ctx.module_name)
        if chosen is None:
            return
        source, requires = chosen
        self.report(
            finding.node,
            f"{sentence(source.label)} is placed in {finding.label}: text "
            "you do not own speaks with the system prompt's authority",
            requires_llm=requires,
        )
