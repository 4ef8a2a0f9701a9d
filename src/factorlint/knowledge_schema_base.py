"""The base of every knowledge-table model: unknown fields are errors, values are frozen."""

from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
