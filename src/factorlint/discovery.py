"""Which files a run looks at: include/exclude globs, default excludes, .gitignore and the git index.

The tree may come from a pull request, so reading it must never hang, leave the tree or skip part
of it in silence. Whatever discovery leaves out for a reason other than an exclude pattern or a
``.gitignore`` is a TFA0001 diagnostic, which fails the run:

* a folder that cannot be listed or entered, and a ``.gitignore`` that cannot be read (the folder
  is then scanned without it);
* a FIFO, socket or device, in the tree or named on the command line: it is ``stat``-ed, never
  opened (opening a FIFO for reading blocks until a writer comes);
* a symlink that cannot be followed (a loop, a missing target), and a symlink to a file outside
  the scanned folders (the scanned root, each folder named on the command line and the folder of
  each file named there), inside a ``.git`` folder or in an excluded place: the linked file is
  not read, so a link cannot pull a secret into a report;
* a folder named on the command line under which no file is left to lint, with how many paths
  the exclude patterns and ``.gitignore`` files took away.

A file the git index tracks is scanned even when a ``.gitignore`` matches it, as git does (see
:mod:`factorlint.git_index`): a ``.gitignore`` cannot hide tracked agent code. A nested repository
(a submodule) answers for its own files with its own index. As in git, the deepest ``.gitignore``
with a pattern for a path decides, so ``!keep.py`` in a folder re-includes what a ``.gitignore``
above ignores; a ``.gitignore`` that is a symlink is not followed (git does not either).

Folders are walked iteratively with ``os.scandir``, carrying each entry's relative path down rather
than resolving it, so a tree thousands of folders deep neither recurses nor costs a path resolution
per entry. Symlinked folders are not followed (no loops); a folder named on the command line is
walked even when it is a symlink. A path named on the command line is always scanned, unless
``--force-exclude`` is given and an exclude matches it (what pre-commit needs, since it passes
every changed file; such a run may scan nothing and pass).
"""
from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from factorlint.engine.read.source import UNREADABLE
from factorlint.git_index import Tracked, read_tracked, repository_root
from factorlint.model import Diagnostic
from factorlint.safe_read import ReadRefused, not_regular, read_regular_file

if TYPE_CHECKING:
    import pathspec  # imported when a .gitignore is compiled

# The largest .gitignore read; a bigger one is a diagnostic and is not honoured.
MAX_GITIGNORE_BYTES = 5 * 1024 * 1024

# Folders are opened relative to their parent's descriptor where the platform allows it: the kernel
# then resolves one name per folder instead of a path as long as the tree is deep, and a folder
# swapped for a symlink after it was listed is refused (O_NOFOLLOW) rather than followed.
_RELATIVE_OPEN = os.scandir in os.supports_fd and os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
_FOLDER_FLAGS = (
    os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# Descriptors held for folders waiting on the stack; past this, a folder is opened by its path.
_MAX_HELD_FOLDERS = 64


# What handling one entry of a listing came to, when it counts towards the zero-files message.
_FOUND = object()
_EXCLUDED = object()


class DiscoveryError(Exception):
    """A path given on the command line does not exist."""


@dataclass(frozen=True)
class SourceFile:
    path: Path  # as found on disk
    relative: str  # '/'-separated, relative to the scanned root


@dataclass
class Discovery:
    """What discovery found: the files to lint, sorted by relative path, and why anything else it
    met was not scanned (TFA0001 diagnostics, which fail the run)."""

    files: list[SourceFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _resolve(path: Path) -> Path:
    """``path.resolve()``, or the absolute path for a symlink loop (RuntimeError before 3.13)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def _relative(path: Path, root: Path) -> str:
    """The path as found (a symlink keeps its own name), relative to the scanned root."""
    try:
        return (_resolve(path.parent) / path.name).relative_to(_resolve(root)).as_posix()
    except ValueError:
        return path.as_posix()


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


class _Excludes:
    """Exclude patterns, compiled. A pattern without an inner '/' matches any one path component;
    one with an inner '/' matches the whole relative path or a folder above it."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        parts = [p.strip("/") for p in patterns if "/" not in p.strip("/")]
        paths = [p.strip("/") for p in patterns if "/" in p.strip("/")]
        self._part = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in parts)) if parts else None
        whole = [fnmatch.translate(p) for p in paths] + [fnmatch.translate(p + "/*") for p in paths]
        self._path = re.compile("|".join(f"(?:{p})" for p in whole)) if whole else None

    def name(self, name: str) -> bool:
        """Whether a pattern without '/' matches this one path component."""
        return self._part is not None and self._part.match(name) is not None

    def path(self, relative: str) -> bool:
        """Whether a pattern with '/' matches this relative path."""
        return self._path is not None and self._path.match(relative) is not None

    def entry(self, name: str, relative: str) -> bool:
        """An entry whose folders above were already checked component by component."""
        return self.name(name) or self.path(relative)

    def anywhere(self, relative: str) -> bool:
        """A whole relative path, every component checked."""
        return any(self.name(part) for part in PurePosixPath(relative).parts) or self.path(relative)


