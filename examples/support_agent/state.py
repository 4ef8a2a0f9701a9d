"""Ticket threads: the event log the agent reads and writes, plus the legacy FAQ chat helper."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from llm import MODEL, client

THREADS_DIR = Path("var/threads")
SUPPORTED_CHANNELS: tuple[str, ...] = ("email", "web_chat", "whatsapp")

# Conversation of the FAQ widget, shared by every visitor of this process.
HISTORY: list[dict] = []


@dataclass
class Event:
    """One thing that happened on a ticket: a customer message, a tool call, a result, an error."""

    type: str
    data: Any
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


@dataclass
class Thread:
    """A support ticket as an ordered list of events."""

    id: str
    channel: str = "email"
    events: list[Event] = field(default_factory=list)

    def to_json(self) -> str:
        """Serialise the whole thread (events included) to JSON."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Thread:
        """Rebuild a thread written by ``to_json``."""
        data = json.loads(raw)
        events = [Event(**event) for event in data.pop("events", [])]
        return cls(events=events, **data)

    def to_prompt(self) -> str:
        """Render the events as compact XML-ish blocks for the model."""
        blocks = []
        for event in self.events:
            body = event.data if isinstance(event.data, str) else json.dumps(event.data)
            blocks.append(f"<{event.type}>\n{body}\n</{event.type}>")
        return "\n\n".join(blocks)


def save_thread(thread: Thread) -> None:
    """Persist a thread under ``var/threads/<id>.json``."""
    THREADS_DIR.mkdir(parents=True, exist_ok=True)
    (THREADS_DIR / f"{thread.id}.json").write_text(thread.to_json(), encoding="utf-8")


def quick_answer(question: str) -> str:
    """Answer a short FAQ question in the website widget, remembering earlier questions."""
    HISTORY.append({"role": "user", "content": question})
    response = client.chat.completions.create(model=MODEL, messages=HISTORY, max_tokens=300)
    answer = response.choices[0].message.content or ""
    HISTORY.append({"role": "assistant", "content": answer})
    return answer
