"""The analysis of files as tasks: each read and linted in a supervised worker process, or in
this one.

A task names a file (its path, its path relative to the run's root, its bytes when the run read
them already, its module and package, and whether a test may wait, see
:func:`factorlint.engine.run.runner.lint_file`). It crosses the pipe to a worker as a JSON line
and the raw bytes, and a worker's result comes back as the cache codec's validated JSON: nothing
on either end unpickles. :func:`run_tasks` yields each result as it completes.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from factorlint.engine.read.module_names import module_name_for
from factorlint.engine.read.source import UNREADABLE as PARSE_ERROR
from factorlint.knowledge import Knowledge, default_knowledge
from factorlint.model import Diagnostic, FileResult


def read_and_lint(source_path: Path, relative: str, settings, knowledge: Knowledge, *, defer_facts: bool = False) -> FileResult:
    """Read one file's bytes (never importing or running it) and lint them (``defer_facts``: see
    :func:`~factorlint.engine.run.runner.lint_file`)."""
    from factorlint.safe_read import ReadRefused, not_regular, read_regular_file

    def skipped(message: str) -> FileResult:
        result = FileResult(path=relative)
        result.diagnostics.append(Diagnostic(PARSE_ERROR, relative, message))
        return result

    try:
        info = source_path.stat()
    except OSError as exc:
        return skipped(f"File could not be read: {exc.strerror or exc}")
    if not stat.S_ISREG(info.st_mode):
        return skipped(f"File skipped: {not_regular(info.st_mode)}")
    if info.st_size > settings.max_file_bytes:
        return skipped(f"File skipped: {info.st_size:,} bytes is over max-file-bytes ({settings.max_file_bytes:,})")
    try:
        # Checked again on the open file: a FIFO swapped in after the stat must not block the run.
        data = read_regular_file(source_path, settings.max_file_bytes)
    except ReadRefused as exc:
        return skipped(f"File could not be read: {exc}")
    from factorlint.engine.run.runner import (
        lint_file,  # LibCST: only when a file must be analysed
    )

    module_name, package = module_name_for(source_path.absolute())
    result = lint_file(
        relative, data, settings, module_name=module_name, package=package, knowledge=knowledge,
        defer_facts=defer_facts,
    )
    result.disk_path = str(source_path)
    return result



# Below this many files, spawning fresh interpreters (where workers cannot be forked) costs more
# than it saves: such runs are analysed in this process. Forked workers are always used.
POOL_MIN_FILES = 24
WORKER: dict = {}


def init_worker(settings, knowledge: Knowledge | None = None) -> None:
    """Set what ``lint_task`` reads: the run's settings and knowledge (the default tables when
    None, as in a spawned worker, which loads its own)."""
    WORKER["settings"] = settings
    WORKER["knowledge"] = knowledge or default_knowledge()


def worker_description(settings) -> str:
    """What a spawned worker starts from, as JSON text: the run's settings and where the
    compiled knowledge tables are kept (see :mod:`factorlint.settings_description`)."""
    from factorlint import compiled_cache
    from factorlint.settings_description import describe

    folder = compiled_cache.folder_in_use()
    return json.dumps({"settings": describe(settings), "compiled": None if folder is None else str(folder)})


def init_spawned_worker(description: str) -> None:
    """A spawned worker's start: the settings and knowledge of :func:`worker_description`."""
    from factorlint import compiled_cache
    from factorlint.settings_description import settings_from

    data = json.loads(description)
    if data["compiled"] is not None:
        compiled_cache.use_folder(Path(data["compiled"]))
    init_worker(settings_from(data["settings"]))


def lint_task(task: tuple) -> FileResult:
    """Lint one file in a worker (or in this process), from its path or from bytes already read."""
    disk_path, relative, data, module_name, package, defer = task
    settings, knowledge = WORKER["settings"], WORKER["knowledge"]
    if data is None:
        return read_and_lint(Path(disk_path), relative, settings, knowledge, defer_facts=defer)
    from factorlint.engine.run.runner import lint_file

    result = lint_file(relative, data, settings, module_name=module_name, package=package, knowledge=knowledge,
                       defer_facts=defer)
    result.disk_path = disk_path
    return result


