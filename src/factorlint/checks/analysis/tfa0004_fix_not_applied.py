from __future__ import annotations

from factorlint.checks.base import Rule, RuleMeta


class FixNotApplied(Rule):
    """## What it does
    Reports that `--fix` left a file unchanged although it had fixes to apply: the file is
    read-only, could not be written, or the fixed text would no longer parse.

    ## Why is this bad?
    Nothing is lost: factorlint writes a file only through a temporary file renamed over the
    original, only when the result parses, and never forces a read-only file. The diagnostic says
    why the fix was held back, and the findings are still reported.

    ## Example
    `factorlint check --fix` on a read-only `agent.py`.

    ## Use instead
    Make the file writable, or apply the fix by hand (`--diff` shows it).

    ## Fix safety
    Not applicable.

    ## Options
    None.

    ## References
    None.
    """

    meta = RuleMeta(
        code="TFA0004",
        name="fix-not-applied",
        factor=None,
        severity="error",
        confidence="high",
        summary="A fix could not be applied to this file",
        fix_advice="Make the file writable or apply the change shown by --diff by hand.",
    )
