"""The base of every knowledge-table record: frozen plain data, unknown fields are errors.

The records are standard-library dataclasses, so reading them costs nothing at start-up. The
schema they declare is checked in two ways, which must agree:

- a table read from TOML is validated by pydantic (:meth:`_Strict.model_validate`, imported only
  then), which also coerces and reports errors by field;
- a table read back from the compiled index (:mod:`factorlint.knowledge_index`) is rebuilt by
  :mod:`factorlint.records` from JSON, which checks every value's exact type against the same
  annotations and runs the same constraints, without pydantic.

Constraints are written into the annotations (``Annotated[int, Bounds(ge=1)]``,
``Annotated[str, Check(compiles)]``) so that both read them from one place.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:  # only type checkers read it

    def dataclass_transform(**_):
        return lambda decorator: decorator

T = TypeVar("T")


class Bounds:
    """A number's bounds (``ge``, ``le``, ``gt``), as pydantic's ``Field(ge=...)`` states them."""

    def __init__(self, *, ge: float | None = None, le: float | None = None, gt: float | None = None) -> None:
        self.ge, self.le, self.gt = ge, le, gt

    def holds(self, value: float) -> bool:
        return ((self.ge is None or value >= self.ge) and (self.le is None or value <= self.le)
                and (self.gt is None or value > self.gt))

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from typing import Annotated

        from pydantic import Field

        return handler(Annotated[source, Field(ge=self.ge, le=self.le, gt=self.gt)])


class Check:
    """A check of a value that raises ValueError with the reason when the value is wrong (a
    regular expression that does not compile); pydantic reports it as ``Value error, ...``."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(self.function, handler(source))


def compiles(value: str | None) -> str | None:
    """``value`` when it is None or a regular expression that compiles (a :class:`Check`)."""
    if value is not None:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
    return value


class _Strict:
    """What every record shares: validation of a table read from TOML, by pydantic."""

    @classmethod
    def model_validate(cls: type[T], data: Any) -> T:
        """``data`` validated and coerced into this record; pydantic's ValidationError (a
        ValueError) naming the field when it does not follow the schema."""
        return _adapter(cls).validate_python(data)


_ADAPTERS: dict[type, Any] = {}


def _adapter(cls: type) -> Any:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        from pydantic import TypeAdapter

        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def _copier(value: list | dict) -> Callable[[], Any]:
    return lambda: type(value)(value)


@dataclass_transform(frozen_default=True, kw_only_default=True)
def record(cls: type[T]) -> type[T]:
    """A frozen dataclass, keyword arguments only, whose unknown fields pydantic rejects. A list
    or dict default is copied for each record, as pydantic does for its models."""
    for name in inspect.get_annotations(cls):  # its own fields, as strings
        default = cls.__dict__.get(name, dataclasses.MISSING)
        if isinstance(default, (list, dict)):
            setattr(cls, name, dataclasses.field(default_factory=_copier(default)))
    own = cls.__dict__.get("__pydantic_config__", {})  # more of pydantic's settings (aliases)
    cls.__pydantic_config__ = {**own, "extra": "forbid"}  # type: ignore[attr-defined]
    return dataclasses.dataclass(frozen=True, kw_only=True)(cls)
