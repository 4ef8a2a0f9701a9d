"""The result cache: each file's whole FileResult (findings, sites, facts) from an earlier run.

factorlint scans code it does not trust (pull requests from forks, pre-commit on any checkout), so
the cache is built so that nothing a scanned tree contains, and nothing else another user can
write, is ever taken for a result, let alone run:

- **Data, validated.** A cache file is text, one JSON record per line (:mod:`engine.cache_codec`),
  never pickle. Each entry's line carries a SHA-256 of itself and is checked when the file is
  read; its result is parsed and rebuilt field by field, types and bounds checked, when it is
  used. A file or entry of the wrong shape is dropped (and the file rewritten on save); it is
  never an error.
- **Outside the scanned tree.** By default the cache is a per-user folder (:func:`default_cache_dir`),
  not a folder in the project. A cache folder inside any scanned path is not used at all, even one
  named with ``--cache-dir``: whoever wrote the scanned code could have written it. (So a scan of
  a folder that holds the cache folder, a home folder say, runs without a cache.)
- **Only the user's own folder.** On every use the folder must be a real directory (not a symlink),
  owned by the current user and writable by no one else; a cache file must be a regular file with
  the same owner and permissions, no bigger than :data:`MAX_CACHE_BYTES`. A folder the user names
  gets no exemption: a group-writable one lets a group member plant results that hide findings,
  so it is not used (``problem`` says why). Folders are created with mode 0700, files written with
  0600 through a temporary file, fsync and rename. Files are opened relative to the checked
  folder's descriptor with ``O_NOFOLLOW``, and ``O_NONBLOCK`` plus ``fstat`` so that a FIFO never
  blocks. (Windows has no owner or mode bits here: there the folder must not be a symlink or
  junction, and ``%LOCALAPPDATA%``'s per-user ACL does the rest.)
- **Keyed by the project and the bytes.** A cache file holds one project root (its real absolute
  path) under one settings key (factorlint's version and code, the knowledge tables, the
  settings), so checkouts sharing the per-user folder never read each other's entries. An entry is
  taken only when the bytes read now hash to the SHA-256 it records; size may rule an entry out,
  never in, and modification times are not used at all (``cp -p`` and ``rsync -t`` keep them).

Cache files not used for :data:`PRUNE_AFTER_SECONDS` are deleted when the folder is next saved to.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from factorlint import __version__
from factorlint.engine.run import cache_codec as codec
from factorlint.engine.run.cache_codec import CacheFormatError
from factorlint.model import FileResult

# The folder named in the docs and by older releases; a scanned tree may still ship one. It is
# never read: a cache folder inside a scanned tree is refused whatever its name.
CACHE_DIR_NAME = ".factorlint_cache"

# A cache file bigger than this is not read (a JSON document costs several times its size in
# memory) and not written. openai-agents, 460k lines and 970 files, needs about 20 MiB.
MAX_CACHE_BYTES = 256 << 20
PRUNE_AFTER_SECONDS = 30 * 24 * 3600
_STALE_TEMP_SECONDS = 3600

_CACHE_FILE = re.compile(r"[0-9a-f]{16}-[0-9a-f]{24}\.json\Z")
_TEMP_PREFIX = ".tmp-"
_MARKERS = {
    "CACHEDIR.TAG": b"Signature: 8a477f597d28d172789f06886806bc55\n# factorlint cache: https://bford.info/cachedir/\n",
    ".gitignore": b"# Created by factorlint\n*\n",
}

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
# Whether files can be opened relative to a checked folder's descriptor, without following a
# symlink in the last component (Linux, macOS, the BSDs). Elsewhere the checks use lstat.
_DIR_FD = (
    hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
    and {os.open, os.rename, os.unlink, os.stat} <= os.supports_dir_fd
    and os.scandir in os.supports_fd
)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def default_cache_dir() -> Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/factorlint`` or ``~/.cache/factorlint``, and
    ``%LOCALAPPDATA%\\factorlint\\Cache`` on Windows.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG spec says. Without a home folder the
    fallback is ``factorlint-<uid>`` in the temporary folder; another user who creates it first
    only turns the cache off, since a folder owned by someone else is never used.
    """
    if os.name == "nt":
        local = os.environ.get("LOCALAPPDATA", "")
        if local and os.path.isabs(local):
            return Path(local) / "factorlint" / "Cache"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        if xdg and os.path.isabs(xdg):
            return Path(xdg) / "factorlint"
    try:
        home = Path.home()
    except (RuntimeError, KeyError, OSError):
        home = None
    if home is not None and home.is_absolute():
        if os.name == "nt":
            return home / "AppData" / "Local" / "factorlint" / "Cache"
        return home / ".cache" / "factorlint"
    uid = os.geteuid() if hasattr(os, "geteuid") else os.getpid()
    return Path(tempfile.gettempdir()) / f"factorlint-{uid}"


