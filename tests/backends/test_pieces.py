"""The pure parts the remote backends share: prompt text, backoff, estimates, stops, messages."""

from __future__ import annotations

import pytest

from codeshell_lsp.backends.base import Generation
from codeshell_lsp.backends.http import MAX_TOKEN_CHARS, Backoff, Generated, TokenEstimate, _message
from codeshell_lsp.backends.llama_server import speculation
from codeshell_lsp.errors import BackendError
from codeshell_lsp.fim import FAMILIES, assemble_text

from .helpers import StopRule


@pytest.mark.parametrize(
    "family, expected",
    [
        ("codeshell", "<fim_prefix>P<fim_suffix>S<fim_middle>"),
        ("starcoder", "<fim_prefix>P<fim_suffix>S<fim_middle>"),
        ("codellama", "<PRE> P <SUF>S <MID>"),
        ("deepseek", "<｜fim▁begin｜>P<｜fim▁hole｜>S<｜fim▁end｜>"),
        ("qwen", "<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>"),
        ("codestral", "[SUFFIX]S[PREFIX]P"),
        ("prefix-only", "P"),
    ],
)
def test_prompt_text_per_family(family, expected):
    assert assemble_text(FAMILIES[family], "P", "S") == expected


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_to_a_cap_and_resets_on_success():
    clock = Clock()
    b = Backoff(first_s=0.5, most_s=2.0, clock=clock)
    b.check()
    delays = []
    for _ in range(4):
        b.failed("down")
        delays.append(b.delay_s)
        with pytest.raises(BackendError, match="^down$"):
            b.check()
        clock.now += b.delay_s
        b.check()  # the window is over: the next request may try
    assert delays == [0.5, 1.0, 2.0, 2.0]
    b.succeeded()
    b.failed("down again")
    assert b.delay_s == 0.5


def test_token_estimate_errs_long_and_learns_only_denser_ratios():
    est = TokenEstimate()
    assert est("x" * 300) == 100
    est.observe(300, 150)  # the server counted more: believe it
    assert est("x" * 300) == 150
    est.observe(300, 60)  # fewer: keep the safer estimate
    est.observe(10, 10)  # too short to tell (template tokens dominate)
    assert est("x" * 300) == 150


def test_generated_cuts_at_the_first_stop_string_across_pieces():
    out = Generated(StopRule(("\n\n", "<|endoftext|>"), lambda text: None), 64)
    assert not out.add("return a")
    assert not out.add(" + b\n")
    assert out.add("\ndef g")
    assert (out.text, out.reason, out.pieces) == ("return a + b", "stop", 3)


def test_generated_cuts_where_the_scope_ends():
    out = Generated(StopRule((), lambda text: text.find(")") + 1 or None), 64)
    assert not out.add("f(a")
    assert out.add(", b) + 1")
    assert (out.text, out.reason) == ("f(a, b)", "scope")


def test_generated_stops_a_server_that_ignores_max_tokens():
    """Every streamed piece is at least one token: a piece past maxTokens ends it."""
    out = Generated(StopRule((), lambda text: None), 3)
    assert not any(out.add(w) for w in (" w1", " w2", " w3"))
    assert out.add(" w4")
    assert (out.text, out.reason, out.pieces) == (" w1 w2 w3", "length", 3)


def test_generated_caps_the_text_of_oversized_pieces():
    out = Generated(StopRule((), lambda text: None), 2)
    assert out.add("x" * 100_000)
    assert len(out.text) == 2 * MAX_TOKEN_CHARS and out.reason == "length"


@pytest.mark.parametrize(
    "body, said",
    [
        ({"error": {"message": "model not found", "type": "invalid_request_error"}}, "model not found"),
        ({"error": {"code": 400, "message": "the request exceeds the context size", "type": "exceed_context_size_error"}},
         "the request exceeds the context size"),
        ({"detail": [{"loc": ["body", "max_tokens"], "msg": "Input should be a valid integer"}]}, "Input should be a valid integer"),
        ({"detail": "Not Found"}, "Not Found"),
    ],
)
def test_server_error_bodies_yield_their_message(body, said):
    assert _message(body) == said


def test_llama_server_gets_the_draft_length_only_for_greedy_requests():
    assert speculation(Generation(draft_tokens=6)) == {"speculative.n_max": 6}
    assert speculation(Generation(draft_tokens=6, temperature=0.2)) == {}
    assert speculation(Generation(draft_tokens=0)) == {}
