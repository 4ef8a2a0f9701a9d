"""Prompts owned by the support team. Reviewed like code; see prompts/ for longer templates."""

from __future__ import annotations

from pathlib import Path

PROMPTS_DIR = Path(__file__).parent / "prompts"

TRIAGE_SYSTEM_PROMPT = """\
You are the first-line support assistant for Parcelly, an online store.
You resolve order questions (status, delivery, returns) by calling the tools you are given.
Never promise refunds or compensation: hand those tickets to a human with escalate_to_human.
When you have enough information, answer with done_for_now and a short, friendly message.
"""

SUMMARY_PROMPT = (
    "Summarise the support ticket below in at most two sentences for a human agent. "
    "Mention the order id and what the customer still needs."
)

ESCALATION_NOTE_TEMPLATE = (PROMPTS_DIR / "escalation_note.md").read_text(encoding="utf-8")


def render_escalation_note(ticket_id: str, summary: str, customer_tier: str) -> str:
    """Fill the escalation-note template that is posted to the human queue."""
    return ESCALATION_NOTE_TEMPLATE.format(
        ticket_id=ticket_id,
        summary=summary,
        customer_tier=customer_tier,
    )
