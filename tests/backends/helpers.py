"""Building remote backends and calling them the way the engine's worker does."""

from __future__ import annotations

import threading
from typing import Callable

from codeshell_lsp.backends.base import Backend, Request, Result
from codeshell_lsp.backends.factory import make_backend
from codeshell_lsp.options import Settings

PREFIX = "def add(a, b):\n    return "
SUFFIX = "\n\nprint(add(1, 2))\n"
# llama-cpp-python's server holds streamed text back while it ends in an incomplete
# UTF-8 sequence, which the random tiny model emits often: for most prompts every
# chunk then arrives at the end. What this prompt generates streams token by token.
STREAMING = ("# hello\n", "")


def remote(kind: str, url: str, timeout_ms: int = 5000, **backend: str) -> Backend:
    s = Settings()
    s.backend.kind = kind  # type: ignore[assignment]
    s.backend.url = url
    s.backend.timeout_ms = timeout_ms
    for k, v in backend.items():
        setattr(s.backend, k, v)
    return make_backend(None, s)


def complete(
    backend: Backend,
    prefix: str = PREFIX,
    suffix: str = SUFFIX,
    max_tokens: int = 16,
    stop_check: Callable[[str], int | None] = lambda text: None,
    cancelled: Callable[[], bool] = lambda: False,
    stop: tuple[str, ...] = (),
) -> Result:
    return backend.complete(Request(prefix, suffix, max_tokens=max_tokens, stop=stop), stop_check, cancelled)


class Flag:
    """A cancel flag the test raises, e.g. from inside ``stop_check`` at the first piece."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self) -> bool:
        return self.event.is_set()

    def set(self) -> None:
        self.event.set()
