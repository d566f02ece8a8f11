"""Real servers on 127.0.0.1 for the remote backends: llama-cpp-python's server with the
tiny model, llama.cpp's llama-server (on PATH or prebuilt), and a small stdlib HTTP server
that misbehaves on purpose."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Iterator

import pytest

from codeshell_lsp import llama_server_binary

from .helpers import ENDLESS, HUGE, QuietHandler, http_server


def free_port() -> int:
    """A port nothing listens on (bound and released: connecting to it is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Process:
    url: str
    proc: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_up(url: str, proc: subprocess.Popen, log: Path, path: str, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url + path, timeout=1).read()
            return
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not come up in {limit_s} s")


@contextlib.contextmanager
def llama_cpp_python_server(model: Path, log: Path) -> Iterator[Process]:
    """``python -m llama_cpp.server`` on an ephemeral port, one thread."""
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), "--n_threads", "1", "--n_ctx", "512"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, proc, log, "/v1/models")
        yield Process(url, proc, log)
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def llama_cpp_server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    pytest.importorskip("uvicorn", reason="llama-cpp-python's server extra (fastapi uvicorn sse-starlette starlette-context pydantic-settings) is not installed")
    with llama_cpp_python_server(tiny_model, tmp_path_factory.mktemp("llama-cpp-server") / "server.log") as server:
        yield server


@pytest.fixture(scope="session")
def llama_server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """llama.cpp's own ``llama-server``: on PATH, else the prebuilt one of the test extra."""
    binary = llama_server_binary.find()
    if binary is None:
        pytest.skip(f"{llama_server_binary.WHY_MISSING}: /infill not tested")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    # Random weights emit lone UTF-8 bytes, which recent builds' output parser refuses
    # with a 500 ("does not match the expected Content-only format"): printable ASCII only.
    cmd = [binary.path, "-m", str(tiny_model), "--host", "127.0.0.1", "--port", str(port), "-t", "1", "-c", "512", "-np", "1",
           "--grammar", "root ::= [ -~\\n]*"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=binary.env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, proc, log, "/health")
        yield Process(url, proc, log)
    finally:
        proc.kill()
        proc.wait()


# --- a small real HTTP server that misbehaves on purpose --------------------------------


@dataclass
class Misbehaving:
    """What the stdlib server does with the next POST, and what it saw."""

    url: str = ""
    mode: str = "ok"  # ok | 500 | 400 | garbage | hang | sse-garbage | ENDLESS | HUGE
    hits: int = 0
    client_closed: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(state: Misbehaving) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):

        def do_GET(self) -> None:
            self._send(200, json.dumps({"object": "list", "data": [{"id": "codeshell-7b"}]}).encode())

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.hits += 1
            mode = state.mode
            if mode == "500":
                self._send(500, json.dumps({"error": {"message": "CUDA out of memory", "type": "server_error"}}).encode())
            elif mode == "400":
                self._send(400, json.dumps({"error": {"message": "the prompt is too long"}}).encode())
            elif mode == "garbage":
                self._send(200, b"<html>Bad Gateway</html>", "application/json")
            elif mode == "sse-garbage":
                self._send(200, b"data: {not json\n\n", "text/event-stream")
            elif mode in ENDLESS:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    for n in range(10**9):
                        if state.release.is_set():
                            break
                        self.wfile.write(ENDLESS[mode](n))
                        self.wfile.flush()
                        time.sleep(0.001 if mode == "endless" else 0.05)
            elif mode in HUGE:
                data, encoding = HUGE[mode]()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream" if mode != "huge-json" else "application/json")
                self.send_header("Content-Length", str(len(data)))
                if encoding:
                    self.send_header("Content-Encoding", encoding)
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(data)
            elif mode == "hang":
                # Say nothing; notice when the client hangs up (its socket turns readable at EOF).
                while not state.release.is_set():
                    ready, _, _ = select.select([self.connection], [], [], 0.02)
                    if ready and not self.connection.recv(1, socket.MSG_PEEK):
                        state.client_closed.set()
                        return
                self.close_connection = True
            else:
                event = {"choices": [{"text": "return a + b", "finish_reason": "stop"}], "content": "return a + b",
                         "stop": True, "stop_type": "eos", "timings": {"prompt_n": 3, "cache_n": 7, "predicted_n": 4,
                                                                       "prompt_ms": 1.5, "predicted_ms": 2.5}}
                self._send(200, f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode(), "text/event-stream")

    return Handler


@contextlib.contextmanager
def serve(state: Misbehaving, port: int = 0) -> Iterator[Misbehaving]:
    """Run the misbehaving server in a thread on ``port`` (0: an ephemeral one)."""
    with http_server(_handler(state), port) as state.url:
        try:
            yield state
        finally:
            state.release.set()  # a hanging answer lets go before the server shuts down


@pytest.fixture
def misbehaving() -> Iterator[Misbehaving]:
    with serve(Misbehaving()) as state:
        yield state
