"""Planning KV cache reuse between two prompts (pure).

The cache holds the previous prompt (plus what was generated) in sequence 0, and a
copy of that prompt's suffix chunk in sequence 1. A new prompt can reuse

- its longest common token prefix with sequence 0, and
- after an edit before the cursor, the suffix chunk: the part of the new suffix
  chunk that starts like the old one is shifted to its new position (``seq_add``)
  instead of being evaluated again;
- or, when the extra context before the document changed (another set of chunks from
  other files), the document's own part (the layout's ``body`` on): the part that
  starts like the cached one is shifted from sequence 0 itself, so a new set costs
  its own tokens, not the whole file again.

One block moves at most: the one that reuses more.

The plan says which tokens to keep, which cells to move and which tokens to decode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .prompt import Span


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


MIN_RESTORE = 16  # leading tokens a saved KV must share with the prompt to be worth restoring


def restorable(saved: Sequence[int], prompt: Sequence[int], min_tokens: int = MIN_RESTORE) -> bool:
    """Whether a saved KV state is worth loading for ``prompt``: it shares at least
    ``min_tokens`` leading tokens with it (the plan then keeps only that common prefix,
    and the suffix copy where it still matches, token by token)."""
    return common_prefix(saved, prompt) >= min(min_tokens, len(prompt) - 1) > 0


@dataclass(frozen=True)
class Plan:
    keep: int  # leading tokens of sequence 0 kept as they are
    moved: Span | None  # new positions of the reused suffix cells (old start = moved.start - shift)
    shift: int  # how far the moved cells move
    total: int  # prompt length
    save: Span | None = None  # the new prompt's suffix chunk, copied to sequence 1 for the next request
    from_prompt: bool = False  # the moved cells are sequence 0's own (the document body), not the suffix copy

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
    *,
    reuse: bool = True,
    can_shift: bool = True,
    min_chunk: int = 8,
    cached_body: int | None = None,
    body: int | None = None,
) -> Plan:
    """Plan the evaluation of ``prompt`` given the cache.

    ``cached`` are the tokens in sequence 0, ``cached_chunk`` where the suffix copy in
    sequence 1 sits; ``chunk`` is where the suffix chunk sits in ``prompt`` (the
    layout's suffix span). ``cached_body`` and ``body``: where the document's own part
    starts in the cached prompt and in ``prompt`` (None: unknown). The last prompt token
    is always evaluated (its logits start generation). ``reuse`` false plans a fresh
    evaluation that keeps nothing for later; ``can_shift`` false (a model whose KV cells
    cannot move) reuses only the prefix.
    """
    total = len(prompt)
    if not reuse:
        return Plan(0, None, 0, total)
    save = chunk if can_shift else None
    keep = max(min(common_prefix(cached, prompt), total - 1), 0)
    best = Plan(keep, None, 0, total, save)
    if cached_chunk is not None and save is not None and keep < save.start:
        n = common_prefix(cached[cached_chunk.start : cached_chunk.end], prompt[save.start : min(save.end, total - 1)])
        if n >= min_chunk:
            best = Plan(keep, Span(save.start, save.start + n), save.start - cached_chunk.start, total, save)
    # The body moves out of sequence 0 itself: only cells past what is kept there.
    if can_shift and cached_body is not None and body is not None and keep < body and keep <= cached_body:
        n = common_prefix(cached[cached_body:], prompt[body : total - 1])
        if n >= min_chunk and n > len(best.moved or ()):
            best = Plan(keep, Span(body, body + n), body - cached_body, total, save, from_prompt=True)
    return best
