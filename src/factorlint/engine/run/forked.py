"""Forked worker processes and their pipes, without :mod:`multiprocessing`.

``multiprocessing`` imports :mod:`pickle` and unpickles whatever ``Connection.recv`` is handed.
The pool never calls ``recv`` (every message is bytes, see :mod:`engine.run.pool`), but where
workers can be forked it needs none of that machinery: a socket pair carries length-framed
messages, ``os.fork`` starts the worker, and a pipe whose write end only the worker holds tells
the parent when it has gone. So a run on Linux neither imports pickle nor pays for importing
``multiprocessing``. Spawned workers (macOS, Windows) still start through ``multiprocessing``.

The classes offer the part of ``multiprocessing``'s ``Connection`` and ``Process`` that the pool
uses, with the same meaning: ``recv_bytes`` raises EOFError at end-of-file (also in the middle
of a message: the sender died) and OSError for a message over ``maxlength``; ``exitcode`` is
the negative signal number for a worker a signal ended.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import struct
from collections.abc import Callable, Iterable

_HEADER = struct.Struct("!Q")  # a message's length


class Channel:
    """One end of a pair of connected sockets, carrying whole messages of bytes."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def fileno(self) -> int:
        return self._sock.fileno()

    def send_bytes(self, data: bytes) -> None:
        self._sock.sendall(_HEADER.pack(len(data)))
        self._sock.sendall(data)

    def recv_bytes(self, maxlength: int | None = None) -> bytes:
        (length,) = _HEADER.unpack(self._exactly(_HEADER.size))
        if maxlength is not None and length > maxlength:
            raise OSError(f"message of {length} bytes is over {maxlength}")
        return self._exactly(length)

    def poll(self) -> bool:
        """Whether reading would not block: a message, or end-of-file, is there."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ)
            return bool(selector.select(0))

    def close(self) -> None:
        self._sock.close()

    def _exactly(self, size: int) -> bytes:
        view = memoryview(bytearray(size))
        received = 0
        while received < size:
            count = self._sock.recv_into(view[received:], size - received)
            if count == 0:
                raise EOFError("the other end closed the channel")
            received += count
        return view.tobytes()


def channel_pair() -> tuple[Channel, Channel]:
    first, second = socket.socketpair()
    return Channel(first), Channel(second)


class ForkedProcess:
    """A worker forked from this process to run ``target(*args)``, which must end it with
    ``os._exit``; should ``target`` return or raise, the worker exits with status 1."""

    def __init__(self, target: Callable[..., None], args: tuple) -> None:
        self._target = target
        self._args = args
        self.pid: int | None = None
        self.exitcode: int | None = None
        # Readable (at end-of-file) once the worker has gone: only the worker holds the write end.
        self.sentinel: int | None = None

    def start(self) -> None:
        readable, writable = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                os.close(readable)
                self._target(*self._args)
            finally:
                os._exit(1)
        os.close(writable)
        self.pid, self.sentinel = pid, readable

    def is_alive(self) -> bool:
        if self.pid is None:
            return False
        self._reap(block=False)
        return self.exitcode is None

    def join(self, timeout: float | None = None) -> None:
        """Reap the worker once it has gone, waiting ``timeout`` seconds at most (None: until then)."""
        if self.pid is None or self.exitcode is not None:
            return
        if timeout is not None and self.sentinel is not None and not wait([self.sentinel], timeout):
            self._reap(block=False)
            return
        self._reap(block=True)

    def kill(self) -> None:
        if self.pid is not None and self.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Release the sentinel, once the worker is reaped."""
        if self.exitcode is not None and self.sentinel is not None:
            os.close(self.sentinel)
            self.sentinel = None

    def _reap(self, *, block: bool) -> None:
        try:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)  # type: ignore[arg-type]
        except ChildProcessError:  # reaped elsewhere: its status is lost
            self.exitcode = 255
            return
        if pid:
            self.exitcode = os.waitstatus_to_exitcode(status)


def wait(objects: Iterable, timeout: float | None = None) -> list:
    """Those of ``objects`` (channels, connections or file descriptors) that are ready to
    read, once one is or ``timeout`` seconds have passed."""
    objects = list(objects)
    if not objects:
        return []
    with selectors.DefaultSelector() as selector:
        for index, item in enumerate(objects):
            selector.register(item, selectors.EVENT_READ, index)
        return [objects[key.data] for key, _ in selector.select(timeout)]
