"""Rules of this group: one rule per module."""
