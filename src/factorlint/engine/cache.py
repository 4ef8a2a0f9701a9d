"""The content-hash cache: a file's whole FileResult (findings, sites, facts) from the last run.

An entry is reused when the file's bytes are the same (checked by size and modification time
first, then by SHA-256 when those changed) and the file still has the same module name. The
cache file itself is keyed by everything else a result depends on: the factorlint version, the
knowledge tables, the package's own code (so an upgrade or an edit of a rule starts afresh) and
the settings. It lives in ``.factorlint_cache/`` under the scanned root, like ruff's cache, and
is written atomically; a cache that cannot be read or written is ignored, never an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Optional

from factorlint import __version__

CACHE_DIR_NAME = ".factorlint_cache"
_FORMAT = 1


@dataclasses.dataclass
class Entry:
    size: int
    mtime_ns: int
    digest: str
    module: str
    result: object  # FileResult


def _code_stamp() -> str:
    """The package's own files and knowledge tables, by name, size and mtime (cheap to stat)."""
    package = Path(__file__).resolve().parent.parent
    stamp = hashlib.sha256(__version__.encode())
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".toml", ".css"):
            info = path.stat()
            stamp.update(f"{path.relative_to(package)}:{info.st_size}:{info.st_mtime_ns}".encode())
    return stamp.hexdigest()


def settings_key(settings) -> str:
    fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    # Sets print in hash order, which changes per process: sort them so the key is stable.
    text = repr(sorted((k, sorted(v) if isinstance(v, (set, frozenset)) else v) for k, v in fields.items()))
    return hashlib.sha256(f"{_FORMAT}:{_code_stamp()}:{text}".encode()).hexdigest()[:24]


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ResultCache:
    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        self.path = folder / f"results-{key}.pickle"
        self.entries: dict[str, Entry] = {}
        self.fresh: dict[str, Entry] = {}
        self.hits = 0
        try:
            with self.path.open("rb") as handle:
                loaded = pickle.load(handle)
            if isinstance(loaded, dict):
                self.entries = loaded
        except (OSError, EOFError, pickle.PickleError, AttributeError, ImportError, TypeError, ValueError):
            self.entries = {}

    def lookup(self, relative: str, info: os.stat_result, module: str, read) -> tuple[Optional[object], Optional[bytes]]:
        """The cached result, or None and (when it had to be read) the file's bytes."""
        entry = self.entries.get(relative)
        if entry is None or entry.size != info.st_size or entry.module != module:
            return None, None
        if entry.mtime_ns == info.st_mtime_ns:
            self.hits += 1
            self.fresh[relative] = entry
            return entry.result, None
        data = read()
        if data is not None and digest_of(data) == entry.digest:
            self.hits += 1
            entry.mtime_ns = info.st_mtime_ns
            self.fresh[relative] = entry
            return entry.result, None
        return None, data

    def store(self, relative: str, info: os.stat_result, module: str, data: bytes, result) -> None:
        self.fresh[relative] = Entry(info.st_size, info.st_mtime_ns, digest_of(data), module, result)

    def save(self) -> None:
        """Write the entries read before plus this run's, atomically (a run over a few files keeps the rest)."""
        merged = dict(self.entries)
        merged.update(self.fresh)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by factorlint\n*\n", encoding="utf-8")
            tag = self.folder / "CACHEDIR.TAG"
            if not tag.exists():
                tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n# factorlint cache\n", encoding="utf-8")
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".results-", suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                pickle.dump(merged, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self.path)
        except OSError:
            return  # a read-only tree: run without a cache
