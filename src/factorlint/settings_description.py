"""A run's Settings as plain JSON data, for worker processes that are not forked.

Where workers are spawned (macOS, Windows), each starts from what the parent hands it. The
settings travel as JSON text built from the dataclass's fields (paths as strings, sets as sorted
lists, the nested configurations' settings in the same form) and are rebuilt field by field with
every value's type checked (:mod:`factorlint.records`): no object of the run is pickled.
"""

from __future__ import annotations

import json

from factorlint.config import Settings
from factorlint.records import RecordError, from_json, to_json


class DescriptionError(ValueError):
    """A description that is not one of Settings."""


def describe(settings: Settings) -> str:
    """``settings`` as JSON text."""
    return json.dumps(to_json(settings), separators=(",", ":"))


def settings_from(description: str) -> Settings:
    """The Settings ``description`` describes; DescriptionError when it is anything else."""
    try:
        return from_json(Settings, json.loads(description))
    except (ValueError, RecursionError) as exc:  # RecordError and JSON errors are ValueErrors
        raise DescriptionError(f"not a description of settings: {exc}") from None


__all__ = ["DescriptionError", "RecordError", "describe", "settings_from"]
