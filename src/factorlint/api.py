"""Linting a set of paths end to end: discover, read, lint each file, then the project pass."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Container
from pathlib import Path

from factorlint.config import with_nested_configs
from factorlint.discovery import discover, excluded_by_own_config
from factorlint.engine.project.index import ProjectIndex
from factorlint.engine.project.project_pass import build_report
from factorlint.engine.read.module_names import module_name_for
from factorlint.engine.read.source import UNREADABLE as PARSE_ERROR
from factorlint.engine.run.tasks import run_tasks as _run_tasks
from factorlint.knowledge import Knowledge, default_knowledge
from factorlint.model import Diagnostic, FileResult, Report


def apply_fixes(report: Report, *, unsafe: bool, write: bool, prompt_modules: tuple[str, ...] | None = None) -> tuple[Report, list]:
    """Fix what can be fixed; return the findings that remain and each file's outcome.

    ``prompt_modules`` (default: the setting's default) names the modules a moved prompt may go
    to (see :mod:`engine.run.moves`)."""
    from factorlint.config import DEFAULT_PROMPT_MODULES
    from factorlint.engine.run.fix_groups import apply_all
    from factorlint.engine.run.fixes import fixable

    patterns = DEFAULT_PROMPT_MODULES if prompt_modules is None else prompt_modules
    outcomes, diagnostics = apply_all(
        fixable(report.findings, unsafe), report.files, Path(report.root), patterns, write=write
    )
    report.diagnostics.extend(diagnostics)
    if write:
        fixed_ids = {id(f) for outcome in outcomes for f in outcome.applied}
        report.findings = [f for f in report.findings if id(f) not in fixed_ids]
    return report, outcomes


def lint_paths(
    paths: list[Path],
    settings,
    *,
    knowledge: Knowledge | None = None,
    progress: Callable[[int, int], None] | None = None,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    project_context: bool = False,
) -> Report:
    """Lint every file under ``paths``. With ``cache_dir``, unchanged files come from the cache
    (whose bytes hash the same); the others are analysed by at most ``jobs`` supervised worker
    processes (default: the CPUs this process may use, see :mod:`engine.pool`), each within the
    per-file budget. ``jobs=0`` analyses in this process, without crash or budget protection.

    With ``project_context``, files that are part of a larger project are linted with the rest
    of it as context (see :mod:`factorlint.project_context`): the whole project is analysed, from
    the cache where it can be, and only the given files are reported (a run on a folder is not
    affected). The command line turns it on (``--no-project-context`` turns it off); it is off by
    default here so that a caller linting a few files gets those files' analysis alone, as before.
    """
    custom_knowledge = knowledge is not None
    # Library mode: the scanned project's own framework tables do not apply to its own code.
    knowledge = (knowledge or default_knowledge()).without(settings.internal_frameworks)
    discovery = discover(paths, settings)
    context = None
    if project_context:
        from factorlint.project_context import plan

        context = plan(paths, settings, discovery)
    if context is None:
        files, run_settings, scanned = discovery.files, settings, list(paths)
    else:
        files, run_settings, scanned = context.files, context.settings, [context.root, *paths]
    # Each file by the closest configuration above it; what a nested one excludes is not scanned.
    run_settings = with_nested_configs(run_settings, [f.relative for f in files])
    dropped = {id(f) for f in excluded_by_own_config(files, run_settings)}
    if dropped:
        files = [f for f in files if id(f) not in dropped]
    run_settings = dataclasses.replace(run_settings, project_roots=project_roots(files))
    cache = None
    if cache_dir is not None:
        from factorlint.engine.run.cache import ResultCache, settings_key

        cache = ResultCache(cache_dir, settings_key(run_settings), run_settings.root, scanned)
    reported = None if context is None else context.shown
    results, project = _analyse(files, run_settings, knowledge, custom_knowledge, cache, progress, jobs, reported)
    if context is None:
        report = build_report(str(settings.root), results, knowledge, run_settings, project)
    else:
        # The index reads facts alone, which facts_only keeps: it serves the narrowed results too.
        report = build_report(str(run_settings.root), context.facts_only(results), knowledge, run_settings, project)
        report = context.narrow(report, str(settings.root))
    # What discovery could not scan (an unreadable folder, a FIFO, a symlink out of the tree).
    report.diagnostics = sorted([*discovery.diagnostics, *report.diagnostics], key=lambda d: d.path)
    return report


def _analyse(
    files, settings, knowledge: Knowledge, custom_knowledge: bool, cache, progress, jobs,
    reported: Container[str] | None = None,
) -> tuple[list[FileResult], ProjectIndex | None]:
    """Each file's result, in the order of ``files``: from the cache when its bytes hash the
    same, else analysed (and stored in the cache, which is saved once at the end).

    ``reported`` names the files whose whole result is wanted (None: every file); the others are
    context, and a cache hit for one is decoded for its facts only.

    A test that only imports the project is read for what it hands the project's functions, and
    that matters only where the application leaves a parameter untyped. So such a test waits
    (``FileResult.deferred``) until every other file is in; then :func:`_settle_test_facts` reads
    the ones the project needs, and the others are not read by LibCST at all. Also returned: the
    project index, when it holds exactly the facts that count.
    """
    results: list[FileResult | None] = [None] * len(files)
    pending: list[tuple[int, tuple]] = []
    stats: dict[int, tuple] = {}
    for index, source in enumerate(files):
        task = (str(source.path), source.relative, None, "", "", True)
        if cache is not None:
            facts_only = reported is not None and source.relative not in reported
            hit = _from_cache(cache, source, stats, index, settings.max_file_bytes, facts_only)
            if isinstance(hit, FileResult):
                results[index] = hit
                continue
            if hit is not None:
                module, package, _ = stats[index]
                task = (str(source.path), source.relative, hit, module, package, True)
        pending.append((index, task))
    done = len(files) - len(pending)
    if progress is not None and done:
        progress(done, len(files))
    for index, result in _run_tasks(pending, settings, knowledge, custom_knowledge, jobs):
        results[index] = result
        _store(cache, stats, index, result)
        done += 1
        if progress is not None:
            progress(done, len(files))
    project = _settle_test_facts(files, results, stats, settings, knowledge, custom_knowledge, cache, jobs)
    if cache is not None:
        cache.save()
    return [r for r in results if r is not None], project


def _settle_test_facts(files, results: list, stats: dict[int, tuple], settings, knowledge: Knowledge,
                       custom_knowledge: bool, cache, jobs) -> ProjectIndex | None:
    """Read the waiting tests whose facts the project needs, and count only theirs.

    The question is put to the rest of the project alone (every file but such tests, whatever
    the cache holds), so a run from the cache counts the same tests as a cold one. A test counts
    when it imports a function the index awaits a caller for, that function's class or module
    (:meth:`ProjectIndex.awaited_functions`, :meth:`ProjectIndex.leads_to`), or when the project
    itself imports it (metagpt's ``actions/write_test.py``, an action named like a test). The
    others' facts are left out, read or not. Returns the index when it holds exactly the facts
    that count, for the project pass to use as it is; None when tests were added to them.
    """
    deferrable = {i: r.deferred for i, r in enumerate(results) if r is not None and r.deferred is not None}
    if not deferrable:
        return None
    settled = [r for i, r in enumerate(results) if r is not None and i not in deferrable]
    project = ProjectIndex(settled, knowledge, settings)
    awaited = project.awaited_functions()
    imported = {name for r in settled if r.facts is not None for name in r.facts.imports}
    wanted = {
        i for i, names in deferrable.items()
        if _module_name(files[i]) in imported or project.leads_to(names, awaited)
    }
    for i in deferrable.keys() - wanted:
        if results[i].facts is not None:  # read when an earlier run's project needed it
            results[i] = dataclasses.replace(results[i], facts=None, skipped=True)
    tasks = []
    for i in sorted(wanted):
        if results[i].facts is not None:
            continue  # read already (an earlier run of the cache's)
        source = files[i]
        if cache is not None and i not in stats:
            # Its deferral came from the cache: read the bytes again, so that its facts replace
            # the deferral there and the next run does not read it again.
            _reread(source, stats, i, settings.max_file_bytes)
        module, package, data = stats.get(i, ("", "", None))
        tasks.append((i, (str(source.path), source.relative, data, module, package, False)))
    for i, result in _run_tasks(tasks, settings, knowledge, custom_knowledge, jobs):
        results[i] = result
        _store(cache, stats, i, result)
    return None if wanted else project


def _reread(source, stats: dict[int, tuple], index: int, max_bytes: int) -> None:
    """A file's bytes and module names in ``stats``, as a cache miss leaves them (nothing when it
    cannot be read now: the worker then reports it as it would any file)."""
    read = _read_for_cache(source, max_bytes)
    if read is not None:
        stats[index] = read


def _read_for_cache(source, max_bytes: int) -> tuple[str, str, bytes] | None:
    """The file's module, package and bytes (read once, for the analysis too), or None when it is
    not a regular file within ``max_bytes`` or cannot be read or named."""
    from factorlint.engine.run.cache import read_source

    data = read_source(source.path, max_bytes)
    if data is None:
        return None
    try:
        module, package = module_name_for(source.path.absolute())
    except OSError:
        return None
    return module, package, data


def _module_name(source) -> str:
    try:
        return module_name_for(source.path.absolute())[0]
    except OSError:
        return ""


def _store(cache, stats: dict[int, tuple], index: int, result: FileResult) -> None:
    """Keep a file's result in the cache, under the bytes it was analysed from."""
    if cache is not None and index in stats:
        module, _, data = stats[index]
        cache.store(result.path, module, data, result)


def project_roots(files) -> frozenset:
    """The first component of every scanned module's name (``app`` for ``app/llm.py``)."""
    roots = set()
    folders: dict = {}
    for source in files:
        folder = source.path.parent
        if folder not in folders:
            folders[folder] = module_name_for(source.path.absolute())[0].split(".", 1)[0]
            roots.add(folders[folder])
        roots.add(source.path.stem)
    return frozenset(roots - {"__init__"})


def _from_cache(cache, source, stats: dict, index: int, max_bytes: int, facts_only: bool = False):
    """A FileResult from the cache (its facts only, with ``facts_only``), else the file's bytes
    (read once, for the analysis too), or None when it is not a regular file within ``max_bytes``
    or cannot be read (``tasks.read_and_lint`` then reports it as a run without the cache would).

    The bytes are read and hashed on every lookup: only their SHA-256 lets a cached result in.
    """
    read = _read_for_cache(source, max_bytes)
    if read is None:
        return None
    module, package, data = read
    result = cache.lookup(source.relative, module, data, facts_only=facts_only)
    if result is not None:
        result.disk_path = str(source.path)  # the run may start from another folder
        return result
    stats[index] = (module, package, data)
    return data


def lint_source(data: bytes, name: str, settings, *, knowledge: Knowledge | None = None) -> Report:
    """Lint ``data`` as the file ``name`` (relative to the settings' root, '/'-separated), alone:
    what an editor or a pre-commit-style tool hands over on standard input. The bytes are
    checked against ``max-file-bytes`` as a file's would be, and never written anywhere."""
    knowledge = (knowledge or default_knowledge()).without(settings.internal_frameworks)
    if len(data) > settings.max_file_bytes:
        result = FileResult(path=name)
        result.diagnostics.append(Diagnostic(
            PARSE_ERROR, name, f"File skipped: {len(data):,} bytes is over max-file-bytes ({settings.max_file_bytes:,})"
        ))
    else:
        from factorlint.engine.run.runner import lint_file

        module_name, package = module_name_for((settings.root / name).absolute())
        result = lint_file(name, data, settings, module_name=module_name, package=package, knowledge=knowledge)
    run_settings = dataclasses.replace(settings, project_roots=project_roots([_Named(settings.root / name)]))
    return build_report(str(settings.root), [result], knowledge, run_settings)


@dataclasses.dataclass
class _Named:
    """A file that is not on disk, as :func:`project_roots` reads one."""

    path: Path


def relative_to(report: Report, folder: Path) -> Report:
    """The report with its paths relative to ``folder``, the working directory, as the command
    line shows them (``services/billing/agent.py`` when ``services`` was scanned), with the
    fingerprints of those paths: those of a run on ``folder`` itself. ``root`` becomes ``"."``
    and ``scanned`` names what was scanned. Unchanged when the scanned root is ``folder`` or lies
    outside it: its paths then stay relative to the scanned root, never absolute."""

    from factorlint.engine.project.project_pass import _fingerprint

    base = os.path.abspath(folder)
    scanned = report.root or "."
    relative = os.path.relpath(os.path.abspath(scanned), base)  # a symlink keeps its name
    if relative == "." or relative == ".." or relative.startswith(".." + os.sep):
        return report
    prefix = Path(relative).as_posix()

    def moved(path: str) -> str:
        return f"{prefix}/{path}" if path and path != "." else prefix

    for result in report.files:
        result.path = moved(result.path)
    for finding in (*report.findings, *report.suppressed):
        finding.path = moved(finding.path)
    for site in report.sites:
        site.path = moved(site.path)
    report.diagnostics = [dataclasses.replace(d, path=moved(d.path)) for d in report.diagnostics]
    _fingerprint(report.findings)
    _fingerprint(report.suppressed)
    report.root, report.scanned = ".", scanned
    return report
