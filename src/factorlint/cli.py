"""The command line: parses flags into settings, runs, prints, and picks the exit code.

Exit codes: 0 no findings (after suppressions and ``--exit-zero``), 1 findings or a file that
could not be analysed, 2 a usage, configuration or internal error (one line on stderr; the
traceback only with ``-v``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from factorlint import __version__

# Formats for machines: code scanning (SARIF), workflow annotations, GitLab Code Quality, JUnit.
CI_FORMATS = ("sarif", "github", "gitlab", "junit")
OUTPUT_FORMATS = ("full", "concise", "json", *CI_FORMATS)


class UsageFailure(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"factorlint: {self.message}", err=True)


def _split(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def _common_options(function):
    options = [
        click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces the default set)."),
        click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable."),
        click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable on top of the selection."),
        click.option("--per-file-ignores", multiple=True, metavar="PATTERN:CODES", help="Ignore rules for files matching a glob."),
        click.option("--exclude", multiple=True, help="Replace the default excludes."),
        click.option("--extend-exclude", multiple=True, help="Exclude more paths."),
        click.option("--force-exclude", is_flag=True, help="Apply excludes to paths named on the command line too."),
        click.option(
            "--check-test-code/--no-check-test-code", default=None,
            help="Run the factor rules on test and example code too (default: off; it is listed in the "
            "audit's inventory, and the hard-coded key rule runs on it either way).",
        ),
        click.option("--config", type=click.Path(path_type=Path), help="Use this configuration file."),
        click.option("--isolated", is_flag=True, help="Ignore all configuration files."),
        click.option("-o", "--output-file", type=click.Path(path_type=Path), help="Write the report to a file."),
        click.option(
            "--color", type=click.Choice(("auto", "always", "never")), default="auto", show_default=True,
            help="Colour the terminal report; auto follows NO_COLOR, FORCE_COLOR and whether output is a terminal.",
        ),
        click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings."),
        click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary."),
        click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for internal errors."),
        click.option("--no-cache", is_flag=True, help="Analyse every file afresh and write no cache."),
        click.option(
            "--cache-dir", type=click.Path(path_type=Path), envvar="FACTORLINT_CACHE_DIR",
            help="Where the cache lives (default: the per-user cache folder, ~/.cache/factorlint); "
            "it must be outside the scanned tree, owned by you and writable by you alone.",
        ),
        click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: one per CPU this process may use)."),
        click.option(
            "--project-context/--no-project-context", default=True,
            help="When files (not folders) are given, analyse the rest of their project too, from the cache "
            "where possible, so that findings that depend on other files stand; report only the given files "
            "(default). --no-project-context lints the files alone.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _settings(paths: list[Path], kw: dict):
    from factorlint.config import Overrides, resolve_settings

    root = paths[0] if len(paths) == 1 and paths[0].is_dir() else Path(".")
    overrides = Overrides(
        config=kw["config"],
        isolated=kw["isolated"],
        select=_split(kw["select"]) or None,
        ignore=_split(kw["ignore"]),
        extend_select=_split(kw["extend_select"]),
        per_file_ignores=list(kw["per_file_ignores"]),
        exclude=_split(kw["exclude"]) or None,
        extend_exclude=_split(kw["extend_exclude"]),
        force_exclude=kw["force_exclude"],
        check_test_code=kw["check_test_code"],
    )
    import os

    folders = [str((p if p.is_dir() else p.parent).resolve()) for p in paths]
    config_start = Path(os.path.commonpath(folders)) if folders else root
    return resolve_settings(root, overrides, config_start)


def _run(paths: tuple[Path, ...], kw: dict, progress=None):
    from factorlint.api import lint_paths
    from factorlint.config import ConfigError
    from factorlint.discovery import DiscoveryError
    from factorlint.knowledge import KnowledgeError

    targets = list(paths) or [Path(".")]
    for target in targets:
        if not target.exists():
            raise UsageFailure(f"{target}: no such file or directory")
    folder = _use_compiled_cache(targets, kw)
    try:
        settings = _settings(targets, kw)
        cache_dir = None if kw["no_cache"] else folder
        report = lint_paths(
            targets, settings, progress=progress, cache_dir=cache_dir, jobs=kw["jobs"],
            project_context=kw["project_context"],
        )
        from factorlint.api import relative_to

        # Paths as the person typing the command sees them: relative to the working directory.
        return relative_to(report, Path.cwd()), settings
    except (ConfigError, DiscoveryError, KnowledgeError) as exc:
        raise UsageFailure(str(exc)) from None


def _use_compiled_cache(targets: list[Path], kw: dict) -> Path:
    """The cache folder (``--cache-dir``, else the per-user one), where the validated knowledge
    tables and configuration are kept from now on (even with ``--no-cache``, which is about
    the results of files: these are factorlint's own data, as ``.pyc`` files are Python's),
    unless a scanned path contains it."""
    from factorlint import compiled_cache
    from factorlint.engine.run.cache import default_cache_dir

    # Never in the scanned tree: a repository must not be able to ship its own results.
    folder = kw["cache_dir"] or default_cache_dir()
    compiled_cache.use_folder(folder, targets)
    return folder


def _emit(text: str, output_file: Path | None, color: bool = False) -> None:
    if output_file is None:
        # click strips colour codes from output that is not a terminal unless told otherwise.
        click.echo(text, nl=False, color=color or None)
        return
    try:
        _write_report(output_file, text)
    except OSError as exc:
        raise UsageFailure(f"{output_file}: cannot write: {exc.strerror or exc}") from None


def _write_report(output_file: Path, text: str) -> None:
    """Write through a temporary file renamed over the target, so a reader (a CI step uploading
    the report, a dashboard) never sees half a report and an interrupted run leaves the old one."""
    import os

    from factorlint.atomic_write import staged_file

    target = Path(os.path.realpath(output_file))
    with staged_file(target, text.encode("utf-8")) as temporary:
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)


def _umask() -> int:
    import os

    current = os.umask(0)
    os.umask(current)
    return current


def _guard(function):
    """Turn unexpected exceptions into one line and exit 2 (a traceback only with -v)."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("factorlint: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if kwargs.get("verbose"):
                import traceback

                traceback.print_exc()
            click.echo(f"factorlint: internal error: {type(exc).__name__}: {exc}", err=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="factorlint")
