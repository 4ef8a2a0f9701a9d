"""Where a moved prompt goes: the project's prompts module, and the text of both files after.

A fix with moves (TFA0203's) replaces a literal at the call with a name, and that name becomes
a constant of the nearest prompts module: a module the ``prompt-modules`` patterns name, in the
file's own folder or a package folder above it (within the scanned root), or a new
``prompts.py`` beside the file when there is none. The prompts module must be one of the files
analysed in the run (its bytes are then checked as any fixed file's are), and must not import the
file the prompt comes from (the import the fix adds would make a cycle).

Everything here reads the files' text as data: the module names come from the folders'
``__init__.py`` files, the names a module binds from its LibCST tree.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from factorlint.engine.parse.walk import find_all
from factorlint.engine.read.module_names import module_name_for
from factorlint.engine.run.fix_imports import import_anchor
from factorlint.engine.semantic.prescan import prescan
from factorlint.model import FileResult

NEW_MODULE_DOCSTRING = '"""The prompts the agent sends, named so they can be reviewed and tested."""\n'


class MoveRefused(Exception):
    """The moved constants have no home that can be written safely; the message says why."""


@dataclass
class PromptHome:
    """The prompts module the constants of one file's fixes go to."""

    relative: str  # as the report shows paths
    disk_path: Path
    module: str  # its importable name
    exists: bool  # False: created by the fix
    digest: str = ""  # SHA-256 of the bytes analysed (an existing module)


@dataclass
class Placed:
    """The constants placed in one prompts module, as statements in order."""

    home: PromptHome
    statements: list[str] = field(default_factory=list)


def _matches(module: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns)


def prompt_home(caller: FileResult, files: list[FileResult], root: Path, patterns: tuple[str, ...]) -> PromptHome:
    """The prompts module for constants moved out of ``caller``: the nearest analysed module the
    patterns name, from the caller's folder up through the package folders above it, else a new
    ``prompts.py`` beside the caller. Raises MoveRefused when that home cannot be used."""
    caller_disk = Path(caller.disk_path or caller.path).absolute()
    caller_module = module_name_for(caller_disk)[0]
    analysed = {Path(r.disk_path or r.path).absolute(): r for r in files}
    folder = caller_disk.parent
    top = root.absolute()
    while True:
        found = _home_in(folder, analysed, patterns, caller_disk)
        if found is not None:
            return found
        if folder == top or not (folder / "__init__.py").is_file() or top not in folder.parents:
            break
        folder = folder.parent
    new = caller_disk.parent / "prompts.py"
    if os.path.lexists(new):
        raise MoveRefused(f"{_shown(new, root)} exists but was not analysed in this run")
    package = module_name_for(caller_disk)[1]
    module = f"{package}.prompts" if package else "prompts"
    if module == caller_module:
        raise MoveRefused("the file is its own prompts module")
    relative = os.path.normpath(os.path.join(os.path.dirname(caller.path), "prompts.py")).replace(os.sep, "/")
    return PromptHome(relative, new, module, exists=False)


def _home_in(folder: Path, analysed: dict[Path, FileResult], patterns, caller: Path) -> PromptHome | None:
    """The analysed module of ``folder`` (a file, or a package's ``__init__.py``) that the
    patterns name; an exact ``prompts`` first, then by name."""
    candidates = []
    for disk, result in analysed.items():
        if disk == caller or result.path.endswith(".ipynb"):
            continue
        in_folder = disk.parent == folder and disk.name != "__init__.py"
        package_here = disk.name == "__init__.py" and disk.parent.parent == folder
        if not (in_folder or package_here):
            continue
        module = module_name_for(disk)[0]
        if _matches(module, patterns):
            stem = module.rsplit(".", 1)[-1]
            candidates.append((stem != "prompts", module, disk, result))
    if not candidates:
        return None
    _, module, disk, result = min(candidates, key=lambda item: item[:2])
    return PromptHome(result.path, disk, module, exists=True, digest=result.digest)


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root.absolute()).as_posix()
    except ValueError:
        return path.name


def names_used(module: cst.Module) -> set[str]:
    """Every name the module's text uses or binds (a new constant must clash with none)."""
    return {name.value for name in find_all(module, cst.Name)}


def imports_module(module: cst.Module, package: str, target: str) -> bool:
    """Does the module import ``target`` (itself, or a name from it), anywhere in its code?"""
    scan = prescan(module, package)
    return target in scan.imported_modules or target in scan.imports.values()


def place(placed: Placed, name: str, value: str) -> None:
    """Queue ``name = value`` for the prompts module."""
    placed.statements.append(f"{name} = {value}\n")


def with_constants(original: str, statements: list[str], exists: bool) -> str:
    """The prompts module's text with the constants added at its end, a blank line before each,
    or a new module holding them."""
    text = original if exists else NEW_MODULE_DOCSTRING
    if text and not text.endswith("\n"):
        text += "\n"
    for statement in statements:
        text += ("\n" if text else "") + statement
    return text


def with_import(text: str, module: str, names: list[str]) -> str:
    """``text`` importing ``names`` from ``module``: added to a one-line ``from module import
    ...`` at the top of the module when there is one, else as a new line after the last
    top-level import (or the docstring), where the fixes' other imports go."""
    tree = cst.parse_module(text)
    positions = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
    lines = text.splitlines(keepends=True)
    existing = _import_from(tree, module)
    if existing is not None:
        where = positions[existing]
        if where.start.line == where.end.line:
            line = lines[where.start.line - 1]
            head, tail = line[: where.end.column], line[where.end.column:]
            lines[where.start.line - 1] = head + "".join(f", {name}" for name in names) + tail
            return "".join(lines)
    anchor = import_anchor(tree)
    statement = f"from {module} import {', '.join(names)}\n"
    if anchor is None:
        return statement + text
    line_number = positions[anchor].end.line
    if line_number - 1 < len(lines) and not lines[line_number - 1].endswith("\n"):
        lines[line_number - 1] += "\n"
    return "".join([*lines[:line_number], statement, *lines[line_number:]])


def _import_from(tree: cst.Module, module: str) -> cst.ImportFrom | None:
    """The module's first top-level ``from module import a, b`` (absolute, no parentheses, no
    star, no trailing comma): the place a new name of that module joins."""
    for statement in tree.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None
                and cst.helpers.get_full_name_for_node(small.module) == module
                and isinstance(small.names, (list, tuple)) and small.lpar is None
                and not isinstance(small.names[-1].comma, cst.Comma)
            ):
                return small
    return None
