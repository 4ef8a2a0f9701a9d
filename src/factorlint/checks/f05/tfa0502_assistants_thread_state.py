from __future__ import annotations

import fnmatch

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta


class AssistantsThreadState(Rule):
    """## What it does
    Finds calls that write the conversation into a thread the vendor keeps: the OpenAI Assistants
    API's `client.beta.threads.create(...)`, `client.beta.threads.messages.create(...)` and
    `client.beta.threads.create_and_run(...)` (and their `_poll` / `_stream` variants).

    ## Why is this bad?
    Factor 5 (unify execution state and business state) asks you to own the thread of events the
    agent works from. With the Assistants API the messages, the runs and their status live in an
    OpenAI thread; your application keeps only its id. To resume, audit or replay a run you must
    ask the vendor for your own history, and the execution state (queued, requires_action) is
    theirs as well. The Assistants API is also deprecated in favour of the Responses API, so the
    record of every conversation is tied to an API that is going away.

    ## Example
    ```python
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content=question)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=ASSISTANT)
    ```

    ## Use instead
    ```python
    thread = store.load(thread_id)
    thread.append(Event("user_message", question))
    r = client.responses.create(model=M, instructions=PROMPT, input=render(thread), store=False)
    thread.append(Event("assistant", r.output_text))
    store.save(thread_id, thread)
    ```

    ## Fix safety
    No automatic fix: moving off the Assistants API changes how the agent runs.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-05-unify-execution-state.md
    - openai-python `src/openai/resources/beta/threads/runs/runs.py`: "The Assistants API is
      deprecated in favor of the Responses API"
    """

    meta = RuleMeta(
        code="TFA0502",
        name="assistants-thread-state",
        factor=5,
        severity="warning",
        confidence="high",
        summary="The conversation is written into a vendor-held Assistants thread",
        fix_advice=(
            "Keep the conversation in a thread you store yourself and call a stateless API "
            "(Responses with `store=False`, or Chat Completions) with it; keep only your own ids."
        ),
    )

    invalid = [
        """
from openai import OpenAI
client = OpenAI()

def ask(question, assistant_id):
    thread = client.beta.threads.create()  # expect: TFA0502 @14-42 | `beta.threads.create` writes the conversation into an OpenAI Assistants thread: the vendor holds the record of the run (and the Assistants API is deprecated)
    client.beta.threads.messages.create(thread.id, role="user", content=question)  # expect: TFA0502 @5-82 | `beta.threads.messages.create` writes the conversation into an OpenAI Assistants thread: the vendor holds the record of the run (and the Assistants API is deprecated)
    return client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
""",
        """
import openai

def start(assistant_id, text):
    return openai.beta.threads.create_and_run(  # expect: TFA0502 @12-7:6 | `beta.threads.create_and_run` writes the conversation into an OpenAI Assistants thread: the vendor holds the record of the run (and the Assistants API is deprecated)
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": text}]},
    )
""",
        """
from openai import AsyncAzureOpenAI

class Support:
    def __init__(self):
        self.client = AsyncAzureOpenAI()

    async def add(self, thread_id, text):
        await self.client.beta.threads.messages.create(thread_id=thread_id, role="user", content=text)  # expect: TFA0502 @15-103 | `beta.threads.messages.create` writes the conversation into an OpenAI Assistants thread: the vendor holds the record of the run (and the Assistants API is deprecated)
""",
    ]
    valid = [
        # The application owns the thread and sends it each time.
        """
from openai import OpenAI
client = OpenAI()

def ask(thread, question):
    thread.append({"role": "user", "content": question})
    r = client.responses.create(model="gpt-4.1", input=thread, store=False)
    thread.append({"role": "assistant", "content": r.output_text})
    return thread
""",
        # Reading back an existing thread (e.g. during a migration) writes nothing new.
        """
from openai import OpenAI
client = OpenAI()

def export(thread_id):
    return [m.content for m in client.beta.threads.messages.list(thread_id)]
""",
        """
from openai import OpenAI
client = OpenAI()

def cleanup(thread_id):
    client.beta.threads.delete(thread_id)
""",
    ]
    near_miss = [
        # A project object with the same attribute path.
        """
class Beta:
    class threads:
        @staticmethod
        def create():
            return {}

beta = Beta()
beta.threads.create()
""",
        # A forum client: "threads" of another API.
        """
import discord

async def open_thread(channel):
    return await channel.create_thread(name="support")
""",
        # An unknown receiver named like a client.
        """
def start(client):
    return client.beta.threads.create()
""",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        qualname = self.ctx.qualname(node.func)
        if qualname is None:
            return
        member = self._vendor_state_member(qualname)
        if member is not None:
            self.report(
                node,
                f"`{member}` writes the conversation into an OpenAI Assistants thread: the vendor "
                "holds the record of the run (and the Assistants API is deprecated)",
            )

    def _vendor_state_member(self, qualname: str) -> str | None:
        knowledge = self.ctx.knowledge
        if "()." in qualname:
            receiver, member = qualname.split("().", 1)
            client = knowledge.client_constructors.first(receiver) or knowledge.client_factories.first(receiver)
        else:
            client, member = None, ""
            for module, spec in knowledge.client_modules.items():
                if qualname.startswith(module + "."):
                    client, member = spec, qualname[len(module) + 1:]
                    break
        if client is None or "()" in member:
            return None
        if any(fnmatch.fnmatchcase(member, pattern) for pattern in client.vendor_state_methods):
            return member
        return None
