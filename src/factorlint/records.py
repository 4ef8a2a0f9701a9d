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
from collections.abc import Callable
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
    return _decoder(kind)(data, 0)


Decoder = Callable[[Any, int], Any]
_DECODERS: dict[Any, Decoder] = {}


def _decoder(kind: Any) -> Decoder:
    """The function that rebuilds ``kind`` from JSON data, made once per type: reading a
    thousand records asks the same few dozen annotations again and again."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        decoder = _DECODERS[kind] = _make_decoder(kind)
    return decoder


def _make_decoder(kind: Any) -> Decoder:
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _record_decoder(kind)
    origin = typing.get_origin(kind)
    if origin is typing.Annotated:
        inner, *checks = typing.get_args(kind)
        return _checked(_decoder(inner), checks)
    if origin in (Union, types.UnionType):
        options = typing.get_args(kind)
        return _union(kind, type(None) in options, [_decoder(o) for o in options if o is not type(None)])
    if origin is Literal:
        return _literal(typing.get_args(kind))
    if origin is list:
        (item,) = typing.get_args(kind)
        return _sequence(_decoder(item), list)
    if origin is tuple:
        items = typing.get_args(kind)
        if len(items) == 2 and items[1] is Ellipsis:  # tuple[X, ...]
            return _sequence(_decoder(items[0]), tuple)
        return _fixed_tuple([_decoder(item) for item in items])
    if origin in (set, frozenset):
        (item,) = typing.get_args(kind)
        return _sequence(_decoder(item), origin)
    if origin is dict:
        key, item = typing.get_args(kind)
        return _mapping(_decoder(key), _decoder(item))
    if kind is type(None) or kind in (str, int, bool, float):
        return _exact(kind)
    if kind is Path:
        return _path
    raise RecordError(f"no JSON form for {kind}")


def _record_decoder(cls: type) -> Decoder:
    names = frozenset(f.name for f in dataclasses.fields(cls))
    fields: list[tuple[str, Decoder]] | None = None

    def decode(data: Any, depth: int) -> Any:
        nonlocal fields
        if type(data) is not dict:
            raise RecordError(f"{cls.__name__}: {_shown(data)} is not an object")
        if data.keys() != names:
            raise RecordError(f"{cls.__name__}: fields {sorted(data)} are not {sorted(names)}")
        if depth > _MAX_DEPTH:
            raise RecordError("nested too deeply")
        if fields is None:  # on first use: the annotations may name records defined later
            hints = typing.get_type_hints(cls, include_extras=True)
            fields = [(name, _decoder(hints[name])) for name in names]
        return cls(**{name: field(data[name], depth + 1) for name, field in fields})

    return decode


def _checked(inner: Decoder, checks: list) -> Decoder:
    def decode(data: Any, depth: int) -> Any:
        value = inner(data, depth)
        for check in checks:
            if isinstance(check, Bounds) and not check.holds(value):
                raise RecordError(f"{value!r} is out of bounds")
            if isinstance(check, Check):
                try:
                    check.function(value)
                except ValueError as exc:
                    raise RecordError(str(exc)) from None
        return value

    return decode


def _union(kind: Any, optional: bool, options: list[Decoder]) -> Decoder:
    def decode(data: Any, depth: int) -> Any:
        if data is None and optional:
            return None
        for option in options:
            try:
                return option(data, depth)
            except RecordError:
                continue
        raise RecordError(f"{_shown(data)} is none of {kind}")

    return decode


def _literal(choices: tuple) -> Decoder:
    def decode(data: Any, depth: int) -> Any:
        if any(type(data) is type(choice) and data == choice for choice in choices):
            return data
        raise RecordError(f"{_shown(data)} is not one of {choices}")

    return decode


def _sequence(item: Decoder, build: type) -> Decoder:
    def decode(data: Any, depth: int) -> Any:
        return build([item(element, depth + 1) for element in _list(data)])

    return decode


def _fixed_tuple(items: list[Decoder]) -> Decoder:
    def decode(data: Any, depth: int) -> Any:
        if len(_list(data)) != len(items):
            raise RecordError(f"{_shown(data)} does not have {len(items)} items")
        return tuple(item(element, depth + 1) for item, element in zip(items, data, strict=True))

    return decode


def _mapping(key: Decoder, item: Decoder) -> Decoder:
    def decode(data: Any, depth: int) -> Any:
        if type(data) is not dict:
            raise RecordError(f"{_shown(data)} is not an object")
        return {key(k, depth + 1): item(v, depth + 1) for k, v in data.items()}

    return decode


def _exact(kind: type) -> Decoder:
    name = "null" if kind is type(None) else kind.__name__

    def decode(data: Any, depth: int) -> Any:
        if type(data) is kind:
            return data
        raise RecordError(f"{_shown(data)} is not {name}")

    return decode


def _path(data: Any, depth: int) -> Path:
    if type(data) is str and "\0" not in data:
        return Path(data)
    raise RecordError(f"{_shown(data)} is not a path")


def _list(data: Any) -> list:
    if type(data) is not list:
        raise RecordError(f"{_shown(data)} is not an array")
    return data


def _shown(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."