def stamped_files() -> list[tuple[Path, Path]]:
    """(root, file) for every file a result may depend on: the whole package (engine, rules,
    audit) and the knowledge tables, wherever they are installed."""
    from factorlint.knowledge import _knowledge_root

    package = Path(__file__).resolve().parents[2]
    roots = [package]
    tables = _knowledge_root().resolve()
    if not tables.is_relative_to(package):
        roots.append(tables)
    return [
        (root, path) for root in roots for path in sorted(root.rglob("*"))
        if path.suffix in (".py", ".toml", ".css")
    ]


def _code_stamp() -> str:
    """The package's own files and knowledge tables, by name, size and mtime (cheap to stat)."""
    stamp = hashlib.sha256(__version__.encode())
    for root, path in stamped_files():
        info = path.stat()
        stamp.update(f"{root.name}/{path.relative_to(root)}:{info.st_size}:{info.st_mtime_ns}".encode())
    return stamp.hexdigest()


# Settings that no file's result depends on. ``root`` as written (``.``, ``src``, an absolute
# path) is left out: the cache file is named after the root's real path and holds paths relative
# to it, so ``factorlint check .`` from the project's folder, ``factorlint check /abs/project`` and
# a pre-commit run on one file of that project (see factorlint.project_context) share entries.
# ``force-exclude`` only decides whether a path named on the command line is scanned.
_NOT_IN_KEY = frozenset({"root", "force_exclude", "overrides"})


def settings_key(settings) -> str:
    """Everything besides a file's bytes that its result depends on, hashed: 24 hex digits."""
    fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.name not in _NOT_IN_KEY}
    if fields.get("nested"):
        # The configurations below the root, by their own keys (their sets print in hash order).
        fields["nested"] = tuple((prefix, settings_key(child)) for prefix, child in fields["nested"])
    # Sets print in hash order, which changes per process: sort them so the key is stable.
    text = repr(sorted((k, sorted(v) if isinstance(v, (set, frozenset)) else v) for k, v in fields.items()))
    return hashlib.sha256(f"{codec.FORMAT}:{_code_stamp()}:{text}".encode()).hexdigest()[:24]


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def project_id(root: Path) -> str:
    """The real absolute path of the scanned root, as the cache records it."""
    return os.path.normcase(os.path.realpath(root))


def cache_file_name(root: Path, key: str) -> str:
    """``<16 hex of SHA-256 of the root's real path>-<settings key>.json``."""
    ident = hashlib.sha256(project_id(root).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{ident}-{key}.json"


def read_source(path: Path, limit: int) -> bytes | None:
    """A source file's bytes; None when it is not a regular file, is over ``limit`` bytes or
    cannot be read (the caller then reports it as a run without the cache would). The checks are
    those of :func:`factorlint.safe_read.read_regular_file`: a FIFO or device that replaced the
    file since discovery never blocks the run."""
    from factorlint.safe_read import ReadRefused, read_regular_file

    try:
        return read_regular_file(path, limit)
    except (ReadRefused, ValueError):
        return None


def _read_at_most(handle: int, limit: int, expected: int) -> bytes | None:
    """All bytes from ``handle``, or None when there are more than ``limit``."""
    chunks: list[bytes] = []
    total = 0
    want = min(expected, limit) + 1  # one more than expected, to see the end in one read
    while True:
        chunk = os.read(handle, max(1, min(want, limit + 1 - total)))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return None
        want = 1 << 20


def _ownership_problem(info: os.stat_result, what: str) -> str | None:
    """Why a folder or file with this ``stat`` may not be trusted, or None."""
    if os.name == "nt":
        return None  # no meaningful owner or mode bits: the per-user ACL decides
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    if euid is not None and info.st_uid != euid:
        return f"{what} is owned by uid {info.st_uid}, not by this user (uid {euid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{what} is writable by other users (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def _link_problem(info: os.stat_result, what: str) -> str | None:
    if stat.S_ISLNK(info.st_mode):
        return f"{what} is a symlink"
    reparse = getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0)
    if reparse and getattr(info, "st_file_attributes", 0) & reparse:
        return f"{what} is a junction or link"
    return None


