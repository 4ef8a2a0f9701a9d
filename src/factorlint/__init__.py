"""factorlint: static analysis of Python AI-agent code against the 12-Factor Agents practices."""

__version__ = "0.1.0"
