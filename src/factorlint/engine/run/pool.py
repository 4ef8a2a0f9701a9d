"""Supervised worker processes: each file is analysed within a time and a memory budget.

factorlint reads untrusted code in CI and in pre-commit hooks, so no file may take the run down
with it. The syntax screen (:mod:`engine.parse`) keeps known hazards away from LibCST's native
parser; this module contains whatever it does not foresee. A file whose analysis crashes the
process (a segmentation fault in native code, the kernel's OOM killer, an ``os._exit``), runs
past ``max-file-seconds`` or grows past ``max-file-memory`` costs that file only: it becomes a
:class:`Failure`, which the caller reports as a diagnostic, and the run goes on.

How, and why this way rather than ``concurrent.futures.ProcessPoolExecutor`` (which loses the
whole run, ``BrokenProcessPool``, when one worker dies, and cannot stop one slow task):

- **Forked workers.** Workers are forked from this process once it has imported LibCST (and
  the rules, when there are several workers), so a worker starts in milliseconds and shares
  those pages copy-on-write; even a one-file run (pre-commit) is analysed in a worker. They are
  forked and spoken to without ``multiprocessing`` (:mod:`engine.run.forked`), which would
  import pickle. Where fork is unavailable or unsafe (macOS, Windows), workers are spawned
  interpreters, through ``multiprocessing``, that import everything again, which only pays off
  for large runs (:func:`forking`).
- **One task at a time.** Each worker has a pipe of its own and holds at most one task. The
  parent waits on the busy workers' pipes and process sentinels together
  (:func:`engine.run.forked.wait`), up to the earliest deadline.
- **Failures cost one task.** A worker that dies is reaped and its task becomes a Failure naming
  the signal or exit code; a worker past its deadline is killed (SIGKILL) first. A replacement is
  forked only with a task to give it, so a run always progresses.
- **Memory.** Before each task a worker caps its address space (``RLIMIT_AS``) at its current
  size plus the budget. The parser thread runs before the first cap, so its stack and its malloc
  arena are in that size already (where it cannot run, :data:`_RESERVED` is left for the thread
  each parse then starts). Python
  code then raises ``MemoryError``, which the worker reports before retiring (where a
  ``MemoryError`` can mean something else, :func:`budget_lifted` tells them apart); LibCST's
  Rust code aborts instead, printing ``memory allocation of N bytes failed``. Each worker's standard error
  goes to a file of its own, whose tail tells that abort from a crash (and keeps native noise
  off the user's terminal). Without ``/proc`` (not Linux) the memory budget is not enforced.
- **No orphans.** A worker asks the kernel to kill it when the parent dies
  (``PR_SET_PDEATHSIG`` on Linux) and exits on end-of-file of its pipe; it closes the parent's
  ends of its siblings' pipes, which fork copied into it, so that end-of-file does come.
- **Signals.** While the pool runs, SIGTERM and SIGHUP (if the caller left them at their default
  action) raise :class:`Terminated` in the parent: every worker is killed and reaped, and the
  exception, a ``SystemExit``, ends the process with 128 + the signal number, the status a shell
  reports for a process the signal killed. Workers ignore SIGINT: Ctrl-C reaches the whole
  process group, and the parent stops them.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from factorlint.engine.run.forked import ForkedProcess, channel_pair, wait

# Address space a worker may take beyond the budget when the parser thread could not be started
# ahead: a parser thread's 64 MiB stack and the malloc arena glibc reserves for that thread (64
# MiB, reserved, not used).
_RESERVED = 128 << 20
_PR_SET_PDEATHSIG = 1
_SHUTDOWN_GRACE = 2.0  # seconds a worker has to exit on end-of-file before it is killed
# Allocations between two young-generation collections in a worker (CPython's default is 700).
# An analysis allocates millions of short-lived containers that reference counting frees;
# collecting every 700 of them scanned the survivors over and over, for a tenth of the rules'
# time. A file's analysis allocates far more than this, so its cyclic garbage still goes while
# the next file is analysed.
WORKER_GC_THRESHOLD = 10_000


class Failure(NamedTuple):
    """A task that produced no result. ``kind`` is ``"time"`` (over the time budget),
    ``"memory"`` (over the memory budget), ``"crash"`` (the worker died) or ``"error"`` (the task
    raised); ``detail`` says what happened, for a person."""

    kind: str
    detail: str


# What ``initargs`` may hold: multiprocessing hands them to a spawned worker by pickle, which for
# these types is plain data, not objects to rebuild.
_PLAIN = (str, bytes, int, float, bool)

# The largest answer a worker may send (a result of a 5 MB file is a few MB).
_MAX_ANSWER = 256 << 20


def _encode_json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _decode_json(data: bytes) -> Any:
    return json.loads(data)


def _answer(key: int, outcome: Any, encode: Callable[[Any], bytes]) -> bytes:
    """What a worker sends: ``<key> R <payload>`` for a result, ``<key> F <[kind, detail]>``."""
    if not isinstance(outcome, Failure):
        try:
            return b"%d R " % key + encode(outcome)
        except Exception as exc:
            outcome = Failure("error", f"the result cannot be sent: {type(exc).__name__}: {exc}")
    return b"%d F " % key + json.dumps([outcome.kind, outcome.detail]).encode("utf-8")


def _read_answer(data: bytes, key: int, decode: Callable[[bytes], Any]) -> Any:
    """The outcome in a worker's answer for task ``key``; a Failure for anything malformed."""
    try:
        head, kind, payload = data.split(b" ", 2)
        if int(head) != key:
            return Failure("error", "the analysis process answered for another task")
        if kind == b"R":
            return decode(payload)
        if kind == b"F":
            failure = json.loads(payload)
            if type(failure) is list and len(failure) == 2 and all(type(p) is str for p in failure):
                return Failure(failure[0][:20], failure[1][:2000])
    except Exception:  # whatever it sent, it is not an answer
        pass
    return Failure("error", "the analysis process sent a malformed answer")


