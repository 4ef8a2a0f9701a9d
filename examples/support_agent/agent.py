"""The ticket-resolution agent: tools, the two agent loops and the apology-email drafter."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from llm import MODEL, DoneForNow, EscalateToHuman, NextStep, client, determine_next_step, summarize_ticket
from prompts import render_escalation_note
from state import Event, Thread, save_thread

logger = logging.getLogger(__name__)

ORDERS_API = "https://orders.internal.parcelly.example/v2/orders"
HELP_CENTER_API = "https://help.parcelly.example/api/search"
MAX_STEPS = 8
MAX_CONSECUTIVE_ERRORS = 3


class ToolError(Exception):
    """A tool failed in a way the model may be able to work around."""


def lookup_order(order_id: str) -> dict[str, Any]:
    """Status, carrier and ETA of one order, projected to what the model needs."""
    response = httpx.get(ORDERS_API, params={"id": order_id}, timeout=10)
    if response.status_code == 404:
        raise ToolError(f"no order with id {order_id!r}")
    response.raise_for_status()
    order = response.json()
    return {"status": order["status"], "carrier": order.get("carrier"), "eta": order.get("eta")}


def search_help_center(query: str) -> list[dict[str, str]]:
    """Top three help-center articles for a query (title and URL only)."""
    response = httpx.get(HELP_CENTER_API, params={"q": query, "limit": 3}, timeout=10)
    response.raise_for_status()
    return [{"title": hit["title"], "url": hit["url"]} for hit in response.json()["hits"]]


def execute_tool(step: NextStep) -> Any:
    """Run the tool a step names; unknown intents are an error the caller must handle."""
    match step.intent:
        case "lookup_order":
            return lookup_order(step.order_id)
        case "search_help_center":
            return search_help_center(step.query)
        case _:
            raise ToolError(f"unknown tool {step.intent!r}")


def format_error(exc: Exception, max_chars: int = 300) -> dict[str, str]:
    """A short, model-readable description of a failure."""
    return {"error": type(exc).__name__, "message": str(exc)[:max_chars]}


def run_chat_session(thread: Thread) -> Thread:
    """Live chat: keep working on the ticket until the model says it is done."""
    while True:
        step = determine_next_step(thread)
        thread.events.append(Event(type=step.intent, data=step.model_dump()))
        if isinstance(step, DoneForNow):
            break
        try:
            result = execute_tool(step)
        except Exception:
            logger.exception("tool %s failed on thread %s", step.intent, thread.id)
            continue
        thread.events.append(Event(type=f"{step.intent}_result", data=result))
    save_thread(thread)
    return thread


def resolve_ticket(thread: Thread) -> Thread:
    """Email tickets: a bounded loop that escalates instead of spinning."""
    consecutive_errors = 0
    for _ in range(MAX_STEPS):
        step = determine_next_step(thread)
        thread.events.append(Event(type=step.intent, data=step.model_dump()))
        if isinstance(step, DoneForNow):
            break
        if isinstance(step, EscalateToHuman):
            return escalate(thread, step.reason)
        try:
            result = execute_tool(step)
        except (ToolError, httpx.HTTPError) as exc:
            consecutive_errors += 1
            thread.events.append(Event(type="error", data=format_error(exc)))
            if consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
                return escalate(thread, "three tool errors in a row")
            continue
        consecutive_errors = 0
        thread.events.append(Event(type=f"{step.intent}_result", data=result))
    else:
        return escalate(thread, f"no resolution within {MAX_STEPS} steps")
    save_thread(thread)
    return thread


def escalate(thread: Thread, reason: str) -> Thread:
    """Record the hand-off and queue a note for the human team."""
    note = render_escalation_note(thread.id, summarize_ticket(thread.to_prompt()), customer_tier="standard")
    thread.events.append(Event(type="escalated", data={"reason": reason, "note": note}))
    save_thread(thread)
    return thread


def draft_apology_email(thread: Thread) -> str:
    """Draft an apology email for a delayed order, for a human agent to review and send."""
    response = client.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "system",
                "content": """You write apology emails for Parcelly customer support.
Be warm but brief: at most 120 words, no more than one apology sentence.
Explain what went wrong using only the facts in the ticket, state the new delivery estimate
if one is known, and never offer refunds, vouchers or discounts: a human decides those.
Sign off as "The Parcelly Support Team".""",
            },
            {"role": "user", "content": thread.to_prompt()},
        ],
        temperature=0.4,
    )
    return response.choices[0].message.content or ""
