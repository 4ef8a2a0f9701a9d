"""Which paths a git repository tracks, read from its index file as data.

A ``.gitignore`` only hides untracked files from git: a tracked file stays in the repository
whatever the ``.gitignore`` says, so discovery must scan it too, or a pull request could hide its
agent code behind one line. The tracked list comes from the index (``.git/index``), parsed here;
``git`` itself is never run, because a repository under review can make it execute programs
through its configuration (``core.fsmonitor``, ``core.pager``, hooks ...).

The parser reads only path names and modes, in index format versions 2, 3 and 4 (version 4
compresses each path against the one before it), for SHA-1 and SHA-256 repositories. It is
bounded (:data:`MAX_INDEX_BYTES`, :data:`MAX_ENTRIES`, :data:`MAX_PATH_BYTES`) and checks the
file's trailing checksum. Anything it does not understand makes it answer ``None``: no tracked
list, and discovery honours ``.gitignore`` files as if the repository had none (no diagnostic:
the index is the repository's business, not the tree's). That includes a split index
(``core.splitIndex``, whose entries live partly in another file), which it does not follow.

``.git`` may be a file rather than a folder (a worktree or a submodule). Its ``gitdir: PATH`` line
is followed only when it is sane: one line of at most :data:`MAX_GITDIR_BYTES`, naming a folder
that holds a regular ``HEAD`` file, as a git directory does. Git never checks out a path named
``.git``, so such a file comes from whoever prepared the checkout, not from the tree under review;
and what the index says only adds files of the tree to the scan, it never reads others.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from factorlint.safe_read import ReadRefused, read_regular_file

MAX_INDEX_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 2_000_000
# Version 4 stores each path as a suffix of the one before: this caps what they expand to.
MAX_PATH_BYTES = 64 * 1024 * 1024
MAX_GITDIR_BYTES = 4096

_HEADER = struct.Struct(">4sLL")
_MODE = struct.Struct(">L")
_FLAGS = struct.Struct(">H")
_EXTENSION = struct.Struct(">4sL")
# ctime, mtime (8 bytes each) and dev, ino, mode, uid, gid, size (4 bytes each) precede the hash.
_STAT_BYTES = 40
_MODE_OFFSET = 24
_EXTENDED = 0x4000
_NAME_MASK = 0x0FFF
_GITLINK = 0o160000  # a submodule: a folder git tracks as one entry
_SPARSE_DIR = 0o040000  # a sparse index's entry for a whole folder (its path ends with '/')


@dataclass(frozen=True)
class Tracked:
    """The paths of one repository's index, '/'-separated and relative to its work tree."""

    files: frozenset[str]
    # Every folder that holds a tracked path, submodules and sparse folders included.
    dirs: frozenset[str]
    # Sparse-index folders: every path under one counts as tracked.
    trees: frozenset[str] = frozenset()

    @classmethod
    def from_entries(cls, entries: list[tuple[str, int]]) -> Tracked:
        files, dirs, trees = set(), set(), set()
        for path, mode in entries:
            if mode == _SPARSE_DIR:
                path = path.rstrip("/")
                trees.add(path)
                dirs.add(path)
            elif mode == _GITLINK:
                dirs.add(path)
            else:
                files.add(path)
            parent = path.rpartition("/")[0]
            while parent and parent not in dirs:
                dirs.add(parent)
                parent = parent.rpartition("/")[0]
        return cls(frozenset(files), frozenset(dirs), frozenset(trees))

    def has_file(self, path: str) -> bool:
        if path in self.files:
            return True
        if self.trees:
            parent = path.rpartition("/")[0]
            while parent:
                if parent in self.trees:
                    return True
                parent = parent.rpartition("/")[0]
        return False

    def has_dir(self, path: str) -> bool:
        return path in self.dirs or self.has_file(path)


def repository_root(start: Path) -> Path | None:
    """The closest folder at or above ``start`` (an absolute, resolved folder) holding ``.git``,
    a folder or a file, as git looks for it; None outside a repository."""
    for folder in (start, *start.parents):
        try:
            mode = os.stat(folder / ".git").st_mode
        except (OSError, ValueError):
            continue
        if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
            return folder
    return None


def git_dir(work_tree: Path) -> Path | None:
    """The git directory of the work tree at ``work_tree``: ``.git`` itself, or where a sane
    ``gitdir:`` line in a ``.git`` file points; None when there is none to trust."""
    marker = work_tree / ".git"
    try:
        mode = os.stat(marker).st_mode
    except OSError:
        return None
    if stat.S_ISDIR(mode):
        return marker
    try:
        text = read_regular_file(marker, MAX_GITDIR_BYTES).decode("utf-8")
    except (ReadRefused, UnicodeDecodeError):
        return None
    lines = text.splitlines()
    if len(lines) != 1 or not lines[0].startswith("gitdir: ") or "\x00" in lines[0]:
        return None
    target = work_tree / lines[0][len("gitdir: "):].strip()
    try:
        if os.path.isdir(target) and stat.S_ISREG(os.stat(target / "HEAD").st_mode):
            return target
    except (OSError, ValueError):
        pass
    return None


def read_tracked(work_tree: Path) -> Tracked | None:
    """The tracked paths of the repository whose work tree is ``work_tree``, or None."""
    folder = git_dir(work_tree)
    if folder is None:
        return None
    try:
        data = read_regular_file(folder / "index", MAX_INDEX_BYTES)
    except ReadRefused:
        return None
    return parse_index(data)


