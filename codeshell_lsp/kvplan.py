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

When both changed (a keystroke, and another set of chunks), the body moves up to the
edit and the suffix copy after it. In addition, when the extra context changed, each of
its pieces (a chunk of another file, or the current file's heading) that the cache holds
past the common prefix moves to its new place (``Plan.blocks``), so a new set costs only
the chunks that are new, whatever order they land in.

The plan says which tokens to keep, which cells to move and which tokens to decode.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from .prompt import Span


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


MIN_RESTORE = 16  # cells of the prompt's own a saved KV must give to be worth restoring


def restorable(p: "Plan", min_tokens: int = MIN_RESTORE) -> bool:
    """Whether a saved KV state is worth loading, given the plan for the prompt over it:
    it reuses at least ``min_tokens`` of the prompt's own cells (the common prefix, the
    extra-context pieces that move, the document part). The suffix copy alone does not
    count: its cells were computed after another document's text."""
    own = p.reused - (len(p.moved) if p.moved is not None and not p.from_prompt else 0)
    return own >= min(min_tokens, p.total - 1) > 0


MAX_BLOCKS = 14  # extra-context pieces moved at most (each needs a scratch KV sequence while it moves)


@dataclass(frozen=True)
class Block:
    """Cells of sequence 0 reused at another position: ``old`` -> ``new``, ``length`` tokens."""

    old: int
    new: int
    length: int


def find_blocks(
    cached: Sequence[int], lo: int, hi: int, prompt: Sequence[int], pieces: Sequence[Span], min_len: int = 8
) -> tuple[Block, ...]:
    """The pieces of ``prompt`` that ``cached[lo:hi]`` holds token for token, each with
    where it sits there (non-overlapping, at most ``MAX_BLOCKS``, in prompt order)."""
    if hi - lo < min_len or not pieces:
        return ()
    starts: dict[tuple[int, ...], list[int]] = {}
    for i in range(lo, hi - min_len + 1):
        starts.setdefault(tuple(cached[i : i + 4]), []).append(i)
    used: list[tuple[int, int]] = []
    out = []
    for sp in pieces:
        n = len(sp)
        if n < min_len or len(out) == MAX_BLOCKS:
            continue
        want = list(prompt[sp.start : sp.end])
        for i in starts.get(tuple(want[:4]), ()):
            if i + n <= hi and list(cached[i : i + n]) == want and all(i + n <= a or b <= i for a, b in used):
                used.append((i, i + n))
                out.append(Block(i, sp.start, n))
                break
    return tuple(out)


@dataclass(frozen=True)
class Plan:
    keep: int  # leading tokens of sequence 0 kept as they are
    moved: Span | None  # new positions of the reused suffix cells (old start = moved.start - shift)
    shift: int  # how far the moved cells move
    total: int  # prompt length
    save: Span | None = None  # the new prompt's suffix chunk, copied to sequence 1 for the next request
    from_prompt: bool = False  # the moved cells are sequence 0's own (the document body), not the suffix copy
    blocks: tuple[Block, ...] = ()  # extra-context pieces moved within sequence 0 (all before ``moved``)

    @property
    def reused(self) -> int:
        return self.keep + (len(self.moved) if self.moved else 0) + sum(b.length for b in self.blocks)

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
    pieces: Sequence[Span] = (),
    move_blocks: bool = True,
) -> Plan:
    """Plan the evaluation of ``prompt`` given the cache.

    ``cached`` are the tokens in sequence 0, ``cached_chunk`` where the suffix copy in
    sequence 1 sits; ``chunk`` is where the suffix chunk sits in ``prompt`` (the
    layout's suffix span). ``cached_body`` and ``body``: where the document's own part
    starts in the cached prompt and in ``prompt`` (None: unknown); ``pieces``: the spans of
    the extra context's pieces in ``prompt`` (``Layout.pieces``); ``move_blocks`` false (a
    model with sliding-window layers) moves no cells of sequence 0 but the document part.
    The last prompt token is always evaluated (its logits start generation). ``reuse`` false plans a fresh
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
        suffix = best.moved
        if n >= min_chunk and n > len(best.moved or ()):
            best = Plan(keep, Span(body, body + n), body - cached_body, total, save, from_prompt=True)
        if move_blocks and suffix is not None and cached_chunk is not None and save is not None:
            # Both: the body up to the edit as a block (its cells are sequence 0's alone
            # before the suffix chunk), and the suffix copy after it.
            nb = min(n, cached_chunk.start - cached_body, suffix.start - body)
            if nb >= min_chunk and nb + len(suffix) > len(best.moved or ()):
                block = Block(cached_body, body, nb)
                best = Plan(keep, suffix, save.start - cached_chunk.start, total, save, blocks=(block,))
    if can_shift and move_blocks and pieces:
        # Only cells past the common prefix and before the document part (or the suffix
        # copy, whose cells sequence 1 shares) can move. A piece the common prefix ends
        # inside (another chunk whose heading starts alike) moves whole if it can.
        hi = cached_body if cached_body is not None else (cached_chunk.start if cached_chunk else len(cached))
        end = best.moved.start if best.moved is not None else total
        inside = next((sp for sp in pieces if sp.start < best.keep < sp.end), None)
        for lo in ((inside.start, best.keep) if inside else (best.keep,)):
            blocks = find_blocks(cached, lo, hi, prompt, [sp for sp in pieces if sp.start >= lo and sp.end <= end], min_chunk)
            if lo == best.keep or (blocks and blocks[0].new == lo):
                break
        if blocks:
            best = dataclasses.replace(best, keep=lo, blocks=blocks + best.blocks)
    return best
