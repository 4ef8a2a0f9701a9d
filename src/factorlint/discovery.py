"""Which files a run looks at: include/exclude globs, default excludes and .gitignore.

Directories are walked without following symlinks (no loops). A path named on the command line is
always scanned, unless ``--force-exclude`` is given and an exclude matches it (what pre-commit
needs, since it passes every changed file).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pathspec


class DiscoveryError(Exception):
    """A path given on the command line does not exist."""


@dataclass(frozen=True)
class SourceFile:
    path: Path  # as found on disk
    relative: str  # '/'-separated, relative to the scanned root


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


def _excluded(relative: str, patterns: tuple[str, ...]) -> bool:
    pure = PurePosixPath(relative)
    for pattern in patterns:
        if "/" in pattern.strip("/"):
            if fnmatch.fnmatchcase(relative, pattern.strip("/")) or fnmatch.fnmatchcase(
                relative, pattern.strip("/") + "/*"
            ):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern.strip("/")) for part in pure.parts):
            return True
    return False


def _included(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


class _GitIgnores:
    """The .gitignore files met on the way down, each applied relative to its own folder."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.specs: list[tuple[Path, pathspec.PathSpec]] = []

    def load(self, folder: Path) -> None:
        if not self.enabled:
            return
        ignore_file = folder / ".gitignore"
        if ignore_file.is_file():
            try:
                lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                return
            self.specs.append((folder, pathspec.GitIgnoreSpec.from_lines(lines)))

    def ignored(self, path: Path, is_dir: bool) -> bool:
        for folder, spec in self.specs:
            try:
                relative = path.relative_to(folder).as_posix()
            except ValueError:
                continue
            if spec.match_file(relative + ("/" if is_dir else "")):
                return True
        return False


def _git_root_ignores(start: Path, ignores: _GitIgnores) -> None:
    """Load .gitignore files from the repository root down to ``start``."""
    chain = []
    for folder in (start, *start.parents):
        chain.append(folder)
        if (folder / ".git").exists():
            break
    else:
        chain = [start]
    for folder in reversed(chain):
        ignores.load(folder)


def discover(paths: list[Path], settings) -> list[SourceFile]:
    root = settings.root if settings.root.is_dir() else settings.root.parent
    patterns = tuple(settings.exclude) + tuple(settings.extend_exclude)
    found: dict[str, SourceFile] = {}
    for given in paths:
        if not given.exists() and not given.is_symlink():
            raise DiscoveryError(f"{given}: no such file or directory")
        if given.is_file():
            relative = _relative(given, root)
            if settings.force_exclude and _excluded(relative, patterns):
                continue
            found.setdefault(relative, SourceFile(given, relative))
            continue
        ignores = _GitIgnores(settings.respect_gitignore)
        _git_root_ignores(_resolve(given), ignores)
        for folder, dirs, files in os.walk(given, followlinks=False):
            current = Path(folder)
            if _resolve(current) != _resolve(given):
                ignores.load(_resolve(current))  # absolute, like the paths it is matched against
            kept_dirs = []
            for name in sorted(dirs):
                child = current / name
                relative = _relative(child, root)
                if _excluded(relative, patterns) or ignores.ignored(_resolve(child), True):
                    continue
                kept_dirs.append(name)
            dirs[:] = kept_dirs
            for name in sorted(files):
                if not _included(name, settings.include):
                    continue
                child = current / name
                relative = _relative(child, root)
                if _excluded(relative, patterns) or ignores.ignored(_resolve(child), False):
                    continue
                found.setdefault(relative, SourceFile(child, relative))
    return sorted(found.values(), key=lambda f: f.relative)
