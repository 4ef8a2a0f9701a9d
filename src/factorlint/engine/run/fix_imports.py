"""Where a fix adds an import, and which names a module already binds at its top level."""

from __future__ import annotations

import libcst as cst


def import_anchor(module: cst.Module) -> cst.CSTNode | None:
    """The last top-level import statement before any other code (a docstring and ``from
    __future__`` count as part of the import block), or the module docstring when there is no
    import: a new import goes on the line after it. None: at the top of the module."""
    anchor: cst.CSTNode | None = None
    for index, statement in enumerate(module.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            break
        small = statement.body
        if all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in small):
            anchor = statement
        elif index == 0 and len(small) == 1 and isinstance(small[0], cst.Expr) and isinstance(
            small[0].value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            anchor = statement  # the docstring
        else:
            break
    return anchor


def bound_names(module: cst.Module) -> set[str]:
    """The names the module's top-level imports bind (``from tenacity import retry as r``: r;
    ``import shlex``: shlex)."""
    names: set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is None and isinstance(alias.name, cst.Name):
                        names.add(alias.name.value)  # ``import shlex``; a dotted import binds its root
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                for alias in small.names:
                    target = alias.asname.name if alias.asname else alias.name
                    if isinstance(target, cst.Name):
                        names.add(target.value)
    return names
