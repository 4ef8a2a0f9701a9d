"""The name the scanned project is published under, read from its packaging metadata as data.

Library mode needs it. When the project under review is itself a framework of the knowledge
tables (the openai-agents repository, whose ``agents`` package is the OpenAI Agents SDK), that
framework's API is the project's own code, not a framework it uses: rules see the tables without
it (:meth:`factorlint.knowledge.Knowledge.without`), and :func:`library_frameworks` says which
frameworks those are for a run.

The project folder is the closest folder at or above the scanned one, within its repository (up
to the filesystem's root outside any), that holds packaging metadata. Its name is the first of
these that names it:

1. ``pyproject.toml``: ``[project] name`` (PEP 621), else ``[tool.poetry] name``;
2. ``setup.cfg``: ``[metadata] name``;
3. ``setup.py``: the ``name=`` string of its ``setup(...)`` call, or the module-level string
   constant it names, read with :mod:`ast`; the file is never run;
4. ``PKG-INFO`` (an sdist) or the ``METADATA`` of the folder's only ``*.dist-info`` folder (an
   unpacked wheel): the ``Name:`` header.

These files come from the tree under review and are read as its other project files are
(:mod:`factorlint.safe_read`): only a regular file of at most
:data:`~factorlint.safe_read.PROJECT_FILE_MAX_BYTES`, and through a symlink only when it points
inside the project's repository and not into ``.git``. A file that is malformed, too large, a FIFO
or a folder, or names no valid distribution, is passed over without a word: the project is then
linted as an application, as it would be without library mode.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import sys
import warnings
from pathlib import Path

from factorlint.git_index import repository_root
from factorlint.safe_read import read_project_text as _read

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_METADATA_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "PKG-INFO")
# A valid distribution name (PEP 508): letters, digits, ".", "_" and "-", alphanumeric at both ends.
_NAME = re.compile(r"[A-Z0-9](?:[A-Z0-9._-]*[A-Z0-9])?", re.IGNORECASE)


def library_frameworks(start: Path) -> frozenset[str]:
    """The frameworks of the knowledge tables that the project at or above ``start`` is itself
    (empty for an application: the usual case); see the module docstring."""
    name = project_distribution(start)
    if name is None:
        return frozenset()
    from factorlint.knowledge import default_knowledge

    return default_knowledge().frameworks_distributed_as(name)


def project_distribution(start: Path) -> str | None:
    """The distribution name of the project at or above the folder ``start``, as written in its
    metadata; None when there is no metadata or it names no valid distribution."""
    folder = project_folder(start)
    if folder is None:
        return None
    boundary = repository_root(folder) or folder
    for read_name in (_from_pyproject, _from_setup_cfg, _from_setup_py, _from_pkg_info, _from_wheel):
        name = read_name(folder, boundary)
        if name is not None and _NAME.fullmatch(name):
            return name
    return None


def project_folder(start: Path) -> Path | None:
    """The closest folder at or above ``start`` holding packaging metadata, not above the root
    of ``start``'s repository; None when there is none."""
    try:
        folder = start.resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if not folder.is_dir():
        folder = folder.parent
    repository = repository_root(folder)
    folders = [folder, *folder.parents]
    if repository is not None:
        folders = folders[: folders.index(repository) + 1]
    for candidate in folders:
        if any(_exists(candidate / name) for name in _METADATA_FILES) or _dist_infos(candidate):
            return candidate
    return None


def _exists(path: Path) -> bool:
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _table(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _from_pyproject(folder: Path, boundary: Path) -> str | None:
    text = _read(folder / "pyproject.toml", boundary)
    if text is None:
        return None
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError):  # TOMLDecodeError is a ValueError
        return None
    name = _string(_table(data.get("project")).get("name"))
    return name or _string(_table(_table(data.get("tool")).get("poetry")).get("name"))


def _from_setup_cfg(folder: Path, boundary: Path) -> str | None:
    text = _read(folder / "setup.cfg", boundary)
    if text is None:
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
        return parser.get("metadata", "name", fallback=None)
    except (configparser.Error, ValueError):
        return None


def _from_setup_py(folder: Path, boundary: Path) -> str | None:
    """``setup(name="...")``, or ``NAME = "..."`` then ``setup(name=NAME)``: read, never run."""
    text = _read(folder / "setup.py", boundary)
    if text is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the scanned code are not ours
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    constants = {
        target.id: statement.value.value
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _called(node.func) == "setup"):
            continue
        for keyword in node.keywords:
            if keyword.arg != "name":
                continue
            if isinstance(keyword.value, ast.Constant):
                return _string(keyword.value.value)
            if isinstance(keyword.value, ast.Name):
                return constants.get(keyword.value.id)
    return None


def _called(func: ast.expr) -> str | None:
    """``setup`` for ``setup(...)`` and ``setuptools.setup(...)``."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _from_pkg_info(folder: Path, boundary: Path) -> str | None:
    return _header_name(_read(folder / "PKG-INFO", boundary))


def _from_wheel(folder: Path, boundary: Path) -> str | None:
    infos = _dist_infos(folder)
    if len(infos) != 1:
        return None  # several distributions side by side (a site-packages): none is the project
    return _header_name(_read(infos[0] / "METADATA", boundary))


def _dist_infos(folder: Path) -> list[Path]:
    """The ``*.dist-info`` folders of ``folder`` (real folders, not symlinks to one)."""
    try:
        with os.scandir(folder) as listing:
            return [
                Path(entry.path) for entry in listing
                if entry.name.endswith(".dist-info") and entry.is_dir(follow_symlinks=False)
            ]
    except (OSError, ValueError):
        return []


def _header_name(text: str | None) -> str | None:
    """The ``Name:`` field of core metadata (PKG-INFO, METADATA): an email-style header block."""
    for line in (text or "").splitlines():
        if not line.strip():
            break  # the headers end at the first blank line; the description follows
        key, _, value = line.partition(":")
        if key.strip().lower() == "name":
            return value.strip()
    return None
