"""The importable module name of a file, from the packages around it (no LibCST needed)."""

from __future__ import annotations

from pathlib import Path


def module_name_for(path: Path) -> tuple[str, str]:
    """The importable module name of ``path`` and the package its relative imports start from.

    Walks up while the folder is a package (has ``__init__.py``), as Python's import system would
    see it from the first folder that is not one. ``src/app/llm.py`` in a package ``app`` gives
    ``("app.llm", "app")``; a script beside no ``__init__.py`` gives its stem and no package.
    """
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.append(folder.name)
        if folder.parent == folder:
            break
        folder = folder.parent
    parts.reverse()
    name = ".".join(parts) or path.stem
    if path.name == "__init__.py":
        return name, name
    package = name.rsplit(".", 1)[0] if "." in name else ""
    return name, package


def absolute_module(module: str | None, level: int, package: str) -> str:
    """The module ``from <level dots><module> import ...`` names in a module of ``package``
    ("" when it climbs above the top, or names nothing)."""
    if level == 0:
        return module or ""
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return ""
    parts = parts[: len(parts) - (level - 1)]
    if module:
        parts.append(module)
    return ".".join(parts)
