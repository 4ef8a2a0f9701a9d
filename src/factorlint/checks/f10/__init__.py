"""Factor 10: small, focused agents (few tools, small step budgets, short prompts, narrow dispatch)."""
