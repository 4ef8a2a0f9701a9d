"""Writing a file so that a reader sees the old version or the new one, never half of either.

The new content goes to a temporary file in the target's own folder (a rename is atomic only
within one file system), is flushed to disk, and is then renamed over the target by the caller,
who may first give it the target's metadata. If anything fails before the rename, the temporary
file is removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def staged_file(target: Path, data: bytes, suffix: str = ".tmp") -> Iterator[str]:
    """A temporary file beside ``target`` holding ``data``, flushed to disk: the caller renames
    it over ``target`` (``os.replace``) inside the block; on any failure, or if the caller does
    not rename it, it is removed."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        yield temporary
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)  # gone already when the caller renamed it