def main() -> None:
    """Static analysis of Python AI-agent code against the 12-Factor Agents practices."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="full", show_default=True)
@click.option("--statistics", is_flag=True, help="Show a count per rule instead of each finding.")
@click.option("--fix", is_flag=True, help="Apply safe fixes (files are rewritten atomically, only if they still parse).")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff, also apply fixes that may change behaviour.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; change nothing.")
@click.option(
    "--fail-on", type=click.Choice(("error", "warning", "advice")), default="advice", show_default=True,
    help="The lowest severity that makes the run exit 1 (findings below it are still reported).",
)
@click.option(
    "--baseline", "baseline_file", type=click.Path(path_type=Path),
    help="Report and fail only on findings this baseline does not hold; list its entries that no longer match as fixed.",
)
@click.option(
    "--write-baseline", type=click.Path(path_type=Path),
    help="Record the current findings in this file (for --baseline) and exit 0.",
)
@click.option(
    "--diff-base", metavar="REF",
    help="Report only findings on lines changed since the merge base of REF and HEAD (a git checkout).",
)
@click.option(
    "--add-noqa", is_flag=True,
    help="Write a suppression comment (with a reason to fill in) for every current finding, then exit 0.",
)
@click.option(
    "--stdin-filename", metavar="NAME",
    help="With PATH '-': the name standard input is linted as (configuration and per-file ignores apply to it).",
)
@_common_options
@_guard
def check(paths, output_format, statistics, fix, unsafe_fixes, diff, fail_on, baseline_file, write_baseline,
          diff_base, stdin_filename, add_noqa, **kw):
    """Lint PATHS (default: the current folder): the gate for pre-commit and CI.

    PATH '-' (or /dev/stdin) reads the source from standard input; with --fix the fixed source is
    written to standard output, with --diff the diff."""
    entries = _read_baseline(baseline_file) if baseline_file is not None else None
    if _reads_stdin(paths):
        if len(paths) > 1 or diff_base is not None or add_noqa:
            raise UsageFailure("standard input ('-') is linted alone: no other paths, no --diff-base or --add-noqa")
        report, stdin_source = _run_stdin(stdin_filename, kw)
        if fix or diff:
            sys.exit(_fix_stdin(report, stdin_source, unsafe_fixes, diff, kw))
    elif stdin_filename is not None:
        raise UsageFailure("--stdin-filename: give '-' as the path to read standard input")
    else:
        report, settings = _run_with_progress(paths, kw)
        if add_noqa:
            sys.exit(_add_noqa(report, settings.max_file_bytes))
    if write_baseline is not None:
        from factorlint.baseline import baseline_text

        _emit(baseline_text(report.findings), write_baseline)
        count = len(report.findings)
        click.echo(f"Wrote a baseline of {count} finding{'s' if count != 1 else ''} to {write_baseline}.", err=True)
        sys.exit(0)
    if diff:
        from factorlint.api import apply_fixes
        from factorlint.engine.run.fixes import unified_diff

        report, outcomes = apply_fixes(report, unsafe=unsafe_fixes, write=False, prompt_modules=settings.prompt_modules)
        text = "".join(unified_diff(o.path, o.original, o.fixed, created=o.created) for o in outcomes if o.fixed != o.original)
        count = sum(len(o.applied) for o in outcomes)
        click.echo(text, nl=False)
        click.echo(f"Would fix {count} finding{'s' if count != 1 else ''}.", err=True)
        sys.exit(1 if count and not kw["exit_zero"] else 0)
    if fix:
        from factorlint.api import apply_fixes

        # Fixes whose edits overlap wait for the next pass, on the text the first pass wrote:
        # passes go on while they fix something and something waits (as ruff does).
        count = 0
        for _ in range(FIX_PASSES):
            report, outcomes = apply_fixes(report, unsafe=unsafe_fixes, write=True, prompt_modules=settings.prompt_modules)
            fixed = sum(len(o.applied) for o in outcomes)
            count += fixed
            if not fixed or not any(o.skipped for o in outcomes):
                break
            report, settings = _run(paths, kw)
        if count:
            click.echo(f"Fixed {count} finding{'s' if count != 1 else ''}.", err=True)
    if diff_base is not None:
        report = _on_changed_lines(report, diff_base)
    if entries is not None:
        from factorlint.baseline import with_baseline

        report = with_baseline(report, entries, str(baseline_file))
    color = _colour(kw)
    if statistics:
        from factorlint.reporters import statistics as stats

        text = stats.render(report)
    elif kw["quiet"] and output_format in ("full", "concise"):
        from factorlint.reporters.concise import finding_lines

        text = "".join(line + "\n" for line in finding_lines(report))
    else:
        from factorlint.reporters import render

        text = render(report, output_format, color=color, width=_width(kw, 100),
                      commit=_scanned_commit(report, output_format))
    _emit(text, kw["output_file"], color)
    from factorlint.model import SEVERITY_RANK

    floor = SEVERITY_RANK[fail_on]
    failed = bool(report.diagnostics) or any(SEVERITY_RANK[f.severity] >= floor for f in report.findings)
    sys.exit(1 if failed and not kw["exit_zero"] else 0)


STDIN_NAMES = ("-", "/dev/stdin")
FIX_PASSES = 10  # at most, for fixes that wait on each other


def _reads_stdin(paths: tuple[Path, ...]) -> bool:
    return any(str(p) in STDIN_NAMES for p in paths)


def _run_stdin(name: str | None, kw: dict):
    """Lint standard input as the file ``name`` (relative to the working directory)."""
    import os

    from factorlint.api import lint_source
    from factorlint.config import ConfigError
    from factorlint.knowledge import KnowledgeError

    shown = Path(name) if name else Path("stdin.py")
    if shown.is_absolute():
        try:
            shown = shown.relative_to(Path.cwd())
        except ValueError:
            shown = Path(shown.name)
    relative = Path(os.path.normpath(shown)).as_posix()
    if relative.startswith("../"):
        relative = Path(relative).name
    _use_compiled_cache([Path(relative).parent], kw)
    try:
        settings = _settings([Path(relative).parent], kw)
        data = sys.stdin.buffer.read(settings.max_file_bytes + 1)
        report = lint_source(data, relative, settings)
    except (ConfigError, KnowledgeError) as exc:
        raise UsageFailure(str(exc)) from None
    return report, data


def _fix_stdin(report, data: bytes, unsafe: bool, diff: bool, kw: dict) -> int:
    """--fix on standard input: the fixed source on standard output (--diff: the diff), the
    findings that remain as the exit code."""
    from factorlint.engine.run.fixes import fix_text, unified_diff

    original, fixed, applied = fix_text(data, report.findings, unsafe)
    if original is None:  # not decodable: handed back untouched
        if not diff:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        return 0 if kw["exit_zero"] else 1
    if diff:
        click.echo(unified_diff(report.files[0].path if report.files else "-", original, fixed), nl=False)
        return 1 if applied and not kw["exit_zero"] else 0
    click.echo(fixed, nl=False)
    remaining = len(report.findings) - len(applied) + len(report.diagnostics)
    return 1 if remaining and not kw["exit_zero"] else 0


def _add_noqa(report, max_bytes: int) -> int:
    from factorlint.engine.run.noqa import write_noqa
    from factorlint.reporters.escape import plain

    added, files, problems = write_noqa(report, max_bytes)
    for problem in problems:
        click.echo(f"factorlint: {plain(problem)}", err=True)
    click.echo(f"Added {added} suppression comment{'s' if added != 1 else ''} to {files} file{'s' if files != 1 else ''}.",
               err=True)
    return 1 if problems else 0


def _read_baseline(path: Path):
    from factorlint.baseline import BaselineError, read_baseline

    try:
        return read_baseline(path)
    except BaselineError as exc:
        raise UsageFailure(str(exc)) from None


def _on_changed_lines(report, revision: str):
    from factorlint.git_diff import GitDiffError, on_changed_lines

    try:
        return on_changed_lines(report, revision)
    except GitDiffError as exc:
        raise UsageFailure(str(exc)) from None


def _audit_change(report, settings, after, revision: str, kw: dict):
    from factorlint.audit.compare import audit_change
    from factorlint.git_diff import GitDiffError

    try:
        return audit_change(report, settings, after, revision, kw["jobs"])
    except GitDiffError as exc:
        raise UsageFailure(str(exc)) from None


def _scanned_commit(report, output_format: str) -> str | None:
    """The commit checked out where the scan ran, for SARIF's version control provenance."""
    if output_format != "sarif":
        return None
    from factorlint.git_index import head_commit, repository_root

    root = repository_root(Path(report.root or ".").resolve())
    return head_commit(root) if root is not None else None


