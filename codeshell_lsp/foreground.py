"""Completions first: background work slows down while the engine runs one.

Cutting open documents into chunks and parsing the workspace are Python on threads of
their own, with long calls that hold the interpreter lock (a regex over a file, a
tree-sitter parse). While one runs, each return of a completion from llama.cpp (which
releases the lock around every call) waits for it: at 1,000 open files the first
completion on the embedded model took 3.8 s instead of 0.2 s while the indexers worked.
Stopping them outright while a completion runs starves them under a slow model (a cold
7B prompt takes seconds), and a choice of context made before the documents are cut
changes later, costing the KV cache. So while a completion runs each background thread
works at most ``SHARE`` of the time: after a unit of work (a document, a file) it pauses
for the rest, and goes on at once when the completion ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

SHARE = 0.15


class Foreground:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._idle = threading.Event()
        self._idle.set()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Foreground work (a completion) runs inside this."""
        with self._lock:
            self._running += 1
            self._idle.clear()
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if not self._running:
                    self._idle.set()

    @contextmanager
    def background(self) -> Iterator[None]:
        """One unit of background work runs inside this; then, if a completion runs, the
        thread pauses so that its work is at most ``SHARE`` of the time."""
        t0 = time.perf_counter()
        yield
        if not self._idle.is_set():
            self._idle.wait((time.perf_counter() - t0) * (1 / SHARE - 1))


FOREGROUND = Foreground()  # one per process: the engine runs in it, the indexers pace themselves by it
