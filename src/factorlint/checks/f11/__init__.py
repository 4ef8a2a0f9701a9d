"""Factor 11 rules (trigger from anywhere, meet users where they are): one rule per module."""
