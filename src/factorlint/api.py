"""Linting a set of paths end to end: discover, read, lint each file, then the project pass."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path
from typing import Callable, Optional

from factorlint.discovery import discover
from factorlint.engine.module_names import module_name_for
from factorlint.engine.project import build_report
from factorlint.engine.source import UNREADABLE as PARSE_ERROR
from factorlint.knowledge import Knowledge, default_knowledge
from factorlint.model import Diagnostic, FileResult, Report


def read_and_lint(source_path: Path, relative: str, settings, knowledge: Knowledge) -> FileResult:
    """Read one file's bytes (never importing or running it) and lint them."""
    try:
        info = source_path.stat()
        size = info.st_size
        if not stat.S_ISREG(info.st_mode):
            result = FileResult(path=relative)
            result.diagnostics.append(
                Diagnostic(PARSE_ERROR, relative, "File skipped: not a regular file (a FIFO, socket or device)")
            )
            return result
        if size > settings.max_file_bytes:
            result = FileResult(path=relative)
            result.diagnostics.append(
                Diagnostic(
                    PARSE_ERROR, relative,
                    f"File skipped: {size:,} bytes is over max-file-bytes ({settings.max_file_bytes:,})",
                )
            )
            return result
        data = source_path.read_bytes()
    except OSError as exc:
        result = FileResult(path=relative)
        result.diagnostics.append(
            Diagnostic(PARSE_ERROR, relative, f"File could not be read: {exc.strerror or exc}")
        )
        return result
    from factorlint.engine.runner import (
        lint_file,  # LibCST: only when a file must be analysed
    )

    module_name, package = module_name_for(source_path.absolute())
    result = lint_file(
        relative, data, settings, module_name=module_name, package=package, knowledge=knowledge
    )
    result.disk_path = str(source_path)
    return result


def apply_fixes(report: Report, *, unsafe: bool, write: bool) -> tuple[Report, list]:
    """Fix what can be fixed; return the findings that remain and each file's outcome."""
    from factorlint.engine.fixes import fix_file, fixable

    by_path: dict[str, list] = {}
    for finding in fixable(report.findings, unsafe):
        by_path.setdefault(finding.path, []).append(finding)
    disk = {f.path: f.disk_path for f in report.files}
    outcomes = []
    fixed_ids: set[int] = set()
    for path, findings in sorted(by_path.items()):
        outcome = fix_file(Path(disk.get(path) or path), path, findings, write=write)
        outcomes.append(outcome)
        if outcome.error:
            report.diagnostics.append(Diagnostic("TFA0004", path, f"Fix not applied: {outcome.error}"))
        fixed_ids.update(id(f) for f in outcome.applied)
    if write:
        report.findings = [f for f in report.findings if id(f) not in fixed_ids]
    return report, outcomes


# Below this many files a process pool costs more to start than it saves (pre-commit runs).
POOL_MIN_FILES = 24
_WORKER: dict = {}


def _init_worker(settings) -> None:
    _WORKER["settings"] = settings
    _WORKER["knowledge"] = default_knowledge()


def _lint_task(task: tuple) -> FileResult:
    """Lint one file in a worker (or in this process), from its path or from bytes already read."""
    disk_path, relative, data, module_name, package = task
    settings, knowledge = _WORKER["settings"], _WORKER["knowledge"]
    if data is None:
        return read_and_lint(Path(disk_path), relative, settings, knowledge)
    from factorlint.engine.runner import lint_file

    result = lint_file(relative, data, settings, module_name=module_name, package=package, knowledge=knowledge)
    result.disk_path = disk_path
    return result


def lint_paths(
    paths: list[Path],
    settings,
    *,
    knowledge: Optional[Knowledge] = None,
    progress: Optional[Callable[[int, int], None]] = None,
    cache_dir: Optional[Path] = None,
    jobs: Optional[int] = None,
) -> Report:
    """Lint every file under ``paths``. With ``cache_dir``, unchanged files come from the cache;
    above POOL_MIN_FILES files the work is spread over ``jobs`` processes (default: the CPUs)."""
    custom_knowledge = knowledge is not None
    knowledge = knowledge or default_knowledge()
    files = discover(paths, settings)
    settings = dataclasses.replace(settings, project_roots=project_roots(files))
    cache = None
    if cache_dir is not None:
        from factorlint.engine.cache import ResultCache, settings_key

        cache = ResultCache(cache_dir, settings_key(settings))
    results: list[Optional[FileResult]] = [None] * len(files)
    pending: list[tuple[int, tuple]] = []
    stats: dict[int, tuple] = {}
    for index, source in enumerate(files):
        task = (str(source.path), source.relative, None, "", "")
        if cache is not None:
            hit = _from_cache(cache, source, stats, index, settings.max_file_bytes)
            if isinstance(hit, FileResult):
                results[index] = hit
                continue
            if hit is not None:
                _, module, package, _ = stats[index]
                task = (str(source.path), source.relative, hit, module, package)
        pending.append((index, task))
    done = len(files) - len(pending)
    if progress is not None and done:
        progress(done, len(files))
    for index, result in _run_tasks(pending, settings, knowledge, custom_knowledge, jobs):
        results[index] = result
        if cache is not None and index in stats:
            info, module, _, data = stats[index]
            if data is not None:
                cache.store(result.path, info, module, data, result)
        done += 1
        if progress is not None:
            progress(done, len(files))
    if cache is not None:
        cache.save()
    return build_report(str(settings.root), [r for r in results if r is not None], knowledge, settings)


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


def _from_cache(cache, source, stats: dict, index: int, max_bytes: int):
    """A FileResult from the cache, the file's bytes when they had to be read, or None (the
    file is then read and checked by ``read_and_lint`` as without a cache)."""
    try:
        info = source.path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        module, package = module_name_for(source.path.absolute())

        def read() -> Optional[bytes]:
            try:
                return source.path.read_bytes()
            except OSError:
                return None

        result, data = cache.lookup(source.relative, info, module, read)
        if result is not None:
            result.disk_path = str(source.path)  # the run may start from another folder
            return result
        if data is None:
            data = read()
        stats[index] = (info, module, package, data)
        return data
    except OSError:
        return None


def _run_tasks(pending, settings, knowledge, custom_knowledge: bool, jobs: Optional[int]):
    """(index, result) for each task, from a process pool or in this process."""
    import os

    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers > 1 and len(pending) >= POOL_MIN_FILES and not custom_knowledge:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(settings,)) as pool:
            tasks = [task for _, task in pending]
            chunk = max(1, min(16, len(tasks) // (workers * 8)))
            for (index, _), outcome in zip(pending, pool.map(_lint_task, tasks, chunksize=chunk)):
                yield index, outcome
        return
    _WORKER["settings"], _WORKER["knowledge"] = settings, knowledge
    for index, task in pending:
        yield index, _lint_task(task)
