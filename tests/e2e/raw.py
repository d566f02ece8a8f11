"""A raw LSP client: arbitrary bytes to the server, frames back, exit codes, no client
library in between (the adversarial tests send what a library would refuse to)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

_HEADER = re.compile(rb"Content-Length: (\d+)\r\n(?:[^\r\n]+\r\n)*\r\n")


def frame(msg: Any) -> bytes:
    body = json.dumps(msg).encode() if not isinstance(msg, bytes) else msg
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def request(msg_id: Any, method: str, params: Any = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def notification(method: str, params: Any = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def init_params(init_options: Any = None) -> dict[str, Any]:
    return {"processId": os.getpid(), "rootUri": None, "capabilities": {}, "initializationOptions": init_options}


def completion_params(uri: str, line: int, character: int) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


class Frames:
    """Frames parsed from a byte stream by a reader thread."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self.q: queue.Queue[Any] = queue.Queue()
        self.seen: list[Any] = []
        self._read = read
        self.closed = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self._read(65536)
            except (OSError, ValueError):  # ValueError: the test closed the pipe
                chunk = b""
            if not chunk:
                self.closed.set()
                return
            buf += chunk
            while (m := _HEADER.search(buf)) is not None and len(buf) >= m.end() + int(m.group(1)):
                end = m.end() + int(m.group(1))
                self.q.put(json.loads(buf[m.end() : end]))
                buf = buf[end:]

    def next(self, timeout: float = 10) -> Any:
        msg = self.q.get(timeout=timeout)
        self.seen.append(msg)
        return msg

    def answer(self, msg_id: Any, timeout: float = 10) -> dict[str, Any]:
        """The response with ``msg_id`` (other messages are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        for m in self.seen:
            if "method" not in m and m.get("id") == msg_id:
                self.seen.remove(m)
                return m
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {msg_id!r} in {timeout} s")
            try:
                m = self.q.get(timeout=left)
            except queue.Empty:
                raise TimeoutError(f"no answer to {msg_id!r} in {timeout} s") from None
            if "method" not in m and m.get("id") == msg_id:
                return m
            self.seen.append(m)

    def answers(self, timeout: float = 0.5) -> list[dict[str, Any]]:
        """Every response that arrives within ``timeout`` s (and those already seen)."""
        out = [m for m in self.seen if "method" not in m]
        self.seen = [m for m in self.seen if "method" in m]
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                m = self.q.get(timeout=left)
            except queue.Empty:
                break
            (out if "method" not in m else self.seen).append(m)
        return out


def server_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "codeshell_lsp", "serve", "--threads", "1", *args]


class Server:
    """``codeshell-lsp serve`` over pipes, spoken to in raw bytes."""

    def __init__(
        self, *args: str, env: dict[str, str] | None = None, log: Path | None = None, stderr: Path | None = None,
    ) -> None:
        with open(stderr or os.devnull, "wb") as err:
            self.proc = subprocess.Popen(
                server_cmd(*args, *(("--log-file", str(log)) if log else ())),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env={**os.environ, **(env or {})},
            )
        self.frames = Frames(self.proc.stdout.read1)  # type: ignore[union-attr]
        self._ids = iter(range(1, 1 << 30))

    def send(self, data: bytes | dict[str, Any]) -> None:
        self.proc.stdin.write(data if isinstance(data, bytes) else frame(data))  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def ask(self, method: str, params: Any = None, timeout: float = 20) -> dict[str, Any]:
        msg_id = next(self._ids) + 10_000
        self.send(request(msg_id, method, params))
        return self.frames.answer(msg_id, timeout)

    def initialize(self, init_options: Any = None) -> dict[str, Any]:
        answer = self.ask("initialize", init_params(init_options))
        self.send(notification("initialized", {}))
        return answer

    def open(self, uri: str, text: str, version: int = 1) -> None:
        doc = {"uri": uri, "languageId": "python", "version": version, "text": text}
        self.send(notification("textDocument/didOpen", {"textDocument": doc}))

    def alive(self, timeout: float = 20) -> bool:
        """The server still answers a request."""
        try:
            return "result" in self.ask("codeshell/stats", {}, timeout)
        except (TimeoutError, BrokenPipeError, OSError):
            return False

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def signal(self, number: int = signal.SIGINT) -> None:
        self.proc.send_signal(number)

    def wait(self, timeout: float = 10) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask("shutdown", None, 10)
                self.send(notification("exit"))
                self.proc.wait(10)
            except (TimeoutError, OSError, ValueError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()  # type: ignore[union-attr]
            except OSError:
                pass

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class TcpClient:
    """One raw TCP connection to a server."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection((host, port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(None)
        self.frames = Frames(self.sock.recv)

    def send(self, msg: bytes | dict[str, Any]) -> None:
        self.sock.sendall(msg if isinstance(msg, bytes) else frame(msg))

    def ask(self, msg_id: Any, method: str, params: Any = None, timeout: float = 20) -> dict[str, Any]:
        self.send(request(msg_id, method, params))
        return self.frames.answer(msg_id, timeout)

    def close(self) -> None:
        self.sock.close()


def answers_to(s: Server, ids: list[Any], limit_s: float = 120) -> Counter[Any]:
    """How many answers each id got: until all have one (or ``limit_s``), then one more second."""
    counts: Counter[Any] = Counter()
    deadline = time.monotonic() + limit_s
    while set(ids) - set(counts) and time.monotonic() < deadline:
        for m in s.frames.answers(1.0):
            counts[m.get("id")] += 1
    for m in s.frames.answers(1.0):
        counts[m.get("id")] += 1
    return counts
