"""llama.cpp tokenizes text exactly as the checkpoint's own HF tokenizer does."""

from __future__ import annotations

import random

import pytest

from codeshell_lsp.synthetic import CODESHELL_SPECIALS

from .hf_codeshell import _CJK, _CODE, hf_tokenizer

pytestmark = pytest.mark.model


def parity_strings(n: int = 1200, seed: int = 0) -> list[str]:
    """Code, digit runs, CJK, whitespace runs, special tokens, contractions, emoji, mixtures."""
    rng = random.Random(seed)
    code_lines = [ln for ln in _CODE.splitlines() if ln.strip()]
    ws = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n ", "\n    ", "    \t", "\u3000", "\xa0"]
    pieces = [
        lambda: rng.choice(code_lines),
        lambda: "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 24))),
        lambda: "".join(rng.choice(_CJK) for _ in range(rng.randint(1, 12))),
        lambda: rng.choice(ws) * rng.randint(1, 5),
        lambda: rng.choice(CODESHELL_SPECIALS),
        lambda: rng.choice(["it's", "we've", "I'm", "they'll", "he'd", "you're", "don't", "'s'", "''"]),
        lambda: rng.choice(["😀", "🚀✨", "naïve café", "Ωμέγα", "добрый день", "مرحبا", "x²+y²", "→⇒", "\u200b"]),
        lambda: "".join(rng.choice("{}[]()<>;:,.=+-*/%&|!?~^@#$\\\"'`_") for _ in range(rng.randint(1, 8))),
        lambda: rng.choice(["fibonacci", "self.items", "Stack", "__init__", "x1y2z3", "v2.0.1", "0x1F", "3.14e-10"]),
    ]
    out = [
        "",
        " ",
        "\n",
        _CODE,
        _CJK,
        "<fim_prefix>def f(x):\n    <fim_suffix>\n    return y<fim_middle>",
        "<|endoftext|><|endoftext|>",
        "a<fim_pad>b",
    ]
    while len(out) < n:
        k = rng.randint(1, 6)
        out.append("".join(rng.choice(pieces)() + rng.choice(["", "", " ", "\n"]) for _ in range(k)))
    return out


@pytest.fixture(scope="module")
def llama_vocab(converted):
    from llama_cpp import Llama

    llm = Llama(str(converted["f16"]), vocab_only=True, verbose=False)
    yield llm
    llm.close()


def test_parity_covers_at_least_1000_strings():
    strings = parity_strings()
    assert len(set(strings)) >= 1000


def test_llama_cpp_tokenizes_like_hf_tokenizers(llama_vocab):
    hf = hf_tokenizer()
    mismatches = []
    for s in parity_strings():
        want = hf.encode(s).ids
        got = llama_vocab.tokenize(s.encode("utf-8"), add_bos=False, special=True)
        if got != want:
            mismatches.append((s, want, got))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]}"


def test_special_tokens_are_control_tokens_with_codeshell_ids(llama_vocab):
    hf = hf_tokenizer()
    for text in CODESHELL_SPECIALS:
        want = hf.token_to_id(text)
        assert llama_vocab.tokenize(text.encode(), add_bos=False, special=True) == [want]
        # As plain text (special=False) it is not the control token.
        assert llama_vocab.tokenize(text.encode(), add_bos=False, special=False) != [want]
    eot = hf.token_to_id("<|endoftext|>")
    assert llama_vocab.token_eos() == eot and llama_vocab.token_bos() == eot