def _included(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


@dataclass(frozen=True)
class _Spec:
    """One .gitignore: its patterns and its folder's path relative to the anchor, with a '/'."""

    prefix: str
    spec: pathspec.PathSpec

    def verdict(self, anchored: str) -> bool | None:
        """True (ignored), False (re-included by a ``!`` pattern) or None (no pattern matches)."""
        path = anchored[len(self.prefix):]
        check = getattr(self.spec, "check_file", None)
        if check is None:  # pathspec < 0.12: no negative verdict
            return True if self.spec.match_file(path) else None
        return check(path).include


def _compile_gitignore(lines: list[str]) -> pathspec.PathSpec:
    """A .gitignore's patterns; a line pathspec rejects (``!`` alone, a trailing backslash) is
    skipped, as git skips a pattern it cannot use."""
    import pathspec

    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:
        kept = []
        for line in lines:
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except ValueError:
                continue
            kept.append(line)
        return pathspec.GitIgnoreSpec.from_lines(kept)


class _Repository:
    """A git work tree met on the way; its index is read the first time a .gitignore matters."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tracked: Tracked | None = None
        self._loaded = False

    @property
    def tracked(self) -> Tracked | None:
        if not self._loaded:
            self._loaded = True
            self._tracked = read_tracked(self.root)
        return self._tracked


@dataclass(frozen=True)
class _Folder:
    """A folder waiting to be listed, and what applies under it."""

    path: str  # to pass to os.scandir: the given path joined with the names on the way
    relative: str  # relative to the scanned root, '' for the root itself
    anchored: str  # relative to the folder the .gitignore specs are anchored at
    specs: tuple[_Spec, ...]
    repository: _Repository | None
    in_repository: str | None  # relative to the repository's work tree
    ignored: bool = False  # ignored by a .gitignore, walked only for the tracked paths under it
    fd: int | None = None  # an open descriptor of the folder (opened from its parent's), if any


class _Walker:
    """One discovery: the paths named on the command line, walked in turn into one set of files."""

    def __init__(self, paths: list[Path], settings) -> None:
        self.settings = settings
        self.root = settings.root if settings.root.is_dir() else settings.root.parent
        self.excludes = _Excludes(tuple(settings.exclude) + tuple(settings.extend_exclude))
        self.include = tuple(settings.include)
        self.gitignore = bool(settings.respect_gitignore)
        self.found: dict[str, SourceFile] = {}
        self.diagnostics: list[Diagnostic] = []
        self.repositories: dict[Path, _Repository] = {}
        self.held = 0  # descriptors held by folders waiting on the walk's stack
        # A symlink in the tree is followed to a file only inside one of these folders: the scanned
        # root, each folder named on the command line and the folder of each file named there.
        self.scanned_roots = [_resolve(self.root)]
        for given in paths:
            self.scanned_roots.append(_resolve(given) if given.is_dir() else _resolve(given.parent))

    def diagnose(self, path: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(UNREADABLE, path or ".", message))

    def add(self, given: Path) -> None:
        """Scan one path named on the command line."""
        try:
            info = os.lstat(given)
        except FileNotFoundError:
            raise DiscoveryError(f"{given}: no such file or directory") from None
        except OSError as exc:
            self.diagnose(_relative(given, self.root), f"Skipped: it cannot be examined ({_why(exc)})")
            return
        symlink = stat.S_ISLNK(info.st_mode)
        if symlink:
            try:
                info = os.stat(given)
            except OSError as exc:
                self.diagnose(_relative(given, self.root), f"File skipped: symlink cannot be followed ({_why(exc)})")
                return
        if stat.S_ISDIR(info.st_mode):
            self._walk(given)  # a symlinked folder named on the command line is walked
        elif stat.S_ISREG(info.st_mode):
            self._given_file(given, symlink=symlink)
        else:
            self.diagnose(_relative(given, self.root), f"File skipped: {not_regular(info.st_mode)}")

    def _given_file(self, given: Path, *, symlink: bool) -> None:
        relative = _relative(given, self.root)
        if self.settings.force_exclude and self.excludes.anywhere(relative):
            return
        refusal = self._link_refusal(str(given)) if symlink else None
        if refusal:
            self.diagnose(relative, f"File skipped: {refusal}")
            return
        self.found.setdefault(relative, SourceFile(given, relative))

    def _link_refusal(self, path: str) -> str | None:
        """Why the regular file a symlink points to must not be read, or None when it may be."""
        target = Path(os.path.realpath(path))
        for root in self.scanned_roots:
            try:
                inside = target.relative_to(root).as_posix()
            except ValueError:
                continue
            if ".git" in inside.split("/"):
                return "symlink to a file inside a .git folder"
            if self.excludes.anywhere(inside):
                return f"symlink to an excluded file ({inside})"
            return None
        return "symlink to a file outside the scanned folders"

    def _repository(self, work_tree: Path) -> _Repository:
        if work_tree not in self.repositories:
            self.repositories[work_tree] = _Repository(work_tree)
        return self.repositories[work_tree]

    def _load_gitignore(self, folder: str, relative: str, anchored: str, specs: tuple[_Spec, ...]) -> tuple[_Spec, ...]:
        """``specs`` plus the .gitignore of ``folder`` if it has one; one that cannot be read is a
        diagnostic (the folder is scanned without it). A symlinked .gitignore is not honoured:
        git does not follow one either."""
        path = os.path.join(folder, ".gitignore")
        try:
            data = read_regular_file(path, MAX_GITIGNORE_BYTES, follow_symlinks=False)
        except ReadRefused as exc:
            try:
                if stat.S_ISLNK(os.lstat(path).st_mode):
                    return specs
            except FileNotFoundError:
                return specs
            except OSError:
                pass
            self.diagnose(_join(relative, ".gitignore"), f".gitignore not honoured: it cannot be read ({exc})")
            return specs
        lines = data.decode("utf-8", errors="replace").splitlines()
        return (*specs, _Spec(anchored + "/" if anchored else "", _compile_gitignore(lines)))

    def _walk(self, given: Path) -> None:
        """Scan the folder ``given``; a diagnostic when nothing under it is left to lint."""
        resolved = _resolve(given)
        try:  # as the paths under it were always named: from the folder's real place
            base = _posix(resolved.relative_to(_resolve(self.root)).as_posix())
        except ValueError:
            base = _posix(given.as_posix())
        shown = given.as_posix()
        if any(self.excludes.name(part) for part in PurePosixPath(base).parts):
            # An exclude matches a folder of the given path itself: nothing under it is linted.
            self.diagnose(base, f"No Python files found under {shown} (it is excluded)")
            return
        top = _Folder(str(given), base, "", (), None, None)
        if self.gitignore:
            work_tree = repository_root(resolved)
            anchor = work_tree or resolved
            specs: tuple[_Spec, ...] = ()
            # The .gitignore files from the repository's work tree down to the given folder.
            chain = [anchor, *reversed([p for p in resolved.parents if anchor in p.parents])]
            if resolved != anchor:
                chain.append(resolved)
            for folder in chain:
                anchored = _posix(folder.relative_to(anchor).as_posix())
                specs = self._load_gitignore(str(folder), _posix(_relative(folder, self.root)), anchored, specs)
            in_tree = _posix(resolved.relative_to(anchor).as_posix())
            repository = self._repository(work_tree) if work_tree is not None else None
            top = _Folder(str(given), base, in_tree, specs, repository, in_tree if repository is not None else None)
        found, excluded = self._scan(top)
        if not found:
            why = f" ({excluded:,} excluded by exclude patterns or .gitignore)" if excluded else ""
            self.diagnose(base, f"No Python files found under {shown}{why}")

    def _scan(self, top: _Folder) -> tuple[int, int]:
        """Walk the tree under ``top`` without recursion; (files found, entries excluded)."""
        found = excluded = 0
        stack = [top]
        try:
            while stack:
                folder = stack.pop()
                self.held -= folder.fd is not None
                try:
                    fd, entries = self._list(folder, follow=folder is top)
                except OSError as exc:
                    self.diagnose(folder.relative, f"Folder skipped: it cannot be listed ({_why(exc)})")
                    continue
                try:
                    if entries and not _enterable(entries[0]):
                        self.diagnose(
                            folder.relative, "Folder skipped: it can be listed but not entered (permission denied)"
                        )
                        continue
                    if folder is not top and self.gitignore:
                        names = {entry.name for entry in entries}
                        if ".git" in names:  # a nested repository (a submodule): its own index applies
                            nested = self._repository(Path(os.path.abspath(folder.path)))
                            folder = replace(folder, repository=nested, in_repository="")
                        if ".gitignore" in names and not folder.ignored:
                            specs = self._load_gitignore(folder.path, folder.relative, folder.anchored, folder.specs)
                            folder = replace(folder, specs=specs)
                    for entry in entries:
                        outcome = self._entry(entry, folder, fd, stack)
                        if outcome is _FOUND:
                            found += 1
                        elif outcome is _EXCLUDED:
                            excluded += 1
                finally:
                    if fd is not None:
                        os.close(fd)
        finally:
            for waiting in stack:
                if waiting.fd is not None:
                    os.close(waiting.fd)
            self.held = 0
        return found, excluded

    @staticmethod
    def _list(folder: _Folder, *, follow: bool) -> tuple[int | None, list[os.DirEntry]]:
        """The folder's entries, and the open descriptor they were listed from (None when listed by
        path). Only a folder named on the command line may be reached through a symlink."""
        if not _RELATIVE_OPEN:
            with os.scandir(folder.path) as listing:
                return None, list(listing)
        fd = folder.fd
        if fd is None:
            fd = os.open(folder.path, _FOLDER_FLAGS | (0 if follow else _NOFOLLOW))
        try:
            with os.scandir(fd) as listing:
                return fd, list(listing)
        except BaseException:
            os.close(fd)
            raise

    def _gitignored(self, folder: _Folder, name: str, is_dir: bool) -> bool:
        """Whether the .gitignore files in scope ignore the entry (the deepest with a say wins)."""
        if folder.ignored:
            return True
        anchored = _join(folder.anchored, name) + ("/" if is_dir else "")
        for spec in reversed(folder.specs):
            verdict = spec.verdict(anchored)
            if verdict is not None:
                return verdict
        return False

    @staticmethod
    def _tracked(folder: _Folder, name: str, is_dir: bool) -> bool:
        """Whether the git index tracks the entry (for a folder: something under it)."""
        if folder.repository is None or folder.in_repository is None:
            return False
        tracked = folder.repository.tracked
        if tracked is None:
            return False
        path = _join(folder.in_repository, name)
        return tracked.has_dir(path) if is_dir else tracked.has_file(path)

    def _entry(self, entry: os.DirEntry, folder: _Folder, fd: int | None, stack: list[_Folder]) -> object | None:
        """Handle one entry of the listing of ``folder`` (open as ``fd``, if not None): _FOUND,
        _EXCLUDED or None."""
        name = entry.name
        relative = _join(folder.relative, name)
        path = os.path.join(folder.path, name)  # entry.path is only the name when listed from fd
        try:
            is_link = entry.is_symlink()
            is_dir = not is_link and entry.is_dir(follow_symlinks=False)
            is_file = not is_link and not is_dir and entry.is_file(follow_symlinks=False)
        except OSError as exc:
            self.diagnose(relative, f"Skipped: it cannot be examined ({_why(exc)})")
            return None
        if is_dir:
            if self.excludes.entry(name, relative):
                return _EXCLUDED
            ignored = self.gitignore and self._gitignored(folder, name, True)
            if ignored and not self._tracked(folder, name, True):
                return _EXCLUDED
            in_repository = None if folder.in_repository is None else _join(folder.in_repository, name)
            stack.append(_Folder(
                path, relative, _join(folder.anchored, name), folder.specs, folder.repository,
                in_repository, ignored, self._open_child(fd, name),
            ))
            return None
        if not _included(name, self.include):
            return None
        if self.excludes.entry(name, relative):
            return _EXCLUDED
        if self.gitignore and self._gitignored(folder, name, False) and not self._tracked(folder, name, False):
            return _EXCLUDED
        if is_link:
            try:
                mode = os.stat(path).st_mode
            except OSError as exc:
                self.diagnose(relative, f"File skipped: symlink cannot be followed ({_why(exc)})")
                return None
            if stat.S_ISDIR(mode):
                return None  # symlinked folders are not followed
            refusal = (
                f"symlink to a file that is {not_regular(mode)}" if not stat.S_ISREG(mode)
                else self._link_refusal(path)
            )
            if refusal:
                self.diagnose(relative, f"File skipped: {refusal}")
                return None
        elif not is_file:
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                self.diagnose(relative, f"File skipped: it cannot be examined ({_why(exc)})")
                return None
            self.diagnose(relative, f"File skipped: {not_regular(mode)}")
            return None
        self.found.setdefault(relative, SourceFile(Path(path), relative))
        return _FOUND

    def _open_child(self, fd: int | None, name: str) -> int | None:
        """A descriptor of the subfolder ``name`` of the folder open as ``fd``, or None (it is then
        opened by its path when its turn comes, where a failure is diagnosed)."""
        if fd is None or self.held >= _MAX_HELD_FOLDERS:
            return None
        try:
            child = os.open(name, _FOLDER_FLAGS | _NOFOLLOW, dir_fd=fd)
        except OSError:
            return None
        self.held += 1
        return child


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _posix(relative: str) -> str:
    """A relative POSIX path, '' for the folder itself ('.')."""
    return "" if relative == "." else relative


def _enterable(entry: os.DirEntry) -> bool:
    """Whether a listed folder's entries can be reached: a folder can be readable (listed) and
    not searchable (entered)."""
    try:
        entry.stat(follow_symlinks=False)
    except PermissionError:
        return False
    except OSError:
        pass
    return True


def discover(paths: list[Path], settings) -> Discovery:
    """The files to lint under ``paths`` and the diagnostics of what could not be scanned."""
    walker = _Walker(paths, settings)
    for given in paths:
        walker.add(given)
    files = sorted(walker.found.values(), key=lambda f: f.relative)
    diagnostics = sorted(walker.diagnostics, key=lambda d: d.path)
    return Discovery(files, diagnostics)


def excluded_by_own_config(files: list[SourceFile], settings) -> list[SourceFile]:
    """The files a nested configuration (``Settings.nested``) excludes from its own folder: its
    ``exclude`` and ``extend-exclude`` patterns, matched against the path below that folder."""
    if not getattr(settings, "nested", ()):
        return []
    matchers = {
        prefix: _Excludes(tuple(child.exclude) + tuple(child.extend_exclude)) for prefix, child in settings.nested
    }
    dropped = []
    for source in files:
        for prefix, _ in settings.nested:
            if source.relative.startswith(prefix):
                if matchers[prefix].anywhere(source.relative[len(prefix):]):
                    dropped.append(source)
                break
    return dropped
