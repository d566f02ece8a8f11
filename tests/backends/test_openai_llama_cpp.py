"""The openai backend against a real ``python -m llama_cpp.server`` with the tiny model."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from codeshell_lsp.errors import Cancelled
from codeshell_lsp.fim import FAMILIES, assemble_text

from .helpers import PREFIX, STREAMING, SUFFIX, Flag, complete, remote

pytestmark = pytest.mark.model


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def test_server_reads_fim_marker_texts_as_special_tokens(llama_cpp_server, tiny_model: Path):
    """Our text prompt becomes exactly the token list the local backend builds: marker texts
    turn into the FIM token ids, no BOS is added, prefix and suffix tokenize the same."""
    from llama_cpp import Llama

    vocab = Llama(str(tiny_model), vocab_only=True, verbose=False)

    def ids(text: str, special: bool = False) -> list[int]:
        return vocab.tokenize(text.encode(), add_bos=False, special=special)

    fim = [ids(m, special=True) for m in FAMILIES["codeshell"].markers]  # type: ignore[union-attr]
    assert all(len(t) == 1 for t in fim)
    ours = fim[0] + ids(PREFIX) + fim[1] + ids(SUFFIX) + fim[2]
    prompt = assemble_text(FAMILIES["codeshell"], PREFIX, SUFFIX)
    assert _post(llama_cpp_server.url + "/extras/tokenize", {"input": prompt})["tokens"] == ours
    # The completion path counts the same tokens (the tokenize endpoint could differ from it).
    usage = _post(llama_cpp_server.url + "/v1/completions", {"prompt": prompt, "max_tokens": 1})["usage"]
    assert usage["prompt_tokens"] == len(ours)


def test_completion_through_llama_cpp_server(llama_cpp_server):
    backend = remote("openai", llama_cpp_server.url)
    try:
        result = complete(backend, max_tokens=8)
        assert result.text and result.generated_tokens >= 1
        assert result.stop_reason in ("length", "eog")
        assert backend.template_name == "codeshell"  # guessed from the served model's name
        assert backend.model_name.endswith("tiny-codeshell.gguf")
        assert result.prompt_tokens == backend.count_tokens(assemble_text(FAMILIES["codeshell"], PREFIX, SUFFIX))
    finally:
        backend.close()


def test_scope_end_cuts_the_text_and_the_stream(llama_cpp_server):
    backend = remote("openai", llama_cpp_server.url)
    try:
        result = complete(backend, *STREAMING, max_tokens=200, stop_check=lambda text: 3 if len(text) >= 3 else None)
        assert result.stop_reason == "scope" and len(result.text) == 3
        assert result.generated_tokens < 200
    finally:
        backend.close()


def test_cancel_mid_stream_closes_it_and_the_server_stops(llama_cpp_server):
    backend = remote("openai", llama_cpp_server.url)
    flag = Flag()
    seen: list[str] = []

    def cancel_at_first_piece(text: str) -> None:
        seen.append(text)
        flag.set()

    try:
        t0 = time.monotonic()
        with pytest.raises(Cancelled):
            complete(backend, *STREAMING, max_tokens=400, stop_check=cancel_at_first_piece, cancelled=flag)
        assert len(seen) == 1 and time.monotonic() - t0 < 3
        deadline = time.monotonic() + 5
        while "Disconnected from client" not in llama_cpp_server.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Disconnected from client" in llama_cpp_server.output()
        assert complete(backend, max_tokens=4).text  # the connection pool recovers
    finally:
        backend.close()