def _make_folder(path: Path) -> None:
    """Create ``path`` and any missing parent with mode 0700 (the XDG spec's mode for ~/.cache)."""
    missing = []
    current = path
    while not os.path.lexists(current) and current.parent != current:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass


class _Folder:
    """A cache folder checked just now, with the file operations the cache needs inside it.

    Where the platform allows, operations go through the checked folder's descriptor, so a folder
    renamed or swapped for a symlink after the check is not the one written to.
    """

    def __init__(self, path: Path, handle: int | None) -> None:
        self.path = path
        self.handle = handle

    @classmethod
    def open(cls, path: Path, create: bool) -> tuple[_Folder | None, str | None]:
        """The folder, or None and why it may not be used (None and None: it does not exist)."""
        try:
            if create:
                _make_folder(path)
            info = os.lstat(path)
        except FileNotFoundError:
            return None, None
        except (OSError, ValueError) as exc:
            return None, f"cache folder {path} cannot be used: {exc}"
        problem = _link_problem(info, f"cache folder {path}")
        if problem is None and not stat.S_ISDIR(info.st_mode):
            problem = f"cache folder {path} is not a directory"
        if problem is not None:
            return None, problem
        if not _DIR_FD:
            problem = _ownership_problem(info, f"cache folder {path}")
            return (None, problem) if problem else (cls(path, None), None)
        try:
            handle = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
        except OSError as exc:
            return None, f"cache folder {path} cannot be opened: {exc.strerror or exc}"
        try:
            info = os.fstat(handle)
        except OSError as exc:
            os.close(handle)
            return None, f"cache folder {path} cannot be checked: {exc.strerror or exc}"
        problem = _ownership_problem(info, f"cache folder {path}")
        if problem is not None or not stat.S_ISDIR(info.st_mode):
            os.close(handle)
            return None, problem or f"cache folder {path} is not a directory"
        return cls(path, handle), None

    def close(self) -> None:
        if self.handle is not None:
            os.close(self.handle)
            self.handle = None

    def _at(self, name: str) -> str:
        return name if self.handle is not None else os.path.join(self.path, name)

    def read(self, name: str) -> bytes | None:
        """The file's bytes if it is a regular file of ours within MAX_CACHE_BYTES, else None."""
        if self.handle is None:
            try:
                info = os.lstat(self._at(name))
            except OSError:
                return None
            if _link_problem(info, name) or not stat.S_ISREG(info.st_mode):
                return None
        flags = os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC | _O_BINARY
        try:
            handle = os.open(self._at(name), flags, dir_fd=self.handle)
        except OSError:
            return None  # absent, a symlink (ELOOP), unreadable
        try:
            info = os.fstat(handle)
            if not stat.S_ISREG(info.st_mode) or _ownership_problem(info, name):
                return None
            if info.st_size > MAX_CACHE_BYTES:
                return None
            return _read_at_most(handle, MAX_CACHE_BYTES, info.st_size)
        except OSError:
            return None
        finally:
            os.close(handle)

    def write(self, name: str, data: bytes | list[bytes]) -> None:
        """Replace ``name`` with ``data`` (or those lines, each ended by a newline) atomically: a
        0600 temporary file, fsync, rename."""
        temporary = f"{_TEMP_PREFIX}{secrets.token_hex(8)}.json"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
        handle = os.open(self._at(temporary), flags, 0o600, dir_fd=self.handle)
        try:
            try:
                if hasattr(os, "fchmod"):
                    os.fchmod(handle, 0o600)  # the umask can only remove bits; make it exact
                if isinstance(data, bytes):
                    _write_all(handle, data)
                else:
                    with os.fdopen(os.dup(handle), "wb", buffering=1 << 20) as stream:
                        for line in data:
                            stream.write(line)
                            stream.write(b"\n")
                os.fsync(handle)
            finally:
                os.close(handle)
            os.replace(self._at(temporary), self._at(name), src_dir_fd=self.handle, dst_dir_fd=self.handle)
        except BaseException:
            try:
                os.unlink(self._at(temporary), dir_fd=self.handle)
            except OSError:
                pass
            raise
        if self.handle is not None:
            try:
                os.fsync(self.handle)  # the rename itself
            except OSError:
                pass

    def create_once(self, name: str, data: bytes) -> None:
        """Write a small marker file unless something of that name exists already."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
        try:
            handle = os.open(self._at(name), flags, 0o600, dir_fd=self.handle)
        except OSError:
            return
        try:
            os.write(handle, data)
        finally:
            os.close(handle)

    def touch(self, name: str) -> None:
        """Mark ``name`` as used now (pruning goes by modification time)."""
        try:
            if self.handle is None:
                os.utime(self._at(name))  # at worst, the times of something else change
            elif os.utime in os.supports_dir_fd and os.utime in os.supports_follow_symlinks:
                os.utime(name, dir_fd=self.handle, follow_symlinks=False)
        except (OSError, NotImplementedError):
            pass  # not pruned as early as it could be: nothing more

    def prune(self, keep: str) -> None:
        """Delete cache files unused for PRUNE_AFTER_SECONDS and temporary files left by a killed run."""
        now = time.time()
        with os.scandir(self.handle if self.handle is not None else self.path) as listing:
            for item in listing:
                name = item.name
                temporary = name.startswith(_TEMP_PREFIX)
                if name == keep or not (temporary or _CACHE_FILE.match(name)):
                    continue
                try:
                    info = item.stat(follow_symlinks=False)
                    limit = _STALE_TEMP_SECONDS if temporary else PRUNE_AFTER_SECONDS
                    if now - info.st_mtime > limit:
                        os.unlink(self._at(name), dir_fd=self.handle)
                except OSError:
                    continue


def _inside_scanned_tree(folder: Path, scanned: Iterable[Path]) -> str | None:
    """Why ``folder`` may not hold the cache because a scanned tree contains it, or None."""
    try:
        real = Path(os.path.realpath(folder))
        for path in scanned:
            base = path if path.is_dir() else path.parent
            tree = Path(os.path.realpath(base))
            if real == tree or tree in real.parents:
                return f"cache folder {folder} is inside the scanned tree {base}"
    except (OSError, ValueError) as exc:  # a NUL in a path, a loop of symlinks
        return f"cache folder {folder} cannot be resolved: {exc}"
    return None


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view):]


@dataclasses.dataclass
class Entry:
    """One file's stored result, still in the cache file's form (parsed only when used)."""

    size: int  # bytes of the file; a different size rules the entry out without hashing
    digest: str  # SHA-256 of those bytes: the only thing that lets the entry in
    module: str  # the module name the file was analysed as
    line: bytes  # the whole line, written back as it was read
    start: int  # where the FileResult (the codec's JSON) begins in it: kept once, not twice

    @property
    def result(self) -> bytes:
        return self.line[self.start:]


def _entries(data: bytes, root: str, key: str) -> tuple[dict[str, Entry], bool]:
    """The entries of a cache file whose header names this root and key, and whether any line
    was dropped; CacheFormatError when the file as a whole is not one."""
    header, _, rest = data.partition(b"\n")
    codec.check_header(header, root, key)
    entries: dict[str, Entry] = {}
    dropped = not data.endswith(b"\n")  # a file always ends with a newline: this one was cut
    for line in rest.split(b"\n"):
        if not line:
            continue
        try:
            relative, size, digest, module, result = codec.decode_entry(line)
        except CacheFormatError:
            dropped = True
            continue
        dropped = dropped or relative in entries
        entries[relative] = Entry(size, digest, module, line, len(line) - len(result))
    return entries, dropped


class ResultCache:
    """The cache for one project root and one settings key, read once and saved once per run.

    ``problem`` says why the cache is not used (None when it is); a cache with a problem serves
    no hits and writes nothing, and the run goes on without it.
    """

    def __init__(self, folder: Path, key: str, root: Path, scanned: Iterable[Path] = ()) -> None:
        self.folder = folder
        self.key = key
        self.root = project_id(root)
        self.name = cache_file_name(root, key)
        self.path = folder / self.name
        self.entries: dict[str, Entry] = {}
        self.fresh: dict[str, Entry] = {}
        self.hits = 0
        self.dirty = True  # the file on disk is not what save() would write
        self.problem = _inside_scanned_tree(folder, [root, *scanned])
        if self.problem is not None:
            return
        opened, self.problem = _Folder.open(folder, create=False)
        if opened is None:
            return
        try:
            data = opened.read(self.name)
        finally:
            opened.close()
        if data is None:
            return
        try:
            self.entries, self.dirty = _entries(data, self.root, key)
        except CacheFormatError:
            self.entries = {}

    def lookup(self, relative: str, module: str, data: bytes, *, facts_only: bool = False) -> FileResult | None:
        """The stored result for ``relative`` if ``data`` (its bytes, read now) is what it
        describes and the file is still the module ``module``; else None. With ``facts_only``,
        only what the project pass needs of a file that is not reported (see
        ``cache_codec.decode_result``)."""
        entry = self.entries.get(relative)
        if entry is None or entry.module != module or entry.size != len(data):
            return None
        digest = digest_of(data)
        if digest != entry.digest:
            return None
        try:
            result = codec.decode_result(entry.result, relative, digest, facts_only=facts_only)
        except CacheFormatError:
            del self.entries[relative]
            self.dirty = True
            return None
        self.hits += 1
        return result

    def store(self, relative: str, module: str, data: bytes, result: FileResult) -> None:
        """Keep ``result`` (the analysis of ``data``) for the next run, as it is now: the project
        pass changes results afterwards, and what is stored must be the per-file analysis."""
        if self.problem is not None:
            return
        digest = digest_of(data)
        if result.path != relative or result.digest != digest:
            return
        try:
            encoded = codec.encode_result(result)
        except CacheFormatError:
            return  # something the format cannot carry exactly: analysed again next time
        line = codec.encode_entry(relative, len(data), digest, module, encoded)
        self.fresh[relative] = Entry(len(data), digest, module, line, len(line) - len(encoded))
        self.dirty = True

    def save(self) -> None:
        """Write the entries read before plus this run's (a run over a few files keeps the rest).

        Nothing is rewritten when nothing changed; the file is touched so it is not pruned. Any
        error leaves the cache as it was: a run never fails because of its cache.
        """
        if self.problem is not None:
            return
        opened, self.problem = _Folder.open(self.folder, create=True)
        if opened is None:
            return
        try:
            for name, content in _MARKERS.items():
                opened.create_once(name, content)
            if self.dirty:
                merged = {**self.entries, **self.fresh}
                lines = [codec.encode_header(self.root, self.key), *(e.line for e in merged.values())]
                # Written line by line: a copy of the whole file in memory would add its size
                # (40 MB for a 470k-line project) to the run's peak.
                if sum(len(line) + 1 for line in lines) <= MAX_CACHE_BYTES:
                    opened.write(self.name, lines)
                    self.entries, self.fresh, self.dirty = merged, {}, False
            else:
                opened.touch(self.name)
            opened.prune(keep=self.name)
        except OSError:
            pass  # a read-only or full disk: the next run starts without these results
        finally:
            opened.close()