def parse_index(data: bytes) -> Tracked | None:
    """The paths listed in the bytes of an index file; None for anything malformed or not
    understood (a version other than 2, 3 or 4, a split index, a bad checksum)."""
    if len(data) < _HEADER.size + 20:
        return None
    signature, version, count = _HEADER.unpack_from(data, 0)
    if signature != b"DIRC" or version not in (2, 3, 4) or count > MAX_ENTRIES:
        return None
    view = memoryview(data)
    for hash_size, algorithm in ((20, hashlib.sha1), (32, hashlib.sha256)):
        if len(data) < _HEADER.size + hash_size:
            continue
        trailer = data[-hash_size:]
        # index.skipHash (feature.manyFiles) writes zeros instead of the checksum.
        if trailer != bytes(hash_size) and trailer != algorithm(view[:-hash_size], usedforsecurity=False).digest():
            continue
        entries = _entries(data, version, count, hash_size)
        if entries is not None:
            return Tracked.from_entries(entries)
    return None


def _entries(data: bytes, version: int, count: int, hash_size: int) -> list[tuple[str, int]] | None:
    """(path, mode) of each entry, or None if the entries or the extensions after them do not
    fit the format exactly."""
    end = len(data) - hash_size
    fixed = _STAT_BYTES + hash_size + _FLAGS.size
    position = _HEADER.size
    previous = b""
    expanded = 0
    entries: list[tuple[str, int]] = []
    for _ in range(count):
        start = position
        if start + fixed > end:
            return None
        (mode,) = _MODE.unpack_from(data, start + _MODE_OFFSET)
        (flags,) = _FLAGS.unpack_from(data, start + _STAT_BYTES + hash_size)
        position = start + fixed
        if flags & _EXTENDED:
            if version < 3 or position + 2 > end:
                return None
            position += 2
        length = flags & _NAME_MASK
        if version == 4:
            decoded = _varint(data, position, end)
            if decoded is None:
                return None
            strip, position = decoded
            nul = data.find(b"\0", position, end)
            if nul < 0 or strip > len(previous):
                return None
            name = previous[: len(previous) - strip] + data[position:nul]
            position = nul + 1
        else:
            if length < _NAME_MASK:
                name = data[position : position + length]
            else:  # 0xFFF: the name is at least that long and ends at the first NUL
                nul = data.find(b"\0", position, end)
                if nul < 0:
                    return None
                name = data[position:nul]
            padded = (position - start + len(name) + 8) & ~7
            padding = data[position + len(name) : start + padded]
            if start + padded > end or padding.strip(b"\0"):
                return None
            position = start + padded
        expanded += len(name)
        if (length < _NAME_MASK and len(name) != length) or expanded > MAX_PATH_BYTES or not _valid_name(name, mode):
            return None
        entries.append((os.fsdecode(name), mode))
        previous = name
    return entries if _extensions_fit(data, position, end) else None


def _varint(data: bytes, position: int, end: int) -> tuple[int, int] | None:
    """Git's offset varint (``decode_varint``): each continuation adds one before shifting."""
    if position >= end:
        return None
    byte = data[position]
    position += 1
    value = byte & 0x7F
    for _ in range(8):
        if not byte & 0x80:
            return value, position
        if position >= end:
            return None
        byte = data[position]
        position += 1
        value = ((value + 1) << 7) | (byte & 0x7F)
    return None  # longer than any path could need


def _valid_name(name: bytes, mode: int) -> bool:
    if mode == _SPARSE_DIR:
        if not name.endswith(b"/"):
            return False
        name = name[:-1]
    if not name or b"\0" in name:
        return False
    return all(part not in (b"", b".", b"..") for part in name.split(b"/"))


def _extensions_fit(data: bytes, position: int, end: int) -> bool:
    """Whether the extensions after the entries fill the file up to the checksum exactly; a
    split index (the ``link`` extension) counts as not understood."""
    while position < end:
        if position + _EXTENSION.size > end:
            return False
        signature, size = _EXTENSION.unpack_from(data, position)
        if signature == b"link":
            return False
        position += _EXTENSION.size + size
    return position == end


_OBJECT_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_REF_NAME = re.compile(r"refs/[A-Za-z0-9._/-]+")
MAX_REF_BYTES = 1 << 20


def head_commit(work_tree: Path) -> str | None:
    """The commit checked out in the work tree at ``work_tree`` (a loose or packed ref, or a
    detached HEAD), read as data from the git directory; None when it cannot be trusted."""
    folder = git_dir(work_tree)
    if folder is None:
        return None
    try:
        head = read_regular_file(folder / "HEAD", MAX_GITDIR_BYTES).decode("ascii").strip()
    except (ReadRefused, UnicodeDecodeError):
        return None
    if _OBJECT_ID.fullmatch(head):
        return head
    if not head.startswith("ref: "):
        return None
    ref = head[len("ref: "):].strip()
    if not _REF_NAME.fullmatch(ref) or ".." in ref.split("/"):
        return None
    try:
        loose = read_regular_file(folder / ref, MAX_GITDIR_BYTES).decode("ascii").strip()
        return loose if _OBJECT_ID.fullmatch(loose) else None
    except (ReadRefused, UnicodeDecodeError):
        pass
    try:
        packed = read_regular_file(folder / "packed-refs", MAX_REF_BYTES).decode("utf-8", "replace")
    except ReadRefused:
        return None
    for line in packed.splitlines():
        object_id, _, name = line.partition(" ")
        if name == ref and _OBJECT_ID.fullmatch(object_id):
            return object_id
    return None
