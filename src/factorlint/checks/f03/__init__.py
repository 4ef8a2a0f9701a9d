"""Factor 3 rules (own your context window): one rule per module."""
