"""Every way a remote server can fail gives one clear BackendError, cheaply, and the
backend recovers by itself — against real sockets and real servers, no mocks."""

from __future__ import annotations

import threading
import time

import pytest

from codeshell_lsp.context import Cursor
from codeshell_lsp.engine import Engine
from codeshell_lsp.errors import BackendError, Cancelled
from codeshell_lsp.options import Settings

from .conftest import Misbehaving, free_port, llama_cpp_python_server, serve
from .helpers import HUGE, PREFIX, STREAMING, SUFFIX, Flag, complete, remote

KINDS = ("openai", "llama-server")


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def test_closed_port_says_connection_refused(kind):
    url = f"http://127.0.0.1:{free_port()}"
    backend = remote(kind, url)
    try:
        with pytest.raises(BackendError, match=f"cannot connect to .* at {url}: connection refused — is it running"):
            complete(backend)
    finally:
        backend.close()


def test_http_500_carries_the_servers_message(kind, misbehaving):
    misbehaving.mode = "500"
    backend = remote(kind, misbehaving.url)
    try:
        with pytest.raises(BackendError, match="answered HTTP 500 Internal Server Error: CUDA out of memory"):
            complete(backend)
    finally:
        backend.close()


def test_answer_that_is_not_json_is_reported(kind, misbehaving):
    misbehaving.mode = "garbage"
    backend = remote(kind, misbehaving.url)
    try:
        with pytest.raises(BackendError, match=r"not JSON \('<html>Bad Gateway</html>'\)"):
            complete(backend)
    finally:
        backend.close()


def test_event_stream_of_garbage_is_reported(kind, misbehaving):
    misbehaving.mode = "sse-garbage"
    backend = remote(kind, misbehaving.url)
    try:
        with pytest.raises(BackendError, match=r"not JSON \('\{not json'\)"):
            complete(backend)
    finally:
        backend.close()


def test_silent_server_times_out_after_timeout_ms(kind, misbehaving):
    misbehaving.mode = "hang"
    backend = remote(kind, misbehaving.url, timeout_ms=300)
    t0 = time.monotonic()
    try:
        with pytest.raises(BackendError, match=r"sent nothing for 0.3 s \(backend.timeoutMs\)"):
            complete(backend)
    finally:
        backend.close()
    assert time.monotonic() - t0 < 2


def test_a_server_ignoring_max_tokens_is_cut_at_max_tokens(kind, misbehaving):
    misbehaving.mode = "endless"
    backend = remote(kind, misbehaving.url)
    t0 = time.monotonic()
    try:
        r = complete(backend, max_tokens=16)
    finally:
        backend.close()
    assert time.monotonic() - t0 < 3
    assert r.text == "".join(f" w{n}" for n in range(16)) and r.stop_reason == "length"


@pytest.mark.parametrize("mode", ["drip", "keepalive"])
def test_an_answer_that_never_ends_stops_at_the_deadline(kind, misbehaving, mode):
    """Never silent for backend.timeoutMs, never done: the whole answer gets 3x that."""
    misbehaving.mode = mode
    backend = remote(kind, misbehaving.url, timeout_ms=300)
    t0 = time.monotonic()
    try:
        with pytest.raises(BackendError, match=r"did not finish its answer within 0.9 s \(3 x backend.timeoutMs\)"):
            complete(backend)
    finally:
        backend.close()
    assert time.monotonic() - t0 < 3


@pytest.mark.parametrize("mode, what", [("huge-json", "an answer of more than 16 MB"), ("huge-line", "a line of more than 4 MB"),
                                        ("gzip-bomb", "(an answer of more than 16|a line of more than 4) MB")])
def test_an_oversized_answer_is_refused_before_it_is_read_whole(kind, misbehaving, mode, what):
    misbehaving.mode = mode
    HUGE[mode]()  # built before the peak is taken
    backend = remote(kind, misbehaving.url)
    peak0 = _peak_rss_mb()
    t0 = time.monotonic()
    try:
        with pytest.raises(BackendError, match=f"sent {what}"):
            complete(backend)
    finally:
        backend.close()
    assert time.monotonic() - t0 < 5
    assert _peak_rss_mb() - peak0 < 150


