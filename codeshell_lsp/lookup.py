"""Prompt-lookup drafts: guess a greedy completion's next tokens from the text it completes.

Code completions copy much of the text around them (names, calls, the line above). The
tokens that followed the most recent earlier occurrence of the last few tokens — in the
prompt (extra context, prefix, suffix) or in what was generated so far — are a draft;
the backend checks a draft in one forward pass and keeps the tokens the model itself
chooses there, so the output is plain greedy decoding's wherever a batch gives the same
logits as single tokens (``backends/local.py``).

The draft length adapts to what was accepted: it grows after a draft is taken whole and
shrinks after a miss, the rule of Hugging Face's assisted generation (+2 / -1).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

MIN_NGRAM = 2  # a single matching token proposes too many drafts that fail
MAX_NGRAM = 4
START = 4  # draft length of a completion's first check


class Drafter:
    """Drafts for one completion of ``prompt`` generating up to ``room`` tokens."""

    def __init__(self, prompt: Sequence[int], room: int, max_draft: int) -> None:
        self._buf = np.zeros(len(prompt) + room, dtype=np.int64)
        self._buf[: len(prompt)] = prompt
        self._prompt = self._n = len(prompt)
        self.max_draft = max_draft
        self.length = min(START, max_draft)

    def draft(self, generated: Sequence[int], limit: int) -> list[int]:
        """Up to ``min(self.length, limit)`` tokens that may follow ``generated`` (the
        tokens generated so far): the continuation of the most recent earlier occurrence
        of the longest matching n-gram; [] when there is none."""
        new = generated[self._n - self._prompt :]
        self._buf[self._n : self._n + len(new)] = new
        self._n += len(new)
        k = min(self.length, limit)
        if k <= 0:
            return []
        start = continuation(self._buf[: self._n])
        if start is None:
            return []
        return [int(t) for t in self._buf[start : min(start + k, self._n)]]

    def accepted(self, drafted: int, taken: int) -> None:
        """A check of ``drafted`` tokens kept ``taken`` of them."""
        if taken == drafted:
            self.length = min(self.max_draft, self.length + 2)
        else:
            self.length = max(1, self.length - 1)


def continuation(tokens: np.ndarray) -> int | None:
    """Where the text after the latest earlier occurrence of ``tokens``' last n tokens
    starts (n from ``MAX_NGRAM`` down to ``MIN_NGRAM``, longest first); None when they
    occur nowhere earlier."""
    n_total = len(tokens)
    if n_total <= MIN_NGRAM:
        return None
    # Ends of earlier occurrences of the last token; each is followed by at least one token.
    ends = np.flatnonzero(tokens[: n_total - 1] == tokens[n_total - 1])
    best = None
    for k in range(1, MAX_NGRAM):
        ends = ends[ends >= k]
        ends = ends[tokens[ends - k] == tokens[n_total - 1 - k]]
        if ends.size == 0:
            break
        if k + 1 >= MIN_NGRAM:
            best = int(ends[-1]) + 1
    return best
