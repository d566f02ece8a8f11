"""The converted GGUF served over HTTP by llama-cpp-python's OpenAI-compatible server,
as the README section "Bring your own CodeShell" tells users to run it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(base: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def server(converted, tmp_path_factory):
    pytest.importorskip("uvicorn")
    pytest.importorskip("sse_starlette")
    pytest.importorskip("starlette_context")
    pytest.importorskip("pydantic_settings")
    from codeshell_lsp.pipeline.quantize import quantize

    model = quantize(converted["f16"], tmp_path_factory.mktemp("srv") / "tiny-q4_0.gguf", "Q4_0").out
    port = _free_port()
    log = tmp_path_factory.mktemp("srvlog") / "server.log"
    with open(log, "w") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "512", "--n_threads", "1", "--verbose", "False"],
            stdout=logf, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited {proc.returncode}: {log.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(base + "/v1/models", timeout=2) as r:
                        if r.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not come up in 60 s")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_v1_completions_continues_the_prompt(server):
    r = _post(server, "/v1/completions", {"prompt": "def fibonacci(n):", "max_tokens": 8, "temperature": 0})
    choice = r["choices"][0]
    assert r["object"] == "text_completion"
    assert isinstance(choice["text"], str) and choice["finish_reason"] in ("length", "stop")
    # (completion_tokens re-tokenizes the text, so it can exceed max_tokens on noise.)
    assert r["usage"]["completion_tokens"] >= 1
    assert r["usage"]["prompt_tokens"] >= 4


def test_v1_chat_completions_uses_codeshell_turns(server):
    chat = _post(server, "/v1/chat/completions",
                 {"messages": [{"role": "user", "content": "Write hello world"}], "max_tokens": 8, "temperature": 0})
    msg = chat["choices"][0]["message"]
    assert msg["role"] == "assistant" and isinstance(msg["content"], str)
    # The GGUF's chat template is CodeShell-Chat's turn format: the same prompt sent as plain
    # text gives the same greedy answer.
    plain = _post(server, "/v1/completions",
                  {"prompt": "## human:Write hello world|<end>|## assistant:", "max_tokens": 8, "temperature": 0})
    assert chat["usage"]["prompt_tokens"] == plain["usage"]["prompt_tokens"]
    assert msg["content"] == plain["choices"][0]["text"]
