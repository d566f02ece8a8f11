"""The llama-server backend against llama.cpp's own ``llama-server`` (skipped when it is not on PATH)."""

from __future__ import annotations

import pytest

from .helpers import complete, remote

pytestmark = pytest.mark.model


def test_infill_round_trip_reports_the_servers_counters(llama_server):
    backend = remote("llama-server", llama_server.url)
    try:
        first = complete(backend, max_tokens=8)
        assert first.generated_tokens >= 1 and first.prompt_tokens > 0
        assert first.evaluated_tokens + first.cached_tokens == first.prompt_tokens
        again = complete(backend, max_tokens=8)
        assert again.cached_tokens > 0  # cache_prompt: the same prompt is not evaluated again
        assert again.text == first.text
    finally:
        backend.close()
