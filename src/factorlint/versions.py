"""Which versions of the agent libraries the scanned project pins.

Version-aware rules (a default that changed between releases) read them from lock files and pins:
uv.lock, poetry.lock, pdm.lock, Pipfile.lock, requirements*.txt and ``==`` pins in pyproject.toml.
Nothing is imported or installed: only text is read.

The files come from the project under review, so reading them must not hang, exhaust memory or
leave the tree: each is read only when it is a regular file of at most
:data:`~factorlint.safe_read.PROJECT_FILE_MAX_BYTES` (a FIFO or a symlink to ``/dev/zero`` is
skipped), and a symlink is followed only to a file inside the project's repository (the folder
itself outside a repository), never into a ``.git`` folder. A file that cannot be read or parsed,
or has an unexpected shape (``dependencies = 5``), adds no versions and raises nothing: versions
only refine rules, so a project without readable pins is linted with the version-free defaults.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from factorlint import compiled_cache
from factorlint.git_index import repository_root
from factorlint.safe_read import read_project_text as _read

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([0-9][^\s;,#]*)")
# At most this many requirements*.txt files are read from one folder.
_MAX_REQUIREMENTS_FILES = 50


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse(text: str | None, parser) -> Any:
    """``parser(text)``, or None for text that is missing, malformed or nested too deeply."""
    if text is None:
        return None
    try:
        return parser(text)
    except (ValueError, RecursionError):  # TOMLDecodeError and JSONDecodeError are ValueErrors
        return None


def _table(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _pin(requirement: Any, found: dict[str, str]) -> None:
    if isinstance(requirement, str):
        match = _PIN.match(requirement)
        if match:
            found.setdefault(_normalise(match.group(1)), match.group(2))


def _from_lock_toml(text: str | None, found: dict[str, str]) -> None:
    if text is None:
        return
    for name, version in _lock_pins(text):
        found.setdefault(name, version)


# A lock file at least this large is parsed once per content: the TOML parser takes about a
# tenth of a second over openai-agents' 900 KB uv.lock, which was 6% of a run from the cache.
_LOCK_KEPT_FROM = 64 * 1024


def _lock_pins(text: str) -> list[tuple[str, str]]:
    """Each ``[[package]]``'s normalised name and version, in the file's order; kept in the
    compiled-data folder (:mod:`factorlint.compiled_cache`) under the text's digest and read
    back checked, for a large file."""
    kept = None
    if len(text) >= _LOCK_KEPT_FROM and compiled_cache.folder_in_use() is not None:
        source = compiled_cache.source_digest(sys.modules[__name__])
        kept = compiled_cache.key_of("lock", [source, text.encode("utf-8", "surrogatepass")])
        stored = _checked_pins(compiled_cache.read(kept))
        if stored is not None:
            return stored
    pins = []
    for package in _list(_table(_parse(text, tomllib.loads)).get("package")):
        package = _table(package)
        name, version = package.get("name"), package.get("version")
        if isinstance(name, str) and isinstance(version, str):
            pins.append((_normalise(name), version))
    if kept is not None:
        compiled_cache.write(kept, pins)
    return pins


def _checked_pins(data: Any) -> list[tuple[str, str]] | None:
    """The stored pins, or None when ``data`` is anything but a list of [name, version] strings."""
    if type(data) is not list:
        return None
    pins = []
    for item in data:
        if type(item) is not list or len(item) != 2 or any(type(part) is not str or len(part) > 512 for part in item):
            return None
        pins.append((item[0], item[1]))
    return pins


def _from_requirements(text: str | None, found: dict[str, str]) -> None:
    for line in (text or "").splitlines():
        _pin(line, found)


def _from_pyproject(text: str | None, found: dict[str, str]) -> None:
    project = _table(_table(_parse(text, tomllib.loads)).get("project"))
    for dependency in _list(project.get("dependencies")):
        _pin(dependency, found)
    for extra in _table(project.get("optional-dependencies")).values():
        for dependency in _list(extra):
            _pin(dependency, found)


def _from_pipfile_lock(text: str | None, found: dict[str, str]) -> None:
    data = _table(_parse(text, json.loads))
    for section in ("default", "develop"):
        for name, info in _table(data.get(section)).items():
            version = _table(info).get("version")
            if isinstance(version, str) and version.lstrip("="):
                found.setdefault(_normalise(name), version.lstrip("="))


def _requirements_files(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as listing:
            names = sorted(e.name for e in listing if e.name.startswith("requirements") and e.name.endswith(".txt"))
    except OSError:
        return []
    return [folder / name for name in names[:_MAX_REQUIREMENTS_FILES]]


def detect_versions(*folders: Path) -> dict[str, str]:
    """Pinned versions by normalised distribution name; the first folder given wins."""
    found: dict[str, str] = {}
    seen: set[Path] = set()
    for folder in folders:
        try:
            folder = folder.resolve()
        except (OSError, RuntimeError):
            continue
        if folder in seen or not folder.is_dir():
            continue
        seen.add(folder)
        boundary = repository_root(folder) or folder
        for name in ("uv.lock", "poetry.lock", "pdm.lock"):
            _from_lock_toml(_read(folder / name, boundary), found)
        _from_pipfile_lock(_read(folder / "Pipfile.lock", boundary), found)
        for requirements in _requirements_files(folder):
            _from_requirements(_read(requirements, boundary), found)
        _from_pyproject(_read(folder / "pyproject.toml", boundary), found)
    return found


def version_of(settings, distribution: str):
    return (getattr(settings, "versions", None) or {}).get(_normalise(distribution))
