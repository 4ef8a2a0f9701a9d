"""The knowledge tables, validated once and kept compiled (see :mod:`factorlint.compiled_cache`).

Validating some thirty tables with pydantic, and building pydantic's validators first, is most of
what a one-file run spends before it reads the file. The validated records are kept as JSON
under a name made of the digest of the tables' bytes, the schema's source and factorlint's
version; a run whose tables hash the same rebuilds the very same records from it
(:func:`factorlint.records.from_json`, every value checked), without importing pydantic.
"""

from __future__ import annotations

from pathlib import Path

from factorlint import compiled_cache, knowledge_schema, knowledge_schema_base, knowledge_schema_effects
from factorlint.knowledge_schema import FactorTable, Framework, KnowledgeError
from factorlint.records import RecordError, from_json, to_json


def index_name(files: list[Path], contents: list[bytes]) -> str:
    """The compiled index's name for these tables (names and bytes) under the current schema."""
    schema = compiled_cache.source_digest(knowledge_schema, knowledge_schema_base, knowledge_schema_effects)
    parts = [schema]
    for path, data in zip(files, contents, strict=True):
        parts += [path.name.encode("utf-8", "surrogatepass"), data]
    return compiled_cache.key_of("knowledge", parts)


def indexed_tables(files: list[Path]) -> tuple[FactorTable, list[Framework]]:
    """The tables in ``files`` (factors.toml first): from the compiled index when it holds these
    very bytes, else validated by pydantic (and compiled for the next run)."""
    from factorlint.knowledge import validated_tables

    try:
        contents = [path.read_bytes() for path in files]
    except OSError as exc:
        raise KnowledgeError(f"factorlint's knowledge tables cannot be read: {exc}") from None
    name = index_name(files, contents)
    stored = compiled_cache.read(name)
    if stored is not None:
        tables = decode_tables(stored, len(files))
        if tables is not None:
            return tables
    factors, frameworks = validated_tables(files, contents)
    compiled_cache.write(name, encode_tables(factors, frameworks))
    return factors, frameworks


def encode_tables(factors: FactorTable, frameworks: list[Framework]) -> dict:
    return {"factors": to_json(factors), "frameworks": [to_json(f) for f in frameworks]}


def decode_tables(data: object, count: int) -> tuple[FactorTable, list[Framework]] | None:
    """The tables in ``data`` (``count`` files' worth), or None when it is anything else."""
    if type(data) is not dict or set(data) != {"factors", "frameworks"}:
        return None
    frameworks = data["frameworks"]
    if type(frameworks) is not list or len(frameworks) != count - 1:
        return None
    try:
        return from_json(FactorTable, data["factors"]), [from_json(Framework, f) for f in frameworks]
    except RecordError:
        return None
