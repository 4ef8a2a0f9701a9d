from __future__ import annotations

from factorlint.checks.base import Rule, RuleMeta


class UnreadableFile(Rule):
    """## What it does
    Reports what a run could not analyse:
    - a file that is not valid Python for the parser (a syntax error, Python 2 code) or is nested
      too deeply for the parser to take safely;
    - a file that cannot be decoded (not UTF-8 and no coding cookie, NUL bytes, a codec that
      yields lone surrogates), is larger than `max-file-bytes`, or cannot be read at all;
    - a name that is not a regular file (a FIFO, socket or device), never opened, and a symlink
      that points outside the scanned folders, into `.git` or into an excluded place, never read;
    - a folder that cannot be listed or entered, and a `.gitignore` that cannot be read (the
      folder is then scanned without it);
    - a folder named on the command line that holds no file to lint.

    ## Why is this bad?
    A file that is not analysed is a blind spot. factorlint never skips it silently: the run goes
    on, the file is listed as a diagnostic, and the exit code is 1.

    ## Example
    ```python
    print "hello"   # Python 2
    ```

    ## Use instead
    Fix the syntax, or exclude the file (`extend-exclude = ["legacy/"]`).

    ## Fix safety
    No fix.

    ## Options
    - `max-file-bytes`: larger files are reported and skipped (default 5,000,000).

    ## References
    - https://docs.astral.sh/ruff/ (ruff reports unparseable files the same way)
    """

    meta = RuleMeta(
        code="TFA0001",
        name="unreadable-file",
        factor=None,
        severity="error",
        confidence="high",
        summary="The file could not be read, decoded or parsed",
        fix_advice="Fix the file or exclude it from the scan.",
    )
