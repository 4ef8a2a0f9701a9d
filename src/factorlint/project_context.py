"""Project context for a run on some files of a project: the rest of the project is read, only
those files are reported.

Whether a finding stands can depend on other files: a ``while True`` loop around ``ask(messages)``
is an unbounded agent loop (TFA0802) only if ``ask``, maybe defined in ``llm.py``, reaches a model.
The project pass (:mod:`engine.project`) settles that from every file's facts, so a run on
``agent.py`` alone, which is what pre-commit runs on each commit, would pass a loop that a run on
the project reports. A run on files therefore analyses the whole project they belong to and
reports only those files:

- **The project root** is the folder of the configuration file the run uses, when that folder is
  at or above every given file (``find_config`` looks no higher than the repository's root);
  otherwise the repository root (the closest folder holding ``.git``); outside a repository, the
  closest folder holding a ``pyproject.toml``. Files with none of these above them (a loose
  script in ``~/Downloads`` or ``/tmp``) belong to no project: they are linted alone, never with
  whatever else happens to sit in their folder.
- **The project's files** are discovered under that root by the same rules as a run on the root
  (excludes, ``.gitignore``, the git index), and every file is analysed as a run on the root
  analyses it: its path relative to the root is the key of its cache entry and what
  per-file-ignores and the test/example roles are matched against. So the results of a run on
  files and of a run on the project share one cache file (same root, same settings key), both
  ways: after one run on the project, a pre-commit run reads and hashes each file, takes its facts
  from the cache and analyses only what changed. A given file that the project's discovery leaves
  out (excluded, but named on the command line) is analysed all the same.
- **Only the given files are reported**: their findings, suppressed findings, diagnostics and
  sites, under the paths the run shows without project context (relative to the run's root), and
  the discovery diagnostics of what was given. The other files contribute their facts only.

A run on a folder is left as it was: the folder is the scope of the run (``factorlint check .``,
``factorlint audit examples/app``) and its files are analysed with paths relative to it, as a
project of their own. A run that finds no file to lint (pre-commit passing an excluded file with
``--force-exclude``) reads nothing else either.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from factorlint.discovery import Discovery, SourceFile, discover
from factorlint.git_index import repository_root
from factorlint.model import FileResult, Report

if TYPE_CHECKING:
    from factorlint.config import Settings


@dataclass
class ProjectContext:
    """The plan of a run with project context: what to analyse, and how to show the given files."""

    root: Path  # the project root, absolute and resolved
    settings: Settings  # the run's settings with ``root`` set to the project root
    files: list[SourceFile]  # every file to analyse, paths relative to the project root, sorted
    shown: dict[str, str]  # each given file's path relative to the project root -> as shown

    def facts_only(self, results: list[FileResult]) -> list[FileResult]:
        """The results to give the project pass: the given files' whole, the others' facts only
        (what the project pass needs from them to settle the given files' findings)."""
        return [
            result if result.path in self.shown
            else dataclasses.replace(result, findings=[], diagnostics=[], suppressions=[], sites=[])
            for result in results
        ]

    def narrow(self, report: Report, root: str) -> Report:
        """The project's report cut down to the given files, under their paths as shown.

        Fingerprints hash the path: they are recomputed for the shown paths, so they are those a
        run without project context gives.
        """
        from factorlint.engine.project.project_pass import _fingerprint

        shown = self.shown
        renamed = any(project != visible for project, visible in shown.items())
        files = [result for result in report.files if result.path in shown]
        findings = [f for f in report.findings if f.path in shown]
        suppressed = [f for f in report.suppressed if f.path in shown]
        sites = [s for s in report.sites if s.path in shown]
        diagnostics = [
            dataclasses.replace(d, path=shown[d.path]) if renamed else d
            for d in report.diagnostics if d.path in shown
        ]
        if renamed:
            for result in files:
                result.path = shown[result.path]
            for finding in (*findings, *suppressed):
                finding.path = shown[finding.path]
            for site in sites:
                site.path = shown[site.path]
            _fingerprint(findings)
            _fingerprint(suppressed)
            files.sort(key=lambda result: result.path)
            findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
            sites.sort(key=lambda site: site.path)  # stable: each file's sites stay in order
        return Report(
            root=root, files=files, findings=findings, diagnostics=diagnostics,
            suppressed=suppressed, sites=sites,
        )


def find_project_root(paths: list[Path], settings: Settings) -> Path | None:
    """The root of the project the given files belong to (absolute, resolved): the folder of the
    run's configuration file when it is at or above them all, else their repository's root, else
    the closest folder above them holding a pyproject.toml; None when there is none."""
    folders = [_resolve(path if path.is_dir() else path.parent) for path in paths]
    common = Path(os.path.commonpath(folders))
    config = settings.config_path
    if config is not None:
        folder = _resolve(Path(config).parent)
        if _at_or_above(folder, common):
            return folder
    repository = repository_root(common)
    if repository is not None:
        return repository
    # Outside a repository (an unpacked sdist, a copied tree): the closest pyproject.toml, even one
    # without a factorlint table, marks where the project starts.
    for folder in (common, *common.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def plan(paths: list[Path], settings: Settings, given: Discovery) -> ProjectContext | None:
    """How to lint the files ``paths`` (whose discovery is ``given``) with the rest of their
    project as context; None for a run that takes none: one on a folder (see the module's
    docstring), or one that found nothing to lint."""
    if not given.files or any(path.is_dir() for path in paths):
        return None
    root = find_project_root(paths, settings)
    if root is None:
        return None  # no project around the files: they are linted alone
    project_settings = dataclasses.replace(settings, root=root)
    scanned = settings.root if settings.root.is_dir() else settings.root.parent
    if _resolve(scanned) != root:
        # Pinned versions as a run on the root finds them (its folder first, then the config's).
        from factorlint.versions import detect_versions

        config = settings.config_path
        versions = detect_versions(root, _resolve(Path(config).parent) if config is not None else root)
        project_settings = dataclasses.replace(project_settings, versions=versions)
    by_relative = {source.relative: source for source in discover([root], project_settings).files}
    shown: dict[str, str] = {}
    for source in given.files:
        relative = _relative_to(source.path, root)
        if relative is None:
            return None  # cannot be placed in the project (cannot happen: the root holds it)
        if relative in shown:
            continue
        shown[relative] = source.relative
        # As given: the same file (the path it was named by is the one --fix writes to).
        by_relative[relative] = SourceFile(source.path, relative)
    files = sorted(by_relative.values(), key=lambda source: source.relative)
    return ProjectContext(root=root, settings=project_settings, files=files, shown=shown)


def _resolve(path: Path) -> Path:
    """``path.resolve()``, or the absolute path for a symlink loop (RuntimeError before 3.13)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def _at_or_above(folder: Path, path: Path) -> bool:
    return folder == path or folder in path.parents


def _relative_to(path: Path, root: Path) -> str | None:
    """The file's '/'-separated path relative to ``root`` as discovery computes it (its folder
    resolved, a symlinked file keeping its own name); None when it is not under ``root``."""
    try:
        return (_resolve(path.parent) / path.name).relative_to(root).as_posix()
    except ValueError:
        return None
