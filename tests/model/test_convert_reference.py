"""llama.cpp on the converted GGUF computes what CodeShell's definition says it should."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import llama_logits
from .hf_codeshell import _CJK, _CODE, hf_tokenizer, reference_logits

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def sequence() -> list[int]:
    ids = hf_tokenizer().encode(_CODE + _CJK).ids[:96]
    assert len(ids) >= 64
    return ids


@pytest.fixture(scope="module")
def reference(hf_ckpt, sequence) -> np.ndarray:
    return reference_logits(hf_ckpt.weights, hf_ckpt.config, sequence)


def agreement(got: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """(largest |difference| as a fraction of that position's logit range, top-1 agreement)."""
    span = ref.max(-1) - ref.min(-1)
    return float((np.abs(got - ref).max(-1) / span).max()), float((got.argmax(-1) == ref.argmax(-1)).mean())


def test_f32_gguf_matches_reference_forward_pass(converted, sequence, reference, record_property):
    err, top1 = agreement(llama_logits(converted["f32"], sequence, kv_f32=True), reference)
    record_property("f32_max_err_of_range", err)
    assert top1 == 1.0
    assert err <= 0.005, f"f32 logits off by {err:.4%} of the range"


def test_f16_gguf_within_two_percent_of_reference(converted, sequence, reference, record_property):
    err, top1 = agreement(llama_logits(converted["f16"], sequence), reference)
    record_property("f16_max_err_of_range", err)
    assert err <= 0.02, f"f16 logits off by {err:.4%} of the range"


def test_q8_0_gguf_picks_reference_top1_on_95_percent(converted, sequence, reference, record_property):
    err, top1 = agreement(llama_logits(converted["q8_0"], sequence), reference)
    record_property("q8_0_top1", top1)
    assert top1 >= 0.95, f"Q8_0 top-1 agreement {top1:.1%} (max error {err:.3%} of range)"


def test_bf16_gguf_close_to_reference(converted, sequence, reference):
    err, top1 = agreement(llama_logits(converted["bf16"], sequence), reference)
    assert err <= 0.05 and top1 >= 0.9, (err, top1)


def test_reference_would_catch_wrong_rope_or_head_grouping(hf_ckpt, converted, sequence, reference):
    """The comparison is sharp: a GPT-J-style RoPE or tiled KV heads in the reference disagree."""
    from . import hf_codeshell as ref_mod

    got = llama_logits(converted["f32"], sequence, kv_f32=True)

    def gptj(x, pos, base):
        hd = x.shape[-1]
        ang = pos[:, None] * base ** (-np.arange(0, hd, 2) / hd)[None]
        c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]
        out = np.empty_like(x)
        out[..., 0::2] = x[..., 0::2] * c - x[..., 1::2] * s
        out[..., 1::2] = x[..., 0::2] * s + x[..., 1::2] * c
        return out

    original = ref_mod._rope_neox
    ref_mod._rope_neox = gptj
    try:
        wrong = reference_logits(hf_ckpt.weights, hf_ckpt.config, sequence)
    finally:
        ref_mod._rope_neox = original
    err, top1 = agreement(got, wrong)
    assert err > 0.05 and top1 < 0.9
