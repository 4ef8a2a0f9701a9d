"""Model access for the support agent: the OpenAI client, typed next steps and the LLM wrappers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal, Union

import openai
from openai import OpenAI
from pydantic import BaseModel, Field, TypeAdapter
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random_exponential

from prompts import SUMMARY_PROMPT, TRIAGE_SYSTEM_PROMPT

if TYPE_CHECKING:
    from state import Thread

MODEL = "gpt-4o-mini"
client = OpenAI()


class LookupOrder(BaseModel):
    """Fetch an order by its public id (e.g. ORD-10423)."""

    intent: Literal["lookup_order"] = "lookup_order"
    order_id: str


class SearchHelpCenter(BaseModel):
    """Search help-center articles by free text."""

    intent: Literal["search_help_center"] = "search_help_center"
    query: str


class EscalateToHuman(BaseModel):
    """Hand the ticket to a human agent with a short reason."""

    intent: Literal["escalate_to_human"] = "escalate_to_human"
    reason: str


class DoneForNow(BaseModel):
    """Reply to the customer and stop."""

    intent: Literal["done_for_now"] = "done_for_now"
    message: str


NextStep = Union[LookupOrder, SearchHelpCenter, EscalateToHuman, DoneForNow]
_NEXT_STEP = TypeAdapter(NextStep)
TOOL_SCHEMAS = [
    openai.pydantic_function_tool(model, name=model.model_fields["intent"].default)
    for model in (LookupOrder, SearchHelpCenter, EscalateToHuman, DoneForNow)
]


@retry(wait=wait_exponential(multiplier=1, min=2, max=60))
def determine_next_step(thread: Thread) -> NextStep:
    """Ask the model which tool to call next, given everything that happened on the ticket."""
    response = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": TRIAGE_SYSTEM_PROMPT},
            {"role": "user", "content": thread.to_prompt()},
        ],
        tools=TOOL_SCHEMAS,
        tool_choice="required",
        temperature=0,
    )
    call = response.choices[0].message.tool_calls[0]
    payload = {"intent": call.function.name, **json.loads(call.function.arguments)}
    return _NEXT_STEP.validate_python(payload)


@retry(
    stop=stop_after_attempt(3),
    wait=wait_random_exponential(min=1, max=20),
    retry=retry_if_exception_type((openai.RateLimitError, openai.APITimeoutError)),
    reraise=True,
)
def summarize_ticket(transcript: str) -> str:
    """Two-sentence summary of a ticket transcript, used in hand-off notes to human agents."""
    response = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": SUMMARY_PROMPT},
            {"role": "user", "content": transcript},
        ],
        max_tokens=200,
    )
    return response.choices[0].message.content or ""
