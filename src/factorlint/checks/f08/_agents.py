"""Shared by the factor-8 rules: how an agent's run is named in a message."""

from __future__ import annotations

from factorlint.engine.agents.file_agents import handoff_label

__all__ = ["handoff_label"]
