"""Compiled forms of factorlint's own validated data, kept in the per-user cache folder.

Validating the knowledge tables and a configuration file with pydantic costs a one-file run more
than the analysis of the file. What validation produced is therefore kept as JSON
(:mod:`factorlint.records`), under a name made of a digest of everything it was built from
(factorlint's version, the schema's source, the bytes read), and read back by the next run that
reads the same bytes. Read back means checked again: a file that is not exactly what
``records.from_json`` accepts is ignored and built afresh, never trusted and never an error.

The folder is the result cache's (:func:`engine.run.cache.default_cache_dir`, with the same
checks: a real folder owned by the user and writable by no one else, files opened without
following symlinks). Only the command line turns this on (:func:`use_folder`), and only for a
folder that none of the scanned paths contains; elsewhere (the library API, the tests) every
run validates with pydantic.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from factorlint import __version__

FORMAT = 1
PREFIX = "compiled-"
_NAME = re.compile(r"compiled-[a-z]+-[0-9a-f]{32}\.json\Z")
PRUNE_AFTER_SECONDS = 30 * 24 * 3600

_folder: Path | None = None


def use_folder(folder: Path | None, scanned: Iterable[Path] = ()) -> None:
    """Keep compiled data in ``folder`` from now on (None: nowhere), unless one of the
    ``scanned`` paths contains it: whoever wrote the scanned tree could have written the file."""
    global _folder
    if folder is not None:
        from factorlint.engine.run.cache import _inside_scanned_tree

        if _inside_scanned_tree(folder, scanned) is not None:
            folder = None
    _folder = folder


def folder_in_use() -> Path | None:
    return _folder


def key_of(kind: str, parts: Iterable[bytes]) -> str:
    """The name of the compiled form of ``parts`` (the bytes it is built from): factorlint's
    version, the format and ``kind`` are part of the digest."""
    digest = hashlib.sha256(f"{kind}:{FORMAT}:{__version__}".encode())
    for part in parts:
        digest.update(b"%d:" % len(part))
        digest.update(part)
    return f"{PREFIX}{kind}-{digest.hexdigest()[:32]}.json"


def source_digest(*modules: Any) -> bytes:
    """The bytes of the modules that define a schema: a record written by other code (an
    editable install changes without a new version) is not read back."""
    digest = hashlib.sha256()
    for module in modules:
        try:
            digest.update(Path(module.__file__).read_bytes())
        except (OSError, TypeError):
            digest.update(b"unreadable")
    return digest.digest()


def read(name: str) -> Any | None:
    """The JSON data stored under ``name``, or None (no folder, no file, or not ours)."""
    if _folder is None:
        return None
    from factorlint.engine.run.cache import _Folder

    opened, _ = _Folder.open(_folder, create=False)
    if opened is None:
        return None
    try:
        raw = opened.read(name)
        if raw is not None:
            opened.touch(name)  # in use: not pruned
    finally:
        opened.close()
    if raw is None:
        return None
    try:
        stored = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if type(stored) is not dict or stored.get("format") != FORMAT or stored.get("name") != name:
        return None
    return stored.get("data")


def write(name: str, data: Any) -> None:
    """Store ``data`` (plain JSON data) under ``name``; any failure leaves things as they were."""
    if _folder is None:
        return
    from factorlint.engine.run.cache import _Folder

    try:
        payload = json.dumps({"format": FORMAT, "name": name, "data": data}, separators=(",", ":")).encode()
    except (TypeError, ValueError):
        return
    opened, _ = _Folder.open(_folder, create=True)
    if opened is None:
        return
    try:
        opened.write(name, payload)
        _prune(opened, keep=name)
    except OSError:
        pass  # a read-only or full disk: the next run validates again
    finally:
        opened.close()


def _prune(opened, keep: str) -> None:
    """Delete compiled files nothing has written for PRUNE_AFTER_SECONDS (older versions')."""
    now = time.time()
    with os.scandir(opened.handle if opened.handle is not None else opened.path) as listing:
        for item in listing:
            if item.name == keep or not _NAME.match(item.name):
                continue
            try:
                if now - item.stat(follow_symlinks=False).st_mtime > PRUNE_AFTER_SECONDS:
                    os.unlink(opened._at(item.name), dir_fd=opened.handle)
            except OSError:
                continue
