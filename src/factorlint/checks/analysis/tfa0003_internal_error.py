from __future__ import annotations

from factorlint.checks.base import Rule, RuleMeta


class InternalError(Rule):
    """## What it does
    Reports that a rule failed on a file because of a bug in factorlint. The failing rule is
    switched off for that file, every other rule still runs, and the exit code is 1 so that a
    gate does not pass silently.

    Also reports a file whose analysis crashed the process analysing it (a fault in the native
    parser, a process killed by the operating system): that file is not analysed, and the run
    goes on with the other files in a fresh worker process.

    ## Why is this bad?
    It is factorlint's problem, not your code's. The diagnostic names the rule and the file;
    please report it with the file (or a reduced version of it).

    ## Example
    Not applicable.

    ## Use instead
    Not applicable: upgrade factorlint, or ignore the named rule for that file with
    `per-file-ignores` until it is fixed.

    ## Fix safety
    No fix.

    ## Options
    None.

    ## References
    None.
    """

    meta = RuleMeta(
        code="TFA0003",
        name="internal-error",
        factor=None,
        severity="error",
        confidence="high",
        summary="A rule failed on this file (a bug in factorlint)",
        fix_advice="Report the bug; meanwhile ignore the named rule for this file.",
    )
