"""Where factorlint's time goes on one project, in one process.

    python bench/where_time_goes.py PATH [--top N] [--cprofile OUT]

Prints the CPU seconds of the stages for the files a run parses with LibCST (those it gathers
facts from): CPython's ``ast`` parse (the syntax screen), LibCST's parse, and everything else of
a full ``lint_paths`` run (rules, prescan, tool scan, facts, inventory, positions, project pass), and
the part of the whole run spent collecting garbage. With ``--top N`` it also runs the lint under
cProfile and lists the N functions with the most time of their own, and the rule and engine
handlers with the most cumulative time. Run it with the Python of the factorlint install being
measured (the project's own tests do not time anything).

It measures the way a run's worker analyses: the start-up heap frozen and the collection
threshold set (``pool.settle_worker_heap``), each file's tree dropped once the file is done
(never a list of trees kept alive, which would make every garbage collection scan them and
inflate LibCST's share), and the lint in this process
(``jobs=0``, the analysis a worker runs, without the pool), so that the CPU time is all here.
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import gc
import pstats
import time
from pathlib import Path

from factorlint import api
from factorlint.config import Overrides, resolve_settings
from factorlint.engine.parse.parse import parse_module
from factorlint.engine.run.pool import settle_worker_heap


def _texts(report, *, parsed: bool) -> list[str]:
    """The text of every file of the run, or (``parsed``) of those it parsed with LibCST: the
    files it gathered facts from (a file the prefilter skips, or a test left waiting, has none)."""
    root = Path(report.root)
    texts = []
    for result in report.files:
        if parsed and (result.facts is None or result.skipped):
            continue
        try:
            texts.append((root / result.path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    return texts


def _cpu(function) -> float:
    start = time.process_time()
    function()
    return time.process_time() - start


def _parse_each(texts: list[str], parse) -> None:
    for text in texts:
        parse(text)  # the tree is dropped here, as the runner drops it after each file


class _CollectionTime:
    """Wall seconds spent in the garbage collector while it is installed (a CPU-bound process:
    close to its CPU seconds)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=0, help="also profile and list the N costliest functions")
    parser.add_argument("--cprofile", type=Path, help="write the cProfile data here")
    args = parser.parse_args()

    settings = resolve_settings(args.path, Overrides(isolated=True))
    parse_module("")  # LibCST's parser thread and its imports, not timed
    gc.collect()
    settle_worker_heap()  # the start-up heap frozen and the collection thresholds, as in a worker
    collection = _CollectionTime()
    gc.callbacks.append(collection)
    reports = []
    total_s = _cpu(lambda: reports.append(api.lint_paths([args.path], settings, jobs=0)))
    gc.callbacks.remove(collection)
    # The parses timed again alone: CPython's of every file, LibCST's of those the run gave it.
    report = reports.pop()
    every, texts = _texts(report, parsed=False), _texts(report, parsed=True)
    lines = sum(text.count("\n") for text in texts)
    ast_s = _cpu(lambda: _parse_each(every, ast.parse))
    libcst_s = _cpu(lambda: _parse_each(texts, parse_module))
    rest_s = max(total_s - ast_s - libcst_s, 0.0)
    print(f"{len(every)} files read, {len(texts)} parsed by LibCST ({lines:,} lines); one process, CPU seconds"
          " (lines/s: of the lines LibCST parsed):")
    for label, seconds in (("ast parse (syntax screen), every file", ast_s), ("LibCST parse", libcst_s),
                           ("rules, scans, positions, project pass", rest_s), ("whole lint", total_s),
                           ("  of which garbage collection", collection.seconds)):
        share = f"{seconds / total_s:6.1%}" if total_s else ""
        rate = f"{lines / seconds:10,.0f} lines/s" if seconds else ""
        print(f"  {label:40s} {seconds:8.2f} s {share} {rate}")
    if args.top or args.cprofile:
        profiler = cProfile.Profile()
        profiler.runcall(api.lint_paths, [args.path], settings, jobs=0)
        stats = pstats.Stats(profiler)
        if args.cprofile:
            stats.dump_stats(str(args.cprofile))
        if args.top:
            print(f"\nTop {args.top} by own time (profiled: the profiler inflates small calls):")
            stats.sort_stats("tottime").print_stats(args.top)
            handlers = sorted(
                ((cumulative, calls, f"{Path(file).parent.name}/{Path(file).name}:{name}")
                 for (file, _, name), (_, calls, _, cumulative, _) in stats.stats.items()
                 if "factorlint" in file and name.startswith(("visit_", "leave_"))),
                reverse=True,
            )[: args.top]
            print(f"Top {args.top} rule and engine handlers by cumulative time:")
            for cumulative, calls, where in handlers:
                print(f"  {cumulative:8.2f} s {calls:9,d} calls  {where}")


if __name__ == "__main__":
    main()
