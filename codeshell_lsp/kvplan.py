"""Planning KV cache reuse between two prompts (pure).

The cache holds the previous prompt (plus what was generated) in sequence 0, and a
copy of that prompt's suffix chunk in sequence 1. A new prompt can reuse

- its longest common token prefix with sequence 0, and
- after an edit before the cursor, the suffix chunk: the part of the new suffix
  chunk that starts like the old one is shifted to its new position (``seq_add``)
  instead of being evaluated again.

The plan says which tokens to keep, which cells to move and which tokens to decode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass(frozen=True)
class Span:
    start: int
    end: int  # exclusive

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Plan:
    keep: int  # leading tokens of sequence 0 kept as they are
    moved: Span | None  # new positions of the reused suffix cells (old start = moved.start - shift)
    shift: int  # how far the reused suffix cells move
    total: int  # prompt length

    @property
    def reused(self) -> int:
        return self.keep + (len(self.moved) if self.moved else 0)

    @property
    def evaluated(self) -> int:
        return self.total - self.reused


def plan(
    cached: Sequence[int],
    cached_chunk: Span | None,
    prompt: Sequence[int],
    chunk: Span | None,
    min_chunk: int = 8,
) -> Plan:
    """Plan the evaluation of ``prompt`` given the cache.

    ``cached`` are the tokens in sequence 0, ``cached_chunk`` where the suffix copy in
    sequence 1 sits; ``chunk`` is where the suffix chunk sits in ``prompt``. The last
    prompt token is always evaluated (its logits start generation).
    """
    total = len(prompt)
    keep = min(common_prefix(cached, prompt), total - 1)
    if cached_chunk is None or chunk is None or keep >= chunk.start:
        return Plan(max(keep, 0), None, 0, total)
    old = cached[cached_chunk.start : cached_chunk.end]
    new = prompt[chunk.start : min(chunk.end, total - 1)]
    n = common_prefix(old, new)
    if n < min_chunk:
        return Plan(keep, None, 0, total)
    return Plan(keep, Span(chunk.start, chunk.start + n), chunk.start - cached_chunk.start, total)
