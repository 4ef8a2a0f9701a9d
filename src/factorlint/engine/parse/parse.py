"""LibCST's parse, run on a stack of known size, without re-validating nodes. The text has
passed :func:`engine.parse.screen.refusal` first (the runner asks it).

**The stack.** :func:`parse_module` runs the parser on a thread with a 64 MiB stack (one for the
process, started on the first parse), so the margin
between :data:`engine.parse.screen.MAX_DEPTH` and a crash does not depend on where factorlint is called from (a
thread of an editor server, a small ``ulimit -s``, musl's 128 KiB thread stacks). The stack is
address space reserved, not memory used.

**No re-validation.** Each LibCST node checks its own invariants when it is constructed
(``CSTNode.__post_init__`` calls ``_validate``). That protects trees built by hand; a tree from
the parser is valid by construction, and LibCST's own source notes the validation could be
skipped when parsing. Here it is: the check is switched off only for the duration of the parse
and restored after, so nodes a rule or a fix builds are validated as usual. If a LibCST release
moves the hook, the parse simply runs with validation. Nor does the garbage collector run during
the parse: it creates no reference cycle, and scanning the growing tree again and again was 40%
of the parse time of a 2 MB file.
"""

from __future__ import annotations

import gc
import os
import queue
import threading

import libcst as cst
from libcst._nodes.base import CSTNode

_PARSER_STACK = 64 << 20  # bytes

_VALIDATE = CSTNode.__dict__.get("__post_init__")


def _trusted(self) -> None:
    """Nodes built by the parser."""


def _parse(text: str) -> cst.Module:
    collecting = gc.isenabled()
    gc.disable()
    try:
        if _VALIDATE is None:
            return cst.parse_module(text)
        CSTNode.__post_init__ = _trusted  # type: ignore[method-assign]  # skip validation while parsing; the calling thread waits: nothing else builds nodes now
        try:
            return cst.parse_module(text)
        finally:
            CSTNode.__post_init__ = _VALIDATE  # type: ignore[method-assign]  # put libcst's validation back
    finally:
        if collecting:
            gc.enable()


def parse_module(text: str) -> cst.Module:
    """LibCST's tree of ``text``, parsed on the parser thread with a 64 MiB stack (see the module
    docstring); exceptions are raised here as if the parse had run in this thread."""
    jobs = _parser_jobs()
    if jobs is None:  # a platform that cannot size thread stacks, or no thread to be had
        return _parse(text)
    reply: queue.SimpleQueue = queue.SimpleQueue()
    jobs.put((text, reply))
    ok, value = reply.get()
    if ok:
        return value
    raise value


def start_parser() -> bool:
    """Start this process's parser thread now, and have it parse once: its stack and the malloc
    arena its first allocation creates are then part of the process's address space (a worker
    measures its memory budget from there). Whether the thread runs."""
    if _parser_jobs() is None:
        return False
    parse_module("pass\n")
    return True


# The parser thread of this process, and the queue it takes (text, reply queue) pairs from: one
# thread for the process's life, since starting a thread for each file cost a sixth of the parse
# (each start waits for the new thread to hand back the interpreter lock). Kept with the process
# id, so that a process forked from one that had it starts its own.
_parser: tuple[int, queue.SimpleQueue] | None = None
_parser_lock = threading.Lock()


def _parser_jobs() -> queue.SimpleQueue | None:
    global _parser
    current = _parser
    if current is not None and current[0] == os.getpid():
        return current[1]
    with _parser_lock:
        if _parser is not None and _parser[0] == os.getpid():
            return _parser[1]
        jobs: queue.SimpleQueue = queue.SimpleQueue()
        try:
            previous = threading.stack_size(_PARSER_STACK)
        except (ValueError, RuntimeError):
            return None
        try:
            threading.Thread(target=_serve, args=(jobs,), name="factorlint-parse", daemon=True).start()
        except RuntimeError:  # a thread limit: the calling thread's stack will do
            return None
        finally:
            threading.stack_size(previous)
        _parser = (os.getpid(), jobs)
        return jobs


def _serve(jobs: queue.SimpleQueue) -> None:
    while True:
        text, reply = jobs.get()
        try:
            reply.put((True, _parse(text)))
        except BaseException as exc:  # handed to the caller, raised there
            reply.put((False, exc))
        del text, reply  # the tree belongs to the caller; keep no reference to it here
