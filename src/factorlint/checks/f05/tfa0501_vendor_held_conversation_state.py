from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.recognisers import keyword_arg


def _is_off(value: cst.BaseExpression) -> bool:
    """``None`` / ``False``: the keyword is present but asks for nothing."""
    return isinstance(value, cst.Name) and value.value in ("None", "False")


class VendorHeldConversationState(Rule):
    """## What it does
    Finds model calls that keep the conversation on the vendor's servers: the OpenAI Responses API
    chained with `previous_response_id=` or tied to a stored `conversation=`,
    `litellm.responses(previous_response_id=...)`, the OpenAI Agents SDK's
    `Runner.run(previous_response_id=... / conversation_id=...)` and its
    `OpenAIConversationsSession`.

    ## Why is this bad?
    Factor 5 (unify execution state and business state) asks for one source of truth that you
    own: the thread of events. When the history lives behind a response id, your application no
    longer holds the record of what the agent did. You cannot read it back for a resume, replay or
    fork it, show it to a reviewer, trim it, or move the agent to another model; and the vendor
    keeps stored responses for a limited time. Vendor-side chaining is fine as a cache next to
    your own thread, not as the only record.

    ## Example
    ```python
    r = client.responses.create(model=M, input=user_msg, previous_response_id=session["last_id"])
    session["last_id"] = r.id
    ```

    ## Use instead
    ```python
    thread = store.load(thread_id)
    thread.append(Event("user_message", user_msg))
    r = client.responses.create(model=M, input=render(thread), store=False)
    thread.append(Event("assistant", r.output_text))
    store.save(thread_id, thread)
    ```

    ## Fix safety
    No automatic fix: moving the history into your own store is a design change.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-05-unify-execution-state.md
    """

    meta = RuleMeta(
        code="TFA0501",
        name="vendor-held-conversation-state",
        factor=5,
        severity="warning",
        confidence="high",
        summary="The conversation is kept on the vendor's servers, not in a thread you own",
        fix_advice=(
            "Keep the history in your own thread (a list of events you store and load by id) and "
            "send it as `input=`; use vendor-side chaining at most as a cache, not as the record."
        ),
    )

    invalid = [
        """
from openai import OpenAI
client = OpenAI()

def reply(session, user_msg):
    r = client.responses.create(  # expect: TFA0501 @9-7:6 | `responses.create(..., previous_response_id=...)` keeps the conversation on the vendor's servers: your application does not hold the record of the run
        model="gpt-4.1", input=user_msg, previous_response_id=session["last_id"]
    )
    session["last_id"] = r.id
    return r.output_text
""",
        """
from openai import AsyncOpenAI
client = AsyncOpenAI()

async def reply(conversation_id, text):
    r = await client.responses.create(model="gpt-4.1", input=text, conversation=conversation_id)  # expect: TFA0501 @15-97 | `responses.create(..., conversation=...)` keeps the conversation on the vendor's servers: your application does not hold the record of the run
    return r.output_text
""",
        """
import litellm

def reply(last_id, text):
    return litellm.responses(model="openai/gpt-4.1", input=text, previous_response_id=last_id)  # expect: TFA0501 @12-95 | `litellm.responses(..., previous_response_id=...)` keeps the conversation on the vendor's servers: your application does not hold the record of the run
""",
        """
from agents import Agent, Runner, OpenAIConversationsSession

agent = Agent(name="support", instructions="Help the customer.")

async def turn(text, last_id):
    result = await Runner.run(agent, text, previous_response_id=last_id)  # expect: TFA0501 @20-73 | `Runner.run(..., previous_response_id=...)` keeps the conversation on the vendor's servers: your application does not hold the record of the run
    session = OpenAIConversationsSession()  # expect: TFA0501 @15-43 | `OpenAIConversationsSession` keeps the conversation in the vendor's Conversations store: the record of the run is not in a thread you own
    return await Runner.run(agent, text, session=session)
""",
    ]
    valid = [
        # The application sends its own history and asks OpenAI not to store anything.
        """
from openai import OpenAI
client = OpenAI()

def reply(thread, user_msg):
    thread.append({"role": "user", "content": user_msg})
    r = client.responses.create(model="gpt-4.1", input=thread, store=False)
    thread.append({"role": "assistant", "content": r.output_text})
    return thread
""",
        # A persistent session the application owns.
        """
from agents import Agent, Runner, SQLiteSession

agent = Agent(name="support", instructions="Help the customer.")

async def turn(user_id, text):
    session = SQLiteSession(user_id, "conversations.db")
    return await Runner.run(agent, text, session=session)
""",
        # Explicitly no chaining.
        """
from openai import OpenAI
client = OpenAI()

def first_turn(text):
    return client.responses.create(model="gpt-4.1", input=text, previous_response_id=None)
""",
    ]
    near_miss = [
        # Chat Completions have no vendor-side state: `conversation` is just a variable name here.
        """
from openai import OpenAI
client = OpenAI()

def reply(conversation):
    return client.chat.completions.create(model="gpt-4o", messages=conversation)
""",
        # A project function that happens to take the same keyword.
        """
def responses(previous_response_id=None, **kw):
    return previous_response_id

responses(previous_response_id="abc")
""",
        # auto_previous_response_id switched off.
        """
from agents import Agent, Runner

agent = Agent(name="a", instructions="x")
Runner.run_sync(agent, "hi", auto_previous_response_id=False)
""",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        llm = self.ctx.recognise.llm_call(node)
        if llm is not None and llm.spec is not None and llm.spec.state_keywords:
            keyword = self._state_keyword(node, llm.spec.state_keywords)
            if keyword is not None:
                self._report(node, llm.qualname, keyword, llm.requires)
            return
        qualname = self.ctx.qualname(node.func)
        if qualname is None:
            return
        found = self.ctx.knowledge.handoff_functions.first(qualname)
        if found is not None and found[1].state_keywords:
            keyword = self._state_keyword(node, found[1].state_keywords)
            if keyword is not None:
                self._report(node, qualname, keyword, ())
            return
        if any(c.role == "vendor_state" for c in self.ctx.knowledge.components.get(qualname)):
            name = qualname.rsplit(".", 1)[-1]
            self.report(
                node,
                f"`{name}` keeps the conversation in the vendor's Conversations store: the record of "
                "the run is not in a thread you own",
                fix_message=(
                    "Use a session you own (SQLiteSession with a file path, SQLAlchemySession, "
                    "RedisSession) or keep the history in your own thread."
                ),
            )

    @staticmethod
    def _state_keyword(node: cst.Call, keywords: list[str]) -> str | None:
        for keyword in keywords:
            arg = keyword_arg(node, keyword)
            if arg is not None and not _is_off(arg.value):
                return keyword
        return None

    def _report(self, node: cst.Call, qualname: str, keyword: str, requires: tuple[str, ...]) -> None:
        call = ".".join(qualname.replace("()", "").split(".")[-2:])
        self.report(
            node,
            f"`{call}(..., {keyword}=...)` keeps the conversation on the vendor's servers: your "
            "application does not hold the record of the run",
            requires_llm=requires,
        )
