"""The recognisers: model calls, replies and what they asked for, prompts, tools, retries, error handlers, and the inventory of one file."""
