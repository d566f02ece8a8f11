"""Remote servers with a small context: its size is learned where the server exposes it,
a prompt it refuses as too long is cut to fit and sent once more, and what the user
is told quotes the server's own words. Real sockets, small stdlib servers that answer
the way llama-cpp-python's server, llama.cpp's llama-server and vLLM do."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Iterator

import pytest

from codeshell_lsp.backends.base import Generation
from codeshell_lsp.backends.factory import make_backend
from codeshell_lsp.context import Cursor
from codeshell_lsp.errors import BackendError
from codeshell_lsp.options import CompletionSettings, Settings
from codeshell_lsp.prompt import build
from tests.backends.helpers import QuietHandler, http_server

LONG_PREFIX = "".join(f"def function_{i}(x, y):\n    total = x * {i} + y\n    return total\n\n\n" for i in range(300))


@dataclass
class Small:
    """A server with a context of ``n_ctx`` tokens, counting a token per ``bytes_per_token`` bytes."""

    style: str  # llama-cpp-python | llama-server | vllm | stream-error
    n_ctx: int = 512
    bytes_per_token: float = 2.0  # denser than the client's first guess (3 bytes a token)
    posts: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    url: str = ""

    def tokens(self, body: dict[str, Any]) -> int:
        text = body.get("prompt") or (body.get("input_prefix", "") + body.get("input_suffix", ""))
        return int(len(text.encode()) / self.bytes_per_token) + 1


def _handler(state: Small) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                model: dict[str, Any] = {"id": "codeshell-7b", "object": "model"}
                if state.style == "vllm":
                    model["max_model_len"] = state.n_ctx
                self._send(200, {"object": "list", "data": [model]})
            elif self.path == "/props" and state.style in ("llama-server", "stream-error"):
                self._send(200, {"default_generation_settings": {"n_ctx": state.n_ctx}, "total_slots": 1})
            else:
                self._send(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            state.posts.append(body)
            n_prompt = state.tokens(body)
            max_tokens = body.get("max_tokens", body.get("n_predict", 0))
            if n_prompt + max_tokens > state.n_ctx:
                state.refused += 1
                self.refuse(body, n_prompt, max_tokens)
                return
            event = {"choices": [{"text": "return x", "finish_reason": "stop"}], "content": "return x", "stop": True,
                     "stop_type": "eos", "timings": {"prompt_n": n_prompt, "cache_n": 0, "predicted_n": 2}}
            if body.get("stream"):
                self._send(200, f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode(), "text/event-stream")
            else:
                self._send(200, event)

        def refuse(self, body: dict[str, Any], n_prompt: int, max_tokens: int) -> None:
            if state.style == "llama-cpp-python":
                if body.get("stream"):
                    # Its ValueError is raised inside the event stream: headers, then a dropped connection.
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                message = (f"This model's maximum context length is {state.n_ctx} tokens, however you requested "
                           f"{n_prompt + max_tokens} tokens ({n_prompt} in your prompt; {max_tokens} for the completion). "
                           f"Please reduce your prompt; or completion length.")
                self._send(400, {"error": {"message": message, "type": "invalid_request_error", "param": "messages",
                                           "code": "context_length_exceeded"}})
            elif state.style == "stream-error":
                error = {"error": {"code": 400, "message": "the request exceeds the available context size, try increasing it",
                                   "type": "exceed_context_size_error", "n_prompt_tokens": n_prompt, "n_ctx": state.n_ctx}}
                self._send(200, f"data: {json.dumps(error)}\n\n".encode(), "text/event-stream")
            elif state.style == "vllm":
                message = (f"This model's maximum context length is {state.n_ctx} tokens. However, you requested "
                           f"{n_prompt + max_tokens} tokens ({n_prompt} in the messages, {max_tokens} in the completion). "
                           f"Please reduce the length of the messages or completion.")
                self._send(400, {"object": "error", "message": message, "type": "BadRequestError", "code": 400})
            else:
                self._send(400, {"error": {"code": 400, "message": "the request exceeds the available context size, try increasing it",
                                           "type": "exceed_context_size_error", "n_prompt_tokens": n_prompt, "n_ctx": state.n_ctx}})

    return Handler


@contextlib.contextmanager
def small_server(state: Small) -> Iterator[Small]:
    with http_server(_handler(state)) as state.url:
        yield state


class NoStops:
    stops: tuple[str, ...] = ()

    def stop_at(self, text: str) -> None:
        return None


def backend_for(kind: str, url: str):
    s = Settings()
    s.backend.kind = kind  # type: ignore[assignment]
    s.backend.url = url
    s.backend.timeout_ms = 5000
    return make_backend(None, s)


def ask(backend, prefix: str = LONG_PREFIX, max_tokens: int = 64, prompt_tokens: int = 1536):
    backend.prepare(lambda: False)
    c = CompletionSettings(max_tokens=max_tokens, prompt_tokens=prompt_tokens)
    p = build(Cursor(prefix, "\n"), c, backend)
    return backend.complete(p, Generation(max_tokens=max_tokens), NoStops(), lambda: False)  # type: ignore[arg-type]


KIND = {"llama-cpp-python": "openai", "vllm": "openai", "llama-server": "llama-server", "stream-error": "llama-server"}


@pytest.mark.parametrize("style", ["llama-cpp-python", "stream-error", "llama-server"])
def test_prompt_over_the_servers_context_is_cut_and_sent_again(style):
    with small_server(Small(style, n_ctx=512)) as server:
        backend = backend_for(KIND[style], server.url)
        if style != "llama-cpp-python":
            server.n_ctx = 512
            backend.window.context_length = 1 << 30  # as if /props had said nothing: learned from the error
            backend._asked = True
        try:
            assert ask(backend).text == "return x"
            assert backend.context_length == 512
            # llama-cpp-python's way: the stream dropped, then the same prompt refused as JSON.
            refusals = 2 if style == "llama-cpp-python" else 1
            assert server.refused == refusals
            # Later prompts fit from the start.
            before = len(server.posts)
            assert ask(backend).text == "return x"
            assert len(server.posts) == before + 1 and server.refused == refusals
        finally:
            backend.close()


@pytest.mark.parametrize("style", ["vllm", "llama-server"])
def test_context_size_is_learned_before_the_first_prompt(style):
    with small_server(Small(style, n_ctx=700, bytes_per_token=3.0)) as server:
        backend = backend_for(KIND[style], server.url)
        try:
            assert ask(backend).text == "return x"
            assert backend.context_length == 700
            assert server.refused == 0 and len(server.posts) == 1
        finally:
            backend.close()


def test_a_context_too_small_for_any_prompt_quotes_the_server(tmp_path):
    with small_server(Small("vllm", n_ctx=60)) as server:
        backend = backend_for("openai", server.url)
        backend.window.context_length = 1 << 30
        backend._asked = True
        try:
            with pytest.raises(BackendError) as e:
                ask(backend, max_tokens=64)
            said = str(e.value)
            assert "This model's maximum context length is 60 tokens" in said
            assert "lower codeshell.completion.promptTokens or completion.maxTokens" in said
            assert server.refused == 2  # the first try and the one retry, no more
        finally:
            backend.close()


def test_overflow_does_not_back_off_the_next_request():
    with small_server(Small("llama-server", n_ctx=512)) as server:
        backend = backend_for("llama-server", server.url)
        backend._asked = True
        try:
            assert ask(backend).text == "return x"
            assert ask(backend, prefix="x = 1\n").text == "return x"
        finally:
            backend.close()


@pytest.mark.model
def test_llama_cpp_python_server_with_n_ctx_512(tiny_model, tmp_path):
    """The reported case: llama-cpp-python's server started with --n_ctx 512 and the default
    1,536-token budget. It drops the stream on the overflow; the backend learns why, fits
    the prompt and completes."""
    pytest.importorskip("uvicorn", reason="llama-cpp-python's server extra is not installed")
    from tests.backends.conftest import llama_cpp_python_server

    with llama_cpp_python_server(tiny_model, tmp_path / "server.log") as server:
        backend = backend_for("openai", server.url)
        try:
            result = ask(backend, max_tokens=8)
            assert result.prompt_tokens + 8 <= 512
            assert backend.context_length == 512
            ask(backend, max_tokens=8)
        finally:
            backend.close()
