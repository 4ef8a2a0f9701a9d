"""Configuration files, validated once per content (see :mod:`factorlint.compiled_cache`).

The configuration of an ``extend`` chain is a function of its files' bytes, the schema
(:class:`factorlint.config.FileConfig`) and the rules there are (selectors must name one). What
validation made of it is kept under the digest of all three, and read back with every value
checked again (:func:`factorlint.records.from_json`, which also runs the selector checks), so
pydantic runs only when a configuration file changed.
"""

from __future__ import annotations

from factorlint import compiled_cache, config, knowledge_schema_base
from factorlint.checks import index as rule_index
from factorlint.config import FileConfig, Layer
from factorlint.records import RecordError, from_json, to_json


def config_name(contents: list[bytes]) -> str:
    """The compiled form's name for a chain of configuration files (each file's bytes)."""
    schema = compiled_cache.source_digest(config, knowledge_schema_base, rule_index)
    return compiled_cache.key_of("config", [schema, *contents])


def cached_config(contents: list[bytes]) -> tuple[str, tuple[FileConfig, list[Layer]] | None]:
    """The name for this chain and, when it was validated before, its configuration and layers."""
    name = config_name(contents)
    stored = compiled_cache.read(name)
    return name, (decode_config(stored) if stored is not None else None)


def store_config(name: str, file_config: FileConfig, layers: list[Layer]) -> None:
    compiled_cache.write(name, encode_config(file_config, layers))


def encode_config(file_config: FileConfig, layers: list[Layer]) -> dict:
    return {"config": to_json(file_config), "layers": to_json(layers)}


def decode_config(data: object) -> tuple[FileConfig, list[Layer]] | None:
    """The configuration and layers in ``data``, or None when it is anything else."""
    if type(data) is not dict or set(data) != {"config", "layers"}:
        return None
    try:
        file_config = from_json(FileConfig, data["config"])
        layers = [
            (from_json(list[str] | None, s), from_json(list[str], i), from_json(list[str], e))
            for s, i, e in _triples(data["layers"])
        ]
    except RecordError:
        return None
    return file_config, layers


def _triples(data: object) -> list:
    if type(data) is not list or not data or any(type(item) is not list or len(item) != 3 for item in data):
        raise RecordError("not a list of selection layers")
    return data
