"""Linting a set of paths end to end: discover, read, lint each file, then the project pass."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Callable, Optional

from factorlint.discovery import discover
from factorlint.engine.names import module_name_for
from factorlint.engine.project import build_report
from factorlint.engine.runner import PARSE_ERROR, lint_file
from factorlint.knowledge import Knowledge, default_knowledge
from factorlint.model import Diagnostic, FileResult, Report

READ_ERROR = "TFA0001"


def read_and_lint(source_path: Path, relative: str, settings, knowledge: Knowledge) -> FileResult:
    """Read one file's bytes (never importing or running it) and lint them."""
    try:
        info = source_path.stat()
        size = info.st_size
        if not stat.S_ISREG(info.st_mode):
            result = FileResult(path=relative)
            result.diagnostics.append(
                Diagnostic(READ_ERROR, relative, "File skipped: not a regular file (a FIFO, socket or device)")
            )
            return result
        if size > settings.max_file_bytes:
            result = FileResult(path=relative)
            result.diagnostics.append(
                Diagnostic(
                    READ_ERROR, relative,
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


def lint_paths(
    paths: list[Path],
    settings,
    *,
    knowledge: Optional[Knowledge] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> Report:
    knowledge = knowledge or default_knowledge()
    files = discover(paths, settings)
    results = []
    for number, source in enumerate(files, 1):
        results.append(read_and_lint(source.path, source.relative, settings, knowledge))
        if progress is not None:
            progress(number, len(files))
    return build_report(str(settings.root), results, knowledge, settings)
