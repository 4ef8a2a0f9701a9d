"""Reading a file of a tree under review without trusting its shape.

A pull request controls the tree factorlint reads: any name can be a FIFO (opening it for reading
blocks until a writer comes, that is forever), a socket, a device (a symlink to ``/dev/zero`` reads
without end) or a symlink to a file outside the tree. Project files (configuration, lock files,
``.gitignore``, the git index) are therefore read through :func:`read_regular_file`, which looks
before it opens and reads no more than a limit:

1. ``stat`` (or ``lstat``) the path: anything but a regular file is refused without being opened;
2. open it with ``O_NONBLOCK``, so a FIFO swapped in after the check cannot block the open;
3. ``fstat`` the open descriptor: the check that counts, on the very file about to be read;
4. read at most ``max_bytes`` (one byte more tells a file that grew after the check).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

# The largest project file read for configuration or versions (pyproject.toml, uv.lock, ...).
PROJECT_FILE_MAX_BYTES = 5 * 1024 * 1024

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class ReadRefused(Exception):
    """A file that was not read, and why, in words fit for a one-line message."""


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, for messages: ``a FIFO``, ``a directory``, ..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISLNK(mode):
        return "a symlink"
    return "not a regular file"


def not_regular(mode: int) -> str:
    """The reason a non-regular file is skipped: ``not a regular file (a FIFO)``."""
    kind = kind_of(mode)
    return kind if kind == "not a regular file" else f"not a regular file ({kind})"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def read_regular_file(
    path: str | Path, max_bytes: int = PROJECT_FILE_MAX_BYTES, *, follow_symlinks: bool = True
) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``; else ReadRefused.

    With ``follow_symlinks=False`` a symlink is refused (``O_NOFOLLOW``) rather than read.
    """
    try:
        info = os.stat(path, follow_symlinks=follow_symlinks)
    except OSError as exc:
        raise ReadRefused(_reason(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise ReadRefused(not_regular(info.st_mode))
    if info.st_size > max_bytes:
        raise ReadRefused(f"{info.st_size:,} bytes is over the limit of {max_bytes:,}")
    flags = _OPEN_FLAGS | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ReadRefused(_reason(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped after the first check
            raise ReadRefused(not_regular(info.st_mode))
        chunks = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise ReadRefused(_reason(exc)) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ReadRefused(f"more than the limit of {max_bytes:,} bytes")
    return data


def read_project_text(path: Path, boundary: Path) -> str | None:
    """The text of a project file (a lock file, pins, packaging metadata), or None when it is not
    to be read: not a regular file, over the limit, unreadable, or a symlink that leaves
    ``boundary`` (the repository) or points into its ``.git`` folder. Undecodable bytes are
    replaced: these files are only searched for names and versions."""
    try:
        if os.path.islink(path):
            inside = Path(os.path.realpath(path)).relative_to(boundary)
            if ".git" in inside.parts:
                return None
        return read_regular_file(path).decode("utf-8", errors="replace")
    except (ReadRefused, ValueError, OSError):
        return None
