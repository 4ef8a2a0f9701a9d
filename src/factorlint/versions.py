"""Which versions of the agent libraries the scanned project pins.

Version-aware rules (a default that changed between releases) read them from lock files and pins:
uv.lock, poetry.lock, pdm.lock, Pipfile.lock, requirements*.txt and ``==`` pins in pyproject.toml.
Nothing is imported or installed: only text is read.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([0-9][^\s;,#]*)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _from_lock_toml(path: Path, found: dict[str, str]) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return
    for package in data.get("package", []) or []:
        if isinstance(package, dict) and "name" in package and "version" in package:
            found.setdefault(_normalise(str(package["name"])), str(package["version"]))


def _from_requirements(path: Path, found: dict[str, str]) -> None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for line in lines:
        match = _PIN.match(line)
        if match:
            found.setdefault(_normalise(match.group(1)), match.group(2))


def _from_pyproject(path: Path, found: dict[str, str]) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return
    project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
    deps = list(project.get("dependencies", []) or [])
    for extra in (project.get("optional-dependencies", {}) or {}).values():
        deps.extend(extra or [])
    for dep in deps:
        match = _PIN.match(str(dep))
        if match:
            found.setdefault(_normalise(match.group(1)), match.group(2))


def _from_pipfile_lock(path: Path, found: dict[str, str]) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for section in ("default", "develop"):
        for name, info in (data.get(section) or {}).items():
            version = str((info or {}).get("version", "")).lstrip("=")
            if version:
                found.setdefault(_normalise(name), version)


def detect_versions(*folders: Path) -> dict[str, str]:
    """Pinned versions by normalised distribution name; the first folder given wins."""
    found: dict[str, str] = {}
    seen: set[Path] = set()
    for folder in folders:
        try:
            folder = folder.resolve()
        except OSError:
            continue
        if folder in seen or not folder.is_dir():
            continue
        seen.add(folder)
        for name in ("uv.lock", "poetry.lock", "pdm.lock"):
            if (folder / name).is_file():
                _from_lock_toml(folder / name, found)
        if (folder / "Pipfile.lock").is_file():
            _from_pipfile_lock(folder / "Pipfile.lock", found)
        for requirements in sorted(folder.glob("requirements*.txt")):
            _from_requirements(requirements, found)
        if (folder / "pyproject.toml").is_file():
            _from_pyproject(folder / "pyproject.toml", found)
    return found


def version_of(settings, distribution: str):
    return (getattr(settings, "versions", None) or {}).get(_normalise(distribution))
