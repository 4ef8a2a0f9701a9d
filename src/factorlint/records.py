"""Records (the frozen dataclasses of :mod:`factorlint.knowledge_schema_base`, and other plain
dataclasses such as the run's Settings) to JSON and back.

What is read back comes from a file on disk that factorlint wrote earlier, but it is still data
to check, not to trust: :func:`from_json` rebuilds a record only when every value has exactly the
type its annotation names (``bool`` is not an ``int``, a list is not a tuple, no key is missing
or unknown) and meets the annotation's constraints (:class:`Bounds`, :class:`Check`). Anything
else is a :class:`RecordError`. No coercion happens here: the JSON holds what pydantic produced
when the tables were validated, so a faithful copy needs none.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path, PurePath
from typing import Any, Literal, Union

from factorlint.knowledge_schema_base import Bounds, Check

# Deeper than any record: a hostile file cannot recurse without end.
_MAX_DEPTH = 32


class RecordError(ValueError):
    """A JSON value that is not the record (or the type) it should be."""


def to_json(value: Any) -> Any:
    """A record, or a value of a record's field, as plain JSON data (a tuple becomes a list)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(to_json(item) for item in value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if value is None or type(value) in (str, int, float, bool):
        return value
    raise RecordError(f"cannot be written as JSON: {type(value).__name__}")


def from_json(kind: Any, data: Any) -> Any:
    """``data`` (parsed JSON) rebuilt as ``kind`` (a record class or a field's annotation)."""
    return _build(kind, data, 0)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls, include_extras=True)
    return hints


def _build(kind: Any, data: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise RecordError("nested too deeply")
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _record(kind, data, depth)
    origin = typing.get_origin(kind)
    if origin is typing.Annotated:
        inner, *checks = typing.get_args(kind)
        value = _build(inner, data, depth)
        for check in checks:
            if isinstance(check, Bounds) and not check.holds(value):
                raise RecordError(f"{value!r} is out of bounds")
            if isinstance(check, Check):
                try:
                    check.function(value)
                except ValueError as exc:
                    raise RecordError(str(exc)) from None
        return value
    if origin in (Union, types.UnionType):
        for option in typing.get_args(kind):
            try:
                return _build(option, data, depth)
            except RecordError:
                continue
        raise RecordError(f"{_shown(data)} is none of {kind}")
    if origin is Literal:
        if any(type(data) is type(choice) and data == choice for choice in typing.get_args(kind)):
            return data
        raise RecordError(f"{_shown(data)} is not one of {typing.get_args(kind)}")
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_build(item, element, depth + 1) for element in _list(data)]
    if origin is tuple:
        items = typing.get_args(kind)
        if len(items) == 2 and items[1] is Ellipsis:  # tuple[X, ...]
            return tuple(_build(items[0], element, depth + 1) for element in _list(data))
        if len(_list(data)) != len(items):
            raise RecordError(f"{_shown(data)} does not have {len(items)} items")
        return tuple(_build(item, element, depth + 1) for item, element in zip(items, data, strict=True))
    if origin in (set, frozenset):
        (item,) = typing.get_args(kind)
        return origin(_build(item, element, depth + 1) for element in _list(data))
    if origin is dict:
        key, item = typing.get_args(kind)
        if type(data) is not dict:
            raise RecordError(f"{_shown(data)} is not an object")
        return {_build(key, k, depth + 1): _build(item, v, depth + 1) for k, v in data.items()}
    if kind is type(None):
        if data is None:
            return None
        raise RecordError(f"{_shown(data)} is not null")
    if kind is Path:
        if type(data) is str and "\0" not in data:
            return Path(data)
        raise RecordError(f"{_shown(data)} is not a path")
    if kind in (str, int, bool):
        if type(data) is kind:
            return data
        raise RecordError(f"{_shown(data)} is not {kind.__name__}")
    if kind is float:
        if type(data) is float:
            return data
        raise RecordError(f"{_shown(data)} is not float")
    raise RecordError(f"no JSON form for {kind}")


def _record(cls: type, data: Any, depth: int) -> Any:
    if type(data) is not dict:
        raise RecordError(f"{cls.__name__}: {_shown(data)} is not an object")
    fields = dataclasses.fields(cls)
    if set(data) != {f.name for f in fields}:
        raise RecordError(f"{cls.__name__}: fields {sorted(data)} are not {[f.name for f in fields]}")
    hints = _hints(cls)
    values = {f.name: _build(hints[f.name], data[f.name], depth + 1) for f in fields}
    return cls(**values)


def _list(data: Any) -> list:
    if type(data) is not list:
        raise RecordError(f"{_shown(data)} is not an array")
    return data


def _shown(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."
