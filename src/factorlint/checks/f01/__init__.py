"""Factor 1 rules (natural language to tool calls): one rule per module."""
