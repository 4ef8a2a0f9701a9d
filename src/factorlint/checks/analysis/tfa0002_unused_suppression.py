from __future__ import annotations

from factorlint.checks.base import Rule, RuleMeta


class UnusedSuppression(Rule):
    """## What it does
    Reports `# factorlint: ignore[...]`, `# factorlint: ignore-file[...]` and `# noqa: TFA...`
    comments that silence nothing: the code they name is enabled but reports nothing there.

    ## Why is this bad?
    A stale suppression hides the next real finding on that line and misleads readers about what
    the code does. Like ruff's RUF100.

    ## Example
    ```python
    for _ in range(10):  # factorlint: ignore[TFA0802]
        step = next_step(thread)
    ```

    ## Use instead
    ```python
    for _ in range(10):
        step = next_step(thread)
    ```

    ## Fix safety
    Safe: removing a comment (or one code from it) never changes behaviour.

    ## Options
    None.

    ## References
    - https://docs.astral.sh/ruff/rules/unused-noqa/
    """

    meta = RuleMeta(
        code="TFA0002",
        name="unused-suppression",
        factor=None,
        severity="advice",
        confidence="high",
        summary="Suppression comment that silences nothing",
        fix_advice="Remove the unused suppression.",
        fix="always",
    )
