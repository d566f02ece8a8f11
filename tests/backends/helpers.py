"""Building remote backends and calling them the way the engine's worker does."""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

from codeshell_lsp.backends.base import Backend, Generation, Result
from codeshell_lsp.backends.factory import make_backend
from codeshell_lsp.context import Cursor
from codeshell_lsp.options import CompletionSettings, Settings
from codeshell_lsp.prompt import build

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


@dataclass(frozen=True)
class StopRule:
    """A stand-in for ``postprocess.Policy``'s stop side: stop strings, then ``check``
    (the index to cut at, or None) in place of the scope."""

    stops: tuple[str, ...]
    check: Callable[[str], int | None]

    def stop_at(self, text: str) -> tuple[int, str] | None:
        hits = [i for i in (text.find(s) for s in self.stops if s) if i >= 0]
        if hits:
            return min(hits), "stop"
        at = self.check(text)
        return None if at is None else (at, "scope")


def complete(
    backend: Backend,
    prefix: str = PREFIX,
    suffix: str = SUFFIX,
    max_tokens: int = 16,
    stop_check: Callable[[str], int | None] = lambda text: None,
    cancelled: Callable[[], bool] = lambda: False,
    stop: tuple[str, ...] = (),
) -> Result:
    """One completion the way the engine's worker asks for it."""
    backend.prepare(cancelled)
    prompt = build(Cursor(prefix, suffix), CompletionSettings(max_tokens=max_tokens), backend)
    return backend.complete(prompt, Generation(max_tokens=max_tokens), StopRule(stop, stop_check), cancelled)  # type: ignore[arg-type]


class Flag:
    """A cancel flag the test raises, e.g. from inside ``stop_check`` at the first piece."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self) -> bool:
        return self.event.is_set()

    def set(self) -> None:
        self.event.set()


class QuietHandler(BaseHTTPRequestHandler):
    """A keep-alive stdlib handler that logs nothing; ``_send`` answers in one call."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: Any, ctype: str = "application/json") -> None:
        """Answer ``body`` (bytes as they are, anything else as JSON)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler], port: int = 0) -> Iterator[str]:
    """Serve ``handler`` from a thread on 127.0.0.1:``port`` (0: an ephemeral one); yields its URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


# --- answers that never end, or are far too big (remote servers misbehaving) ----------


def _words(n: int) -> bytes:
    """Both APIs' streamed event for a new word each time, never a newline."""
    return b"data: " + json.dumps({"choices": [{"text": f" w{n}"}], "content": f" w{n}"}).encode() + b"\n\n"


# Answers that never end: new words ignoring max_tokens; a byte at a time, never a
# whole line; SSE comments (keep-alives) only.
ENDLESS = {"endless": _words, "drip": lambda n: b":", "keepalive": lambda n: b": ping\n\n"}


def _gzip_bomb() -> tuple[bytes, str]:
    """400 MB of spaces after "data: " as ~400 kB of gzip, built without holding 400 MB."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * (1 << 20)
    return z.compress(b"data: ") + b"".join(z.compress(chunk) for _ in range(400)) + z.flush(), "gzip"


# Built once (the test measures the client's memory, not the server's).
HUGE = {
    "huge-json": functools.cache(lambda: (json.dumps({"choices": [{"text": "x" * (50 << 20)}], "content": "x"}).encode(), "")),
    "huge-line": functools.cache(lambda: (b"data: " + json.dumps({"choices": [{"text": "y" * (50 << 20)}]}).encode() + b"\n\n", "")),
    "gzip-bomb": functools.cache(_gzip_bomb),
}
