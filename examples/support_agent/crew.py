"""Weekly escalation review: a CrewAI crew that clusters escalated tickets into a report."""

from __future__ import annotations

import json
from pathlib import Path

from crewai import Agent, Crew, Process, Task
from crewai.tools import tool

THREADS_DIR = Path("var/threads")


@tool("Load escalated tickets")
def load_escalated_tickets(limit: int) -> str:
    """Return up to `limit` escalated tickets as JSON lines with id and escalation reason."""
    rows = [
        {"id": thread["id"], "reason": event["data"]["reason"]}
        for thread in (json.loads(p.read_text(encoding="utf-8")) for p in sorted(THREADS_DIR.glob("*.json")))
        for event in thread["events"]
        if event["type"] == "escalated"
    ]
    return "\n".join(json.dumps(row) for row in rows[:limit])


def build_review_crew() -> Crew:
    """One analyst agent that groups the week's escalations by root cause."""
    analyst = Agent(
        role="Support operations analyst",
        goal="Find the top reasons tickets were escalated to humans this week",
        backstory="You have run customer support for online retailers for ten years.",
        tools=[load_escalated_tickets],
        llm="gpt-4o-mini",
        allow_delegation=False,
    )
    analyse = Task(
        description="Load up to {limit} escalated tickets and group them by root cause.",
        expected_output="A markdown report: root causes with ticket counts and two example ids each.",
        agent=analyst,
    )
    return Crew(agents=[analyst], tasks=[analyse], process=Process.sequential)


def weekly_escalation_report(limit: int = 200) -> str:
    """Run the review crew and return its markdown report."""
    result = build_review_crew().kickoff(inputs={"limit": limit})
    return result.raw