class Terminated(SystemExit):
    """SIGTERM or SIGHUP arrived while the pool ran; the workers are gone. Exits the process
    with the conventional status, 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def forking() -> bool:
    """Whether workers are forked (cheap) rather than spawned (a fresh interpreter each)."""
    return sys.platform not in ("darwin", "win32") and hasattr(os, "fork")


def default_jobs() -> int:
    """The CPUs this process may use: its CPU affinity, lowered by a cgroup CPU quota (a
    container limited to two CPUs on a 64-CPU host runs two workers, not 64)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    return max(1, min(cpus, quota) if quota is not None else cpus)


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup"), own: Path = Path("/proc/self/cgroup")) -> int | None:
    """The CPU quota of this process's cgroup and its ancestors, rounded up to whole CPUs, or
    None without one. cgroup v2: ``cpu.max`` (``"200000 100000"``, or ``"max 100000"``);
    v1: ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` (a quota of -1 is none)."""
    try:
        lines = own.read_text().splitlines()
    except OSError:
        lines = []
    unified, v1 = "/", None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            unified = parts[2]
        elif "cpu" in parts[1].split(","):
            v1 = (parts[1], parts[2])
    limits = []
    for folder in _ancestors(root, unified):
        text = _read(folder / "cpu.max")
        if text:
            quota, _, period = text.partition(" ")
            if quota.isdigit() and period.strip().isdigit() and int(period) > 0:
                limits.append(math.ceil(int(quota) / int(period)))
    if v1 is not None:
        for mount in (root / v1[0], root / "cpu", root / "cpu,cpuacct"):
            for folder in _ancestors(mount, v1[1]):
                quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
                if quota.lstrip("-").isdigit() and period.isdigit() and int(quota) > 0 and int(period) > 0:
                    limits.append(math.ceil(int(quota) / int(period)))
    return min(limits) if limits else None


