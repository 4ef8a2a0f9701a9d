#!/usr/bin/env python3
"""Benchmark factorlint against peer agent-code scanners on a pinned corpus of agent projects.

Stdlib only. Everything heavy (corpus, virtual environments, logs, results) lives in a work
directory outside the repository; see bench/README.md for usage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (project directory name, pip requirement, pip format flag). The corpus is read as source, so
# sdists are taken, except for metagpt, which is pinned as its wheel.
CORPUS = [
    ("mini-swe-agent", "mini-swe-agent==2.4.6", "--no-binary=:all:"),
    ("browser-use", "browser-use==0.13.14", "--no-binary=:all:"),
    ("gpt-researcher", "gpt-researcher==0.15.1", "--no-binary=:all:"),
    ("aider-chat", "aider-chat==0.86.2", "--no-binary=:all:"),
    ("open-interpreter", "open-interpreter==0.4.3", "--no-binary=:all:"),
    ("smolagents", "smolagents==1.26.0", "--no-binary=:all:"),
    ("openai-agents", "openai-agents==0.24.0", "--no-binary=:all:"),
    ("metagpt", "metagpt==0.8.2", "--only-binary=:all:"),
]

# Peers: (name = distribution name, pip spec, argv template, config files). Every invocation runs
# with the project directory as its working directory and "{path}" = ".": agentguard-linter
# refuses scan paths outside its working directory, so this is the one form every tool accepts.
# All of them recurse into directories by default (read from their --help and their
# file-discovery code). Config files are written into the project root for that tool's run only.
PEERS = [
    ("agentsentinel-cli", "agentsentinel-cli==0.9.14", ["sentinel", "scan", "{path}"], {}),
    ("agentgov-scanner", "agentgov-scanner==0.1.0", ["agentgov", "{path}"], {}),
    # --no-config mirrors factorlint's --isolated; --plain is its piped default, made explicit.
    ("agentguard-lint", "agentguard-lint==0.3.1",
     ["agentguard", "--no-config", "--plain", "--no-color", "{path}"], {}),
    # Skips tests/ by default (exclude_tests); left as shipped.
    ("agentguard-linter", "agentguard-linter==0.1.1", ["agentguard", "scan", "{path}"], {}),
    # By default uptocode stops reading after 4 MiB of source and after 240 s, so it would cover
    # only part of openai-agents; these limits exist only in .uptocode.yml at the scan root.
    ("uptocode", "uptocode==1.1.0", ["uptocode", "scan", "{path}"],
     {".uptocode.yml": "max_total_source_size: 268435456\ndeadline_seconds: 3600\n"}),
    ("agent-audit", "agent-audit==0.20.0", ["agent-audit", "scan", "{path}", "--no-color"], {}),
]

FACTORLINT_ARGS = ["check", "{path}", "--isolated", "--exit-zero", "--output-format", "concise"]
# A small agent module (a typical pre-commit change), a mid-sized one and the largest agent file.
DEFAULT_ONE_FILES = ("mini-swe-agent/src/minisweagent/agents/default.py",
                     "gpt-researcher/gpt_researcher/agent.py",
                     "smolagents/src/smolagents/agents.py")
ONE_FILE_RUNS = 5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- corpus

def ensure_corpus(corpus_dir: Path, download_dir: Path, names: list[str]) -> None:
    """Download (unless the archive is already in download_dir) and unpack missing projects."""
    for name, spec, fmt in CORPUS:
        if name not in names or (corpus_dir / name).is_dir():
            continue
        dist, version = spec.split("==")
        pattern = f"{dist.replace('-', '_')}-{version}*"
        archives = find_archives(download_dir, pattern, fmt)
        if not archives:
            log(f"downloading {spec}")
            download_dir.mkdir(parents=True, exist_ok=True)
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(download_dir), spec]
            # An sdist-only download can fail (no sdist published): then take what pip gives.
            if subprocess.run([*pip, fmt], check=False).returncode != 0:
                subprocess.run(pip, check=True)
            archives = find_archives(download_dir, pattern, fmt)
        unpack(archives[0], corpus_dir / name)


def find_archives(download_dir: Path, pattern: str, fmt: str) -> list[Path]:
    """Archives matching pattern, those of the wanted kind (wheel or sdist) first."""
    found = download_dir.glob(pattern) if download_dir.is_dir() else []
    want_wheel = fmt.startswith("--only-binary")
    return sorted(found, key=lambda a: ((a.suffix == ".whl") != want_wheel, a.name))


def unpack(archive: Path, dest: Path) -> None:
    log(f"unpacking {archive.name}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".unpack-"))
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(tmp, filter="data")
    entries = list(tmp.iterdir())
    # An sdist holds one <name>-<version>/ folder: strip it so every project has the same shape.
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp
    root.rename(dest)
    shutil.rmtree(tmp, ignore_errors=True)


def count_lines(project: Path) -> dict:
    """All .py files of the project, no excludes: the same denominator for every tool."""
    files = lines = 0
    for path in project.rglob("*.py"):
        if path.is_file():
            files += 1
            lines += len(path.read_bytes().splitlines())
    return {"files": files, "lines": lines}


# ---------------------------------------------------------------- tools

def ensure_venv(venv: Path, install: list[str], marker: str) -> Path:
    """Create venv and pip-install into it, unless bin/<marker> already exists."""
    bin_dir = venv / "bin"
    if not (bin_dir / marker).exists():
        log(f"installing {' '.join(install)} into {venv}")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", *install], check=True)
    return bin_dir


def install_factorlint(workdir: Path, python: str | None) -> Path:
    if python:
        return Path(python).parent
    # Always reinstall from the checkout so the numbers are for the code as it is now.
    bin_dir = ensure_venv(workdir / "venvs" / "factorlint", [str(REPO)], "factorlint")
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--force-reinstall",
                    "--no-deps", str(REPO)], check=True)
    return bin_dir


def tool_version(bin_dir: Path, dist: str) -> str:
    code = ("import importlib.metadata as m, platform;"
            f"print(m.version({dist!r}), 'on Python', platform.python_version())")
    out = subprocess.run([str(bin_dir / "python"), "-c", code], check=False, capture_output=True,
                         text=True)
    return out.stdout.strip() or "unknown"


# ---------------------------------------------------------------- measuring

def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_once(argv: list[str], cwd: Path, timeout: float, out_base: Path) -> dict:
    """Run argv, returning wall time and the child's own rusage (os.wait4).

    wait4's rusage covers the child plus the descendants it waited for: CPU is summed over them,
    while ru_maxrss is the peak of the largest single process in that tree, not the sum.
    The machine's busy time minus the child's says how much else ran meanwhile (noise).
    """
    out_base.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{out_base}.out", "wb") as out, open(f"{out_base}.err", "wb") as err:
        busy = busy_cpu_s()
        start = time.perf_counter()
        # A session of its own, so a timeout kills the whole process group.
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):  # it may have just ended
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        busy = busy_cpu_s() - busy
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, tell Popen
    stdout = Path(f"{out_base}.out").read_text(errors="replace")
    stderr = Path(f"{out_base}.err").read_text(errors="replace")
    if timed_out.is_set():
        state = "timeout"
    elif proc.returncode not in (0, 1) or "Traceback (most recent call last)" in stderr:
        state = "crashed"  # 0/1 are every tool's clean/findings codes; anything else is an error
    else:
        state = "ok"
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": wall, "cpu_s": cpu, "others_cpu_s": max(busy - cpu, 0.0),
            "peak_mib": usage.ru_maxrss / 1024, "exit_code": proc.returncode, "status": state,
            "stdout_lines": stdout.count("\n"), "stdout_bytes": len(stdout.encode()),
            "stderr_tail": stderr[-400:] if state != "ok" else ""}


def measure(argv: list[str], cwd: Path, args, out_base: Path) -> dict:
    """Median of --repeat runs; a run that did not finish cleanly stops the repetition."""
    runs = []
    for _ in range(args.repeat):
        runs.append(run_once(argv, cwd, args.timeout, out_base))
        if runs[-1]["status"] != "ok":
            break
    result = dict(runs[-1])
    for key in ("wall_s", "cpu_s", "peak_mib", "others_cpu_s"):
        result[key] = statistics.median(r[key] for r in runs)
    result["walls"] = [round(r["wall_s"], 3) for r in runs]
    return result


def fill(template: list[str], path: str, cache: str = "") -> list[str]:
    return [part.replace("{path}", path).replace("{cache}", cache) for part in template]


def findings_count(stdout: str) -> int | None:
    if "All checks passed" in stdout:
        return 0
    match = re.search(r"Found ([\d,]+) finding", stdout)
    return int(match.group(1).replace(",", "")) if match else None


def bench_factorlint(bin_dir: Path, workdir: Path, corpus_dir: Path, projects: list[str], args,
                     logs: Path, results: dict) -> None:
    exe = str(bin_dir / "factorlint")
    help_text = subprocess.run([exe, "check", "--help"], check=False, capture_output=True,
                               text=True).stdout
    # Older factorlint versions have no cache: then there is nothing to warm or to turn off.
    has_cache = results["factorlint_has_cache"] = "--cache-dir" in help_text
    commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                            check=False, capture_output=True, text=True).stdout.strip()
    version = f"{tool_version(bin_dir, 'factorlint')}, checkout {commit}"
    modes = {"factorlint-cold": FACTORLINT_ARGS + (["--no-cache"] if has_cache else [])}
    if has_cache:
        # A cache outside the corpus, emptied before the filling run: warm means filled by this
        # very version, and the corpus (maybe shared with other users) stays untouched.
        modes["factorlint-warm"] = [*FACTORLINT_ARGS, "--cache-dir", "{cache}"]
    else:
        log("factorlint check has no --cache-dir: no cache to warm, warm run skipped")
    for mode, template in modes.items():
        entry = results["tools"].setdefault(mode, {"projects": {}})
        entry.update(version=version, command=["factorlint", *template])
        for name in projects:
            log(f"{mode}: {name}")
            cache = workdir / "factorlint-cache" / name
            argv = fill([exe, *template], ".", str(cache))
            if mode == "factorlint-warm":
                shutil.rmtree(cache, ignore_errors=True)
                run_once(argv, corpus_dir / name, args.timeout, logs / mode / name)  # fills it
            res = measure(argv, corpus_dir / name, args, logs / mode / name)
            res["findings"] = findings_count(Path(f"{logs / mode / name}.out").read_text(errors="replace"))
            entry["projects"][name] = res
    results["one_file"] = []
    for relative in args.one_file.split(","):
        one = corpus_dir / relative
        if not one.is_file() or one.relative_to(corpus_dir).parts[0] not in projects:
            continue
        log(f"factorlint one file: {relative}")
        # The file alone, as before project context: with it, a cold run analyses the whole project.
        alone = ["--no-project-context"] if "--no-project-context" in help_text else []
        argv = fill([exe, *modes["factorlint-cold"], *alone], str(one))
        walls = [run_once(argv, one.parent, args.timeout, logs / "one-file")["wall_s"]
                 for _ in range(ONE_FILE_RUNS)]
        results["one_file"].append({"file": relative, "lines": len(one.read_bytes().splitlines()),
                                    "median_wall_s": statistics.median(walls), "walls": walls})
    # The floor under any one-file run: the interpreter starting and importing LibCST, which
    # every LibCST-based linter pays before it reads a file.
    floor = [run_once([str(bin_dir / "python"), "-c", "import libcst"], corpus_dir, args.timeout,
                      logs / "import-libcst")["wall_s"] for _ in range(ONE_FILE_RUNS)]
    results["import_libcst_s"] = statistics.median(floor)


def bench_peers(workdir: Path, corpus_dir: Path, projects: list[str], only: set[str] | None,
                args, logs: Path, results: dict) -> None:
    for name, spec, template, configs in PEERS:
        if only and name not in only:
            continue
        entry = results["tools"].setdefault(name, {"projects": {}})
        entry.update(command=template, config=configs)
        try:
            bin_dir = ensure_venv(workdir / "venvs" / name, [spec], template[0])
        except subprocess.CalledProcessError as error:  # recorded, the other tools still run
            log(f"{name}: install failed: {error}")
            entry["version"] = "install failed"
            continue
        argv = [str(bin_dir / template[0]), *template[1:]]
        entry["version"] = tool_version(bin_dir, name)
        for project in projects:
            log(f"{name}: {project}")
            cwd = corpus_dir / project
            written = [cwd / f for f in configs if not (cwd / f).exists()]
            for path in written:
                path.write_text(configs[path.name])
            try:
                entry["projects"][project] = measure(fill(argv, "."), cwd, args, logs / name / project)
            finally:
                for path in written:
                    path.unlink()


# ---------------------------------------------------------------- report

def machine() -> dict:
    def grep(path: str, key: str, sep: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(sep, 1)[1].strip().strip('"')
        except OSError:
            pass
        return "unknown"

    mem_kib = grep("/proc/meminfo", "MemTotal", ":").split()[0]
    return {"cpu": grep("/proc/cpuinfo", "model name", ":"), "cores": os.cpu_count(),
            "ram_gib": round(int(mem_kib) / 2**20, 1) if mem_kib.isdigit() else None,
            "os": grep("/etc/os-release", "PRETTY_NAME", "="), "python": platform.python_version()}


def cell(res: dict | None) -> str:
    if res is None:
        return "–"
    return f"{res['wall_s']:.2f}" if res["status"] == "ok" else res["status"]


def markdown(results: dict) -> str:
    m, corpus = results["machine"], results["corpus"]
    order = ["factorlint-cold", "factorlint-warm", *(p[0] for p in PEERS)]
    tools = {t: results["tools"][t] for t in order if t in results["tools"]}
    base = tools.get("factorlint-cold", {}).get("projects", {})
    out = ["## Benchmark", "",
           (f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, "
            f"Python {m['python']}."), "", "Tool versions:", ""]
    for tool, entry in tools.items():
        configs = "".join(f", with `{name}`: `{text.strip().replace(chr(10), '; ')}`"
                          for name, text in entry.get("config", {}).items())
        out.append(f"- {tool}: {entry['version']} — `{' '.join(entry['command'])}`{configs}")
    out += ["", ("Lines are all lines of all `.py` files of each project (no excludes), the same "
                 "for every tool; each tool skips its own excludes. Peak MiB is the largest single "
                 "process of the tool's process tree (ru_maxrss), the maximum over projects. The "
                 "ratio is the tool's wall time over factorlint cold on the projects both "
                 "finished. Others' CPU s is what other processes used meanwhile (0 on a quiet "
                 "machine)."), "",
            "| tool | projects ok | wall s | CPU s | peak MiB | lines/s | × factorlint cold | "
            + "others' CPU s |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for tool, entry in tools.items():
        ok = {p: r for p, r in entry["projects"].items() if r["status"] == "ok"}
        wall = sum(r["wall_s"] for r in ok.values())
        lines = sum(corpus[p]["lines"] for p in ok)
        common = [p for p in ok if base.get(p, {}).get("status") == "ok"]
        base_wall = sum(base[p]["wall_s"] for p in common)
        ratio = f"{sum(ok[p]['wall_s'] for p in common) / base_wall:.3f}" if base_wall else "–"
        out.append(f"| {tool} | {len(ok)}/{len(entry['projects'])} | {wall:.2f} | "
                   f"{sum(r['cpu_s'] for r in ok.values()):.2f} | "
                   f"{max((r['peak_mib'] for r in ok.values()), default=0):.0f} | "
                   f"{lines / wall if wall else 0:,.0f} | {ratio} | "
                   f"{sum(r.get('others_cpu_s', 0) for r in ok.values()):.1f} |")
    names = list(tools)
    out += ["", "Wall time per project, seconds:", "",
            "| project | .py files | .py lines | " + " | ".join(names) + " | factorlint findings |",
            "| --- | ---: | ---: | " + " | ".join("---:" for _ in names) + " | ---: |"]
    for project, size in corpus.items():
        found = base.get(project, {}).get("findings")
        out.append(f"| {project} | {size['files']} | {size['lines']:,} | "
                   + " | ".join(cell(tools[t]["projects"].get(project)) for t in names)
                   + f" | {'–' if found is None else found} |")
    if results.get("factorlint_has_cache") is False:
        out += ["", "This factorlint has no cache (`check` has no `--cache-dir`): warm not measured."]
    ones = results.get("one_file") or []
    if isinstance(ones, dict):
        ones = [ones]  # results.json from an older run of this script
    if ones:
        out += ["", ("factorlint cold (`--no-cache`, `--no-project-context`) on one file, median over "
                f"{len(ones[0]['walls'])} runs:"), "", "| file | lines | wall s |", "| --- | ---: | ---: |"]
        out += [f"| `{one['file']}` | {one['lines']:,} | {one['median_wall_s']:.2f} |" for one in ones]
    if "import_libcst_s" in results:
        out += ["", (f"Starting Python and importing LibCST alone takes {results['import_libcst_s']:.2f} s "
                "(median) in the same environment.")]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("~/.cache/factorlint-bench").expanduser())
    parser.add_argument("--corpus-dir", type=Path, help="an unpacked corpus (default WORKDIR/corpus)")
    parser.add_argument("--download-dir", type=Path, help="archives to reuse (default WORKDIR/dl)")
    parser.add_argument("--factorlint-python", help="use this interpreter's factorlint, no install")
    parser.add_argument("--only", help="comma-separated tools: factorlint and/or peer names")
    parser.add_argument("--projects", help="comma-separated project names")
    parser.add_argument("--repeat", type=int, default=1, help="runs per invocation; the median is kept")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per invocation")
    parser.add_argument("--one-file", default=",".join(DEFAULT_ONE_FILES),
                        help="comma-separated files, relative to the corpus dir, timed alone")
    parser.add_argument("--markdown", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()

    workdir = args.workdir.resolve()
    corpus_dir = (args.corpus_dir or workdir / "corpus").resolve()
    all_projects = [name for name, _, _ in CORPUS]
    projects = args.projects.split(",") if args.projects else all_projects
    only = set(args.only.split(",")) if args.only else None
    known = {"factorlint", *(p[0] for p in PEERS)}
    for bad in [p for p in projects if p not in all_projects] + sorted((only or set()) - known):
        parser.error(f"unknown project or tool: {bad}")
    ensure_corpus(corpus_dir, (args.download_dir or workdir / "dl").resolve(), projects)

    # Merge into earlier results, so tools and projects can be measured in separate runs.
    results_path = workdir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {"tools": {}}
    results["machine"] = machine()
    results.setdefault("corpus", {})
    for name in projects:
        results["corpus"][name] = count_lines(corpus_dir / name)
    results["corpus"] = {p: results["corpus"][p] for p in all_projects if p in results["corpus"]}

    logs = workdir / "logs"  # each invocation's stdout and stderr, from its last run
    try:
        if not only or "factorlint" in only:
            bench_factorlint(install_factorlint(workdir, args.factorlint_python), workdir,
                             corpus_dir, projects, args, logs, results)
        if not args.skip_peers and (not only or only - {"factorlint"}):
            bench_peers(workdir, corpus_dir, projects, only, args, logs, results)
    finally:  # an interrupted run keeps what it measured
        results_path.write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    print(report)
    if args.markdown:
        args.markdown.write_text(report)
    log(f"results: {results_path}")


if __name__ == "__main__":
    main()
