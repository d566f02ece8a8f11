"""Choosing the next token from logits (pure NumPy): greedy at temperature 0, else top-k/top-p."""

from __future__ import annotations

import numpy as np


def sample(logits: np.ndarray, temperature: float, top_k: int, top_p: float, rng: np.random.Generator) -> int:
    if temperature <= 0:
        return int(np.argmax(logits))
    scores = logits.astype(np.float64) / temperature
    if 0 < top_k < scores.size:
        idx = np.argpartition(scores, -top_k)[-top_k:]
    else:
        idx = np.arange(scores.size)
    sub = scores[idx]
    order = np.argsort(-sub, kind="stable")
    idx, sub = idx[order], sub[order]
    probs = np.exp(sub - sub[0])
    probs /= probs.sum()
    if top_p < 1.0:
        keep = int(np.searchsorted(np.cumsum(probs), top_p) + 1)
        idx, probs = idx[:keep], probs[:keep] / probs[:keep].sum()
    return int(idx[rng.choice(len(idx), p=probs)])