AUDIT_FORMATS = ("full", "concise", "json", "markdown", "html", *CI_FORMATS)


def _progress_bar(kw: dict):
    """A progress bar on stderr for long runs, only when stderr is a terminal (its colours as
    ``--color`` says)."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True, no_color=not _colour(kw, sys.stderr)), transient=True,
    )


def _colour(kw: dict, stream=None) -> bool:
    """Whether the terminal report is coloured: ``--color always``/``never``; else, as the
    conventions of no-color.org and force-color.org say, NO_COLOR (set and not empty) turns colour
    off, FORCE_COLOR turns it on, and otherwise a report to a terminal is coloured."""
    import os

    choice = kw.get("color", "auto")
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream or sys.stdout
    return kw["output_file"] is None and stream.isatty()


def _width(kw: dict, default: int) -> int:
    """The report's width: the terminal's when writing to one (COLUMNS, then the terminal), else
    ``default``; never under 60 columns."""
    import os
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return max(int(columns), 60)
    if kw["output_file"] is None and sys.stdout.isatty():
        return max(shutil.get_terminal_size((default, 24)).columns, 60)
    return default


@main.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--output-format", type=click.Choice(AUDIT_FORMATS), default="full", show_default=True)
@click.option(
    "--fail-under", multiple=True, metavar="SCORE|FACTOR=SCORE",
    help="Exit 1 when the overall score (7.5), a factor's (F08=8) or security's (SEC=7) is below this.",
)
@click.option("--fail-on", type=click.Choice(("error", "warning")), help="Exit 1 when a scored finding has this severity or worse.")
@click.option(
    "--diff-base", metavar="REF",
    help="Also audit the code at the merge base of REF and HEAD, and show each factor before and after the change.",
)
@_common_options
@_guard
def audit(path, output_format, fail_under, fail_on, diff_base, **kw):
    """Review the agent architecture of PATH (default: the current folder): scorecard, inventory, fix plan.

    Exits 0 unless a gate (--fail-under, --fail-on) fails; the report shows each gate's result.
    """
    from factorlint.audit.build import GateError, parse_fail_under

    try:
        parse_fail_under(fail_under)  # a bad gate is a usage error before any work is done
    except GateError as exc:
        raise UsageFailure(str(exc)) from None
    report, settings = _run_with_progress((path,) if path else (), kw)
    from factorlint.audit.build import build_audit

    result = build_audit(report, settings, fail_under=fail_under, fail_on=fail_on)
    if diff_base is not None:
        result.change = _audit_change(report, settings, result, diff_base, kw)
    color = _colour(kw)
    if output_format == "json":
        from factorlint.reporters.json_report import render_audit

        text = render_audit(result)
    elif output_format == "concise" or output_format in CI_FORMATS:
        from factorlint.reporters import render

        text = render(report, output_format, commit=_scanned_commit(report, output_format))
    elif output_format == "markdown":
        from factorlint.reporters.markdown import render as render_markdown

        text = render_markdown(result)
    elif output_format == "html":
        if kw["output_file"] is None and sys.stdout.isatty():
            raise UsageFailure("--output-format html writes a file: add -o report.html")
        from factorlint.reporters.html import render as render_html

        text = render_html(result)
    else:
        from factorlint.reporters.audit import render as render_audit_text

        text = render_audit_text(result, color=color, width=_width(kw, 120))
    _emit(text, kw["output_file"], color)
    if kw["output_file"] is not None and not kw["quiet"]:
        overall = result.scorecard.overall
        score = "" if overall.score is None else f", {overall.score:.1f} {overall.letter}"
        click.echo(f"Wrote {kw['output_file']} (overall {overall.status}{score}).", err=True)
    sys.exit(0 if result.gates_passed or kw["exit_zero"] else 1)


def _run_with_progress(paths, kw):
    bar = None if kw["quiet"] else _progress_bar(kw)
    if bar is None:
        return _run(paths, kw)
    with bar:
        task = bar.add_task("Scanning", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return _run(paths, kw, progress=advance)


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Document every rule.")
@click.option("--output-format", type=click.Choice(("text", "json")), default="text", show_default=True)
@_guard
def rule(code, show_all, output_format):
    """Show the documentation of rule CODE (a code like TFA0802 or a name like unbounded-agent-loop)."""
    from factorlint.checks.registry import all_rules, rule_for
    from factorlint.reporters.rules import render_rules

    if show_all:
        rules = list(all_rules())
    elif code:
        found = rule_for(code)
        if found is None:
            raise UsageFailure(f"unknown rule {code!r} (see `factorlint rule --all`)")
        rules = [found]
    else:
        raise UsageFailure("give a rule code, or --all")
    click.echo(render_rules(rules, output_format, detailed=not show_all or output_format == "json"), nl=False)


def run() -> None:
    """The ``factorlint`` command: :func:`main`, then an immediate exit once the output is out.

    By then the reports are written and closed and the worker processes reaped; tearing the
    interpreter down (freeing every module, node class and tree the run made) would only cost a
    one-file run an eighth of its time. mypy ends the same way. An exit with a message, an
    uncaught exception, or output that cannot be flushed leaves through the interpreter as usual.
    """
    try:
        main()
    except SystemExit as stop:
        code = 0 if stop.code is None else stop.code
        if isinstance(code, int) and _flushed():
            os._exit(code)
        raise


def _flushed() -> bool:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe or stream: let the interpreter report it
        return False
    return True