def task_size(task: tuple) -> int:
    """The bytes a task's file holds (read already, or as the file system says)."""
    data = task[2]
    if isinstance(data, bytes):
        return len(data)
    try:
        return os.stat(task[0]).st_size
    except OSError:
        return 0


def decode_worker_outcome(data: bytes):
    """A worker's result, validated as a cache entry is; a Failure when it is not one."""
    from factorlint.engine.run import pool
    from factorlint.engine.run.cache_codec import CacheFormatError, decode_outcome

    try:
        return decode_outcome(data)
    except CacheFormatError as exc:
        return pool.Failure("error", f"the analysis process sent an invalid result ({exc})")


def encode_task(task: tuple) -> bytes:
    """A task for a worker: its names as a JSON line, then the file's bytes when already read."""
    disk_path, relative, data, module_name, package, defer = task
    head = json.dumps([disk_path, relative, module_name, package, data is not None, defer]).encode("ascii")
    return head + b"\n" + (data or b"")


def decode_task(message: bytes) -> tuple:
    head, _, data = message.partition(b"\n")
    disk_path, relative, module_name, package, has_data, defer = json.loads(head)
    return disk_path, relative, data if has_data else None, module_name, package, defer is True


def run_tasks(pending, settings, knowledge, custom_knowledge: bool, jobs: int | None):
    """(index, result) for each task, as they complete.

    Files are analysed in supervised worker processes (:mod:`engine.pool`), so a file that
    crashes the parser or runs past ``max-file-seconds`` / ``max-file-memory`` becomes a
    diagnostic and the run goes on; even a one-file run gets a forked worker, which costs a few
    milliseconds. ``jobs`` workers at most (default: the CPUs this process may use), never more
    than there are files. ``jobs=0`` analyses in this process, without that protection (for
    debugging and profiling), as do runs where workers would have to be spawned interpreters and
    there are fewer than POOL_MIN_FILES files, or custom knowledge that a spawned worker would
    not have. Results are the same either way.
    """
    if not pending:
        return  # a run served from the cache imports neither LibCST nor the rules
    from factorlint.engine.run import pool
    from factorlint.engine.run.cache_codec import encode_outcome
    from factorlint.engine.run.runner import unanalysed

    forked = pool.forking()
    workers = min(len(pending), pool.default_jobs() if jobs is None else jobs)
    if workers >= 1 and (forked or (len(pending) >= POOL_MIN_FILES and not custom_knowledge)):
        if forked:
            init_worker(settings, knowledge)  # inherited by the workers
        if forked and workers > 1:
            # Import the rules once here rather than in each worker (a single worker imports them
            # only if a file needs them, as a run in this process would).
            from factorlint.checks.registry import all_rules

            all_rules()
        # The largest files first: with the long ones started early, no worker is left analysing
        # a 12,000-line module alone at the end while the others wait.
        tasks = sorted(pending, key=lambda item: -task_size(item[1]))
        relative = {index: task[1] for index, task in pending}
        pending_disk = {index: task[0] for index, task in pending}
        outcomes = pool.supervise(
            tasks, lint_task, workers=workers,
            seconds=settings.max_file_seconds, memory_mib=settings.max_file_memory,
            initializer=None if forked else init_spawned_worker,
            initargs=() if forked else (worker_description(settings),),
            encode=encode_outcome, decode=decode_worker_outcome, encode_task=encode_task, decode_task=decode_task,
        )
        for index, outcome in outcomes:
            if not isinstance(outcome, pool.Failure) and outcome.path != relative[index]:
                outcome = pool.Failure("error", "the analysis process answered for another file")
            if isinstance(outcome, pool.Failure):
                outcome = unanalysed(relative[index], outcome.kind, outcome.detail, settings)
            else:
                outcome.disk_path = pending_disk[index]  # not sent: where this run found it
            yield index, outcome
        return
    init_worker(settings, knowledge)
    for index, task in pending:
        try:
            result = lint_task(task)
        except Exception as exc:
            result = unanalysed(task[1], "error", f"{type(exc).__name__}: {exc}", settings)
        yield index, result