def _ancestors(mount: Path, path: str) -> list[Path]:
    """``mount/path`` and every folder above it up to ``mount`` (in a cgroup namespace the
    process's own cgroup is the root of the mount)."""
    parts = [p for p in path.split("/") if p and p != ".."]
    return [mount.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except (OSError, ValueError):
        return ""


def supervise(
    tasks: Iterable[tuple[Any, Any]],
    work: Callable[[Any], Any],
    *,
    workers: int,
    seconds: float | None = None,
    memory_mib: int | None = None,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
    encode: Callable[[Any], bytes] = _encode_json,
    decode: Callable[[bytes], Any] = _decode_json,
    encode_task: Callable[[Any], bytes] = _encode_json,
    decode_task: Callable[[bytes], Any] = _decode_json,
) -> Iterator[tuple[int, Any]]:
    """``(key, work(task))`` for each ``(key, task)``, or ``(key, Failure)``, as they complete.

    Runs ``work`` in at most ``workers`` processes, each task within ``seconds`` of wall time
    and ``memory_mib`` MiB of added address space. Keys are ints. Nothing crosses a pipe as a
    pickle: tasks go to the workers as bytes (``encode_task`` here, ``decode_task`` in the
    worker), results come back as bytes (``encode`` in the worker, ``decode`` here), JSON by
    default. A worker reads untrusted code with native code, so what it sends is data to
    validate, not objects to rebuild; and a task holds bytes of the scanned tree, which are
    never anything but data either. Where fork is unavailable, multiprocessing starts a spawned
    worker from references to module-level functions and ``initargs``, which must be plain
    strings, bytes and numbers (the settings as JSON text, say), never the run's objects: a
    TypeError otherwise. A result that ``decode`` rejects is a Failure. With forked workers ``work`` sees this process's state as it
    was at the fork, so set it up before calling; spawned workers run ``initializer(*initargs)``
    first. Closing the generator, or an exception in the caller, stops and reaps every worker.
    """
    queue = deque(tasks)
    if not queue:
        return
    if not all(arg is None or type(arg) in _PLAIN for arg in initargs):
        raise TypeError("initargs go to spawned workers as they are: give plain strings, bytes or numbers")
    forked = forking()
    memory = memory_mib << 20 if memory_mib else None
    workers = max(1, workers)
    pool: list[_Worker] = []
    restore = _handle_termination()
    try:
        while queue or any(w.task is not None for w in pool):
            for worker in [w for w in pool if w.task is None and (w.retiring or not w.alive())]:
                # Retired after a memory failure (it leaves once it has answered: never give it
                # another task), or killed from outside.
                pool.remove(worker)
                worker.process.join(_SHUTDOWN_GRACE)
                if worker.process.exitcode is None:
                    worker.kill()
                worker.close()
            for worker in pool:
                if queue and worker.task is None:
                    worker.give(queue.popleft(), seconds)
            while queue and len(pool) < workers:
                worker = _Worker(forked, work, memory, pool, initializer, initargs, encode, decode,
                                 encode_task, decode_task)
                pool.append(worker)  # before it starts: whatever happens next, it is stopped
                worker.start()
                worker.give(queue.popleft(), seconds)
            busy = [w for w in pool if w.task is not None]
            deadlines = [w.deadline for w in busy if w.deadline is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
            for worker in busy:
                outcome = worker.collect(ready)
                if outcome is not None:
                    yield outcome
    finally:
        restore()
        _stop(pool)


class _Worker:
    """One worker process, its pipe, its standard-error file, and the task it holds."""

    def __init__(self, forked: bool, work, memory: int | None, siblings: list, initializer, initargs,
                 encode: Callable[[Any], bytes], decode: Callable[[bytes], Any],
                 encode_task: Callable[[Any], bytes], decode_task: Callable[[bytes], Any]) -> None:
        self.conn: Any
        child: Any
        if forked:
            self.conn, child = channel_pair()
        else:
            import multiprocessing  # spawned workers only: see engine.run.forked

            context = multiprocessing.get_context("spawn")
            self.conn, child = context.Pipe(duplex=True)
        # Closed by close(), when the worker is done with.
        self.errors = tempfile.TemporaryFile(prefix="factorlint-worker-") if forked else None  # noqa: SIM115
        # Copies of the parent's ends that fork puts in the child, which the child closes.
        inherited = [self.conn, *(s.conn for s in siblings)] if forked else []
        self._child = child
        args = (child, work, memory, self.errors.fileno() if self.errors else None, inherited, os.getpid(),
                initializer, initargs, encode, decode_task)
        self.process = (
            ForkedProcess(_serve, args) if forked
            else context.Process(target=_serve, args=args, name="factorlint-worker", daemon=True)
        )
        self.decode = decode
        self.encode_task = encode_task
        self.task: tuple | None = None
        self.deadline: float | None = None
        self.seconds: float | None = None
        self.retiring = False  # it answered a MemoryError, and exits (see _serve)

    def start(self) -> None:
        for stream in (sys.stdout, sys.stderr):  # a child must not inherit unwritten output
            with contextlib.suppress(Exception):
                stream.flush()
        self.process.start()
        self._child.close()

    def alive(self) -> bool:
        return self.process.is_alive()

    def give(self, task: tuple, seconds: float | None) -> None:
        self.task, self.seconds = task, seconds
        self.deadline = time.monotonic() + seconds if seconds is not None else None
        try:
            self.conn.send_bytes(b"%d " % task[0] + self.encode_task(task[1]))
        except (OSError, ValueError):
            pass  # the worker is gone: its sentinel says so and the task is reported

    def collect(self, ready: set) -> tuple | None:
        """The outcome of this worker's task if it has one by now (then the worker is free)."""
        key = self.task[0]  # type: ignore[index]
        if self.conn in ready or self.process.sentinel in ready:
            try:
                if self.conn.poll():
                    answer = self.conn.recv_bytes(_MAX_ANSWER)
                    self.task = None
                    outcome = _read_answer(answer, key, self.decode)
                    self.retiring = isinstance(outcome, Failure) and outcome.kind == "memory"
                    return key, outcome
                dead = self.process.sentinel in ready
            except (EOFError, OSError):
                dead = True  # the pipe closed, with or without half an answer: the worker died
            if dead:
                self.process.join()
                self.task = None
                return key, self._death()
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.kill()
            self.task = None
            return key, Failure("time", f"over {self.seconds:g} s")
        return None

    def _death(self) -> Failure:
        code = self.process.exitcode
        tail = self._errors_tail()
        if b"memory allocation of" in tail:  # Rust's message when an allocation fails
            return Failure("memory", "a native allocation failed")
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "unknown"
            if -code == signal.SIGKILL:
                return Failure("crash", f"the analysis process was killed (signal {-code}, {name}; out of memory?)")
            return Failure("crash", f"the analysis crashed (signal {-code}, {name})")
        return Failure("crash", f"the analysis process exited unexpectedly (exit code {code})")

    def _errors_tail(self) -> bytes:
        if self.errors is None:
            return b""
        try:
            size = os.fstat(self.errors.fileno()).st_size
            return os.pread(self.errors.fileno(), 4096, max(0, size - 4096))
        except OSError:
            return b""

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.join()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        with contextlib.suppress(Exception):  # a spawned one refuses while it runs: it is killed first
            self.process.close()
        if self.errors is not None:
            with contextlib.suppress(Exception):
                self.errors.close()


def _stop(pool: list[_Worker]) -> None:
    """End every worker: idle ones at end-of-file of their pipe, busy ones, and any that does
    not exit within :data:`_SHUTDOWN_GRACE`, by SIGKILL; all are reaped."""
    started = [w for w in pool if w.process.pid is not None]
    for worker in started:
        if worker.task is not None:
            with contextlib.suppress(Exception):
                worker.process.kill()
        with contextlib.suppress(Exception):
            worker.conn.close()
    give_up = time.monotonic() + _SHUTDOWN_GRACE
    for worker in started:
        with contextlib.suppress(Exception):
            worker.process.join(max(0.0, give_up - time.monotonic()))
        if worker.process.exitcode is None:
            worker.kill()
    for worker in pool:
        worker.close()


def _handle_termination() -> Callable[[], None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` while the pool runs, where the caller
    left them at their default action (an application's own handlers, or ``nohup``'s ignored
    SIGHUP, are kept); returns what restores them. Signals belong to the main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {}

    def terminate(signum, frame) -> None:
        raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) == signal.SIG_DFL:
            previous[number] = signal.signal(number, terminate)

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)

    return restore


def settle_worker_heap() -> None:
    """Set up a worker's garbage collection once its start-up is done."""
    gc.freeze()  # what the parent built is never collected here: no scans, no copied pages
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])


def _serve(conn, work, memory: int | None, errors: int | None, inherited: list, parent: int,
           initializer, initargs, encode: Callable[[Any], bytes], decode_task: Callable[[bytes], Any]) -> None:
    """A worker's life: tasks in, results out, until end-of-file; never returns."""
    try:
        for other in inherited:
            other.close()
        _die_with_parent(parent)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        if errors is not None:
            os.dup2(errors, 2)
        if initializer is not None:
            initializer(*initargs)
        from factorlint.engine.parse.parse import start_parser

        space = _AddressSpace(memory, reserved=0 if start_parser() else _RESERVED)
        settle_worker_heap()
        while True:
            try:
                head, _, payload = conn.recv_bytes().partition(b" ")
            except (EOFError, OSError):
                break  # the parent is gone, or done
            key = int(head)
            retire = False
            space.cap()
            try:
                outcome = work(decode_task(payload))
            except MemoryError:
                outcome, retire = Failure("memory", "MemoryError"), True
            except BaseException as exc:
                outcome = Failure("error", f"{type(exc).__name__}: {exc}")
            finally:
                space.lift()
            try:
                conn.send_bytes(_answer(key, outcome, encode))
            except (EOFError, OSError):
                break
            if retire:
                break  # a worker that ran out of memory may have left its heap in pieces
            if errors is not None:  # what a file wrote on standard error is of no more use
                with contextlib.suppress(OSError):
                    os.ftruncate(2, 0)
                    os.lseek(2, 0, os.SEEK_SET)
    finally:
        os._exit(0)  # no atexit handlers, no flushing of the parent's buffers copied at fork


def _die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux), and leave now if the
    parent already has."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


class _AddressSpace:
    """A worker's memory budget: :meth:`cap` limits the address space (``RLIMIT_AS``) to its
    size now plus the budget (and ``reserved``), :meth:`lift` restores the limit the worker
    started with (so sending a result is never what fails). Needs ``/proc``: elsewhere, and
    without a budget, both do nothing."""

    current: _AddressSpace | None = None  # the worker's, while a task runs under its cap

    def __init__(self, memory: int | None, reserved: int = _RESERVED) -> None:
        self.memory = memory
        self.reserved = reserved
        self.original: tuple[int, int] | None = None
        self.limit: int | None = None
        if memory is None or not os.path.exists("/proc/self/statm"):
            return
        with contextlib.suppress(ImportError, OSError, ValueError):
            import resource

            self.original = resource.getrlimit(resource.RLIMIT_AS)

    def cap(self) -> None:
        if self.original is None or self.memory is None:
            return
        import resource

        with contextlib.suppress(OSError, ValueError):
            with open("/proc/self/statm", "rb") as statm:
                size = int(statm.read().split()[0]) * resource.getpagesize()
            soft, hard = self.original
            limit = size + self.memory + self.reserved
            for bound in (soft, hard):
                if bound != resource.RLIM_INFINITY:
                    limit = min(limit, bound)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
            self.limit = limit
            _AddressSpace.current = self

    def lift(self) -> None:
        _AddressSpace.current = None
        if self.original is None:
            return
        import resource

        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_AS, self.original)

    def recap(self) -> None:
        """The cap :meth:`cap` set, again (after :func:`budget_lifted`)."""
        if self.original is None or self.limit is None:
            return
        import resource

        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_AS, (self.limit, self.original[1]))
            _AddressSpace.current = self


@contextlib.contextmanager
def budget_lifted() -> Iterator[bool]:
    """Within the block, this worker's memory budget does not apply; yields whether there was
    one to lift. For telling a MemoryError of the budget from one that means something else
    (CPython's parser reports very deep nesting as MemoryError): try again without it."""
    space = _AddressSpace.current
    if space is None:
        yield False
        return
    space.lift()
    try:
        yield True
    finally:
        space.recap()
