from __future__ import annotations

from factorlint.checks.base import Rule, RuleMeta


class AnalysisBudgetExceeded(Rule):
    """## What it does
    Reports a file whose analysis was stopped because it ran longer than `max-file-seconds` or
    needed more memory than `max-file-memory`. Files are analysed in supervised worker
    processes: a worker over the budget is stopped, the file is listed as a diagnostic (exit
    code 1), and the run goes on with the other files.

    ## Why is this bad?
    A file that is not analysed is a blind spot. factorlint reads code it does not trust (in CI,
    in pre-commit hooks), and one pathological file (generated code, a gigantic literal, a
    deliberately hostile input) must not stall the run or exhaust the machine. Real source files
    take a fraction of a second and a few hundred MiB at most.

    ## Example
    A generated module of several megabytes that takes a minute to analyse.

    ## Use instead
    Exclude generated files (`extend-exclude = ["generated/"]`), or raise the budget if the file
    is real code you want analysed.

    ## Fix safety
    No fix.

    ## Options
    - `max-file-seconds`: wall time one file's analysis may take (default 20).
    - `max-file-memory`: memory in MiB one file's analysis may add (default 2048); enforced
      where the operating system supports it (Linux).

    ## References
    None.
    """

    meta = RuleMeta(
        code="TFA0005",
        name="analysis-budget-exceeded",
        factor=None,
        severity="error",
        confidence="high",
        summary="The analysis of the file ran past its time or memory budget",
        fix_advice="Exclude the file (generated code?) or raise max-file-seconds / max-file-memory.",
    )
