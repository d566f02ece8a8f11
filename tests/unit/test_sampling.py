"""Choosing the next token (pure NumPy)."""

from __future__ import annotations

import numpy as np

from codeshell_lsp.sampling import sample

LOGITS = np.array([0.0, 5.0, 4.9, -3.0, 1.0], dtype=np.float32)


def test_temperature_zero_is_greedy():
    rng = np.random.default_rng(0)
    assert {sample(LOGITS, 0.0, 10, 0.95, rng) for _ in range(20)} == {1}


def test_top_k_keeps_only_the_k_best():
    rng = np.random.default_rng(0)
    picks = {sample(LOGITS, 1.0, 2, 1.0, rng) for _ in range(200)}
    assert picks == {1, 2}


def test_top_p_cuts_the_tail():
    logits = np.array([10.0, 0.0, 0.0, 0.0])
    rng = np.random.default_rng(0)
    assert {sample(logits, 1.0, 0, 0.5, rng) for _ in range(100)} == {0}


def test_same_seed_same_choices():
    a = [sample(LOGITS, 1.5, 0, 1.0, np.random.default_rng(7)) for _ in range(5)]
    b = [sample(LOGITS, 1.5, 0, 1.0, np.random.default_rng(7)) for _ in range(5)]
    assert a == b


def test_high_temperature_reaches_beyond_the_top_token():
    rng = np.random.default_rng(1)
    assert len({sample(LOGITS, 2.0, 0, 1.0, rng) for _ in range(300)}) >= 3
