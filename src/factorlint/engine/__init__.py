"""The analysis engine: read, parse once, resolve names, run every rule in one batched visit."""