def _peak_rss_mb() -> int:
    """This process's peak resident memory (VmHWM) in MB."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) >> 10
    return 0


def test_cancel_while_the_server_is_silent_closes_the_connection(kind, misbehaving):
    misbehaving.mode = "hang"
    backend = remote(kind, misbehaving.url)
    flag = Flag()
    threading.Timer(0.2, flag.set).start()
    t0 = time.monotonic()
    try:
        with pytest.raises(Cancelled):
            complete(backend, cancelled=flag)
        assert time.monotonic() - t0 < 1
        assert misbehaving.client_closed.wait(2), "the server never saw the connection close"
    finally:
        backend.close()


def test_failures_back_off_then_recover_by_themselves(kind, misbehaving):
    misbehaving.mode = "500"
    backend = remote(kind, misbehaving.url)
    try:
        with pytest.raises(BackendError) as first:
            complete(backend)
        assert misbehaving.hits == 1
        # Within the backoff window: the same message at once, the server left alone.
        with pytest.raises(BackendError) as second:
            complete(backend)
        assert str(second.value) == str(first.value)
        assert misbehaving.hits == 1
        misbehaving.mode = "ok"
        time.sleep(0.6)
        assert complete(backend).text == "return a + b"
        assert misbehaving.hits == 2
    finally:
        backend.close()


def test_a_request_the_server_rejects_does_not_back_off(kind, misbehaving):
    misbehaving.mode = "400"
    backend = remote(kind, misbehaving.url)
    try:
        with pytest.raises(BackendError, match="HTTP 400 Bad Request: the prompt is too long"):
            complete(backend)
        misbehaving.mode = "ok"
        assert complete(backend).text == "return a + b"
    finally:
        backend.close()


def test_server_that_comes_back_on_a_closed_port_is_used(kind):
    port = free_port()
    backend = remote(kind, f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(BackendError, match="connection refused"):
            complete(backend)
        with serve(Misbehaving(), port):
            time.sleep(0.6)
            assert complete(backend).text == "return a + b"
    finally:
        backend.close()


@pytest.mark.model
def test_server_killed_mid_request(tiny_model, tmp_path):
    with llama_cpp_python_server(tiny_model, tmp_path / "server.log") as server:
        backend = remote("openai", server.url)

        def kill_at_first_piece(text: str) -> None:
            server.proc.kill()

        try:
            with pytest.raises(BackendError, match=f"the OpenAI-compatible server at {server.url} dropped the connection mid-request"):
                complete(backend, *STREAMING, max_tokens=400, stop_check=kill_at_first_piece)
        finally:
            backend.close()


def test_missing_api_key_variable_is_named(monkeypatch):
    monkeypatch.delenv("CODESHELL_TEST_KEY", raising=False)
    with pytest.raises(BackendError, match="backend.apiKeyEnv names CODESHELL_TEST_KEY, which is not set"):
        remote("openai", "http://127.0.0.1:1", api_key_env="CODESHELL_TEST_KEY")


@pytest.mark.parametrize(
    "url, message",
    [("", "backend.url is empty"), ("127.0.0.1:8080", "is not an http"), ("http://h:port", "invalid port")],
)
def test_bad_url_is_a_clear_error(kind, url, message):
    with pytest.raises(BackendError, match=message):
        remote(kind, url)


def test_superseded_request_closes_its_connection(kind, misbehaving):
    """Through the real engine: a newer keystroke cancels the request waiting on the server."""
    misbehaving.mode = "hang"
    s = Settings()
    s.backend.kind = kind  # type: ignore[assignment]
    s.backend.url = misbehaving.url
    engine = Engine.open(None, s)
    try:
        first = engine.submit("doc", Cursor(PREFIX, SUFFIX))
        time.sleep(0.2)  # it is now waiting for the server's first byte
        engine.submit("doc", Cursor(PREFIX + "a", SUFFIX))
        assert first.future.result(timeout=2).status == "superseded"
        assert misbehaving.client_closed.wait(2), "the server never saw the superseded request go"
    finally:
        engine.close()
