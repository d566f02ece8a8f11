"""Prompt-lookup drafts (``completion.draftTokens``) in the local backend: the text of plain
greedy decoding, the KV state it leaves, and every token through the stop policy in turn.

On one thread, llama.cpp evaluates a token of a CodeShell-architecture model alike alone
or inside a batch (logits bit-identical on the embedded and the bench model; with two
threads they move by ~0.05), so there drafts must give exactly the plain text.
Gemma-3-270M does not (a batch moves its logits by up to ~2, FACTS.md), so there the test
allows a different token only where plain greedy decoding had a near tie.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codeshell_lsp import prompt as prompt_module
from codeshell_lsp.backends.base import Generation
from codeshell_lsp.backends.local import LocalBackend
from codeshell_lsp.context import Cursor
from codeshell_lsp.model_file import embedded_model_path
from codeshell_lsp.options import CacheSettings, CompletionSettings, ModelSettings
from codeshell_lsp.postprocess import Policy

pytestmark = pytest.mark.model

FILES = Path(__file__).resolve().parents[2] / "codeshell_lsp" / "bench" / "data" / "files"


def cursors(n: int) -> list[Cursor]:
    """``n`` cursors at the start of indented lines spread over two real files."""
    out = []
    for name in ("fractions.py", "statistics.py"):
        text = (FILES / name).read_text(encoding="utf-8")
        starts = [i + 1 for i, ch in enumerate(text) if ch == "\n" and text[i + 1 : i + 9] == "        "]
        for k in range(n // 2):
            at = starts[(k + 1) * len(starts) // (n // 2 + 1)] + 8
            out.append(Cursor(text[:at], text[at:]))
    return out


class Spy:
    """The real stop policy, recording each text it is asked about; ``stop_after`` calls
    in, it stops generation."""

    def __init__(self, cursor: Cursor, stop_after: int = 0) -> None:
        self.policy = Policy(cursor.prefix, cursor.suffix, "python", "always")
        self.seen: list[str] = []
        self.stop_after = stop_after

    def stop_at(self, text: str) -> tuple[int, str] | None:
        self.seen.append(text)
        if self.stop_after and len(self.seen) == self.stop_after:
            return len(text), "stop"
        return self.policy.stop_at(text)


def backend(path: Path) -> LocalBackend:
    # One thread: the configuration in which batch and single-token logits are bit-identical.
    return LocalBackend(path, ModelSettings(threads=1), CacheSettings(persist=False))


def complete(b: LocalBackend, cursor: Cursor, draft: int, policy: Spy | None = None, max_tokens: int = 64, reuse: bool = True):
    c = CompletionSettings(multiline="always", max_tokens=max_tokens)
    p = prompt_module.build(cursor, c, b)
    pieces: list[int] = []
    piece = b.rt.piece
    b.rt.piece = lambda tok: (pieces.append(tok), piece(tok))[1]  # type: ignore[method-assign]
    try:
        result = b.complete(
            p, Generation(max_tokens=max_tokens, draft_tokens=draft, reuse=reuse, document="doc"),
            policy or Spy(cursor),  # type: ignore[arg-type]
            lambda: False,
        )
    finally:
        del b.rt.piece
    return result, pieces, p.tokens


def same_logits_in_a_batch(b: LocalBackend, n: int) -> bool:
    """Whether llama.cpp gives ``b``'s model, on this CPU, the same logits for ``n`` tokens
    evaluated in one batch as one at a time (what exact drafts rely on)."""
    rt = b.rt
    b._forget()
    prompt = prompt_module.build(cursors(2)[0], CompletionSettings(multiline="always"), b).tokens
    logits = rt.decode(prompt, 0)
    tokens, rows = [], []
    for i in range(n):
        tokens.append(int(np.argmax(logits)))
        logits = rt.decode([tokens[-1]], len(prompt) + i)
        rows.append(logits)
    rt.seq_rm(0, len(prompt), -1)
    batch = rt.decode(tokens, len(prompt), every=True)
    b._forget()
    return bool(np.array_equal(batch, np.array(rows)))


@pytest.fixture(scope="module")
def pair():
    on, off = backend(embedded_model_path()), backend(embedded_model_path())
    yield on, off
    on.close()
    off.close()


def test_drafts_give_plain_greedy_text_and_leave_the_same_kv(pair):
    on, off = pair
    if not same_logits_in_a_batch(on, 9):
        pytest.skip("llama.cpp's kernels on this CPU give the embedded model other logits inside a batch")
    accepted = 0
    for cursor in cursors(8):  # one document: each completion reuses the KV the last one left
        a, a_tokens, _ = complete(off, cursor, 0)
        b, b_tokens, _ = complete(on, cursor, 8)
        assert (b.text, b.stop_reason, b_tokens) == (a.text, a.stop_reason, a_tokens)
        assert b.cached_tokens == a.cached_tokens
        assert on._cached == off._cached
        assert on.rt.seq_pos_max(0) == len(on._cached) - 1  # no cell of a rejected draft left behind
        assert a.draft_passes == 0
        accepted += b.draft_accepted
    assert accepted > 0  # drafts were taken, so the comparison tested them


def test_every_token_passes_the_stop_policy_in_turn(pair):
    on, off = pair
    for cursor in cursors(4):
        plain, drafted = Spy(cursor), Spy(cursor)
        complete(off, cursor, 0, plain)
        b, _, _ = complete(on, cursor, 8, drafted)
        assert drafted.seen == plain.seen
    # Stopped after each of the first tokens, some inside an accepted draft: the text ends
    # there and the KV is as plain decoding leaves it.
    inside = 0
    for cursor in cursors(2):
        for n in range(2, 13):
            a, _, _ = complete(off, cursor, 0, Spy(cursor, stop_after=n))
            b, _, _ = complete(on, cursor, 8, Spy(cursor, stop_after=n))
            assert (b.text, b.stop_reason, b.generated_tokens) == (a.text, a.stop_reason, a.generated_tokens)
            assert on._cached == off._cached and on.rt.seq_pos_max(0) == len(on._cached) - 1
            inside += b.stop_reason == "stop" and b.draft_accepted > 0
    assert inside > 0


def test_sampling_never_drafts(pair):
    on, _ = pair
    cursor = cursors(2)[0]
    p = prompt_module.build(cursor, CompletionSettings(multiline="always"), on)
    result = on.complete(p, Generation(temperature=0.7, draft_tokens=8, document="doc"), Spy(cursor), lambda: False)
    assert result.draft_passes == 0 and result.generated_tokens > 0


@pytest.fixture(scope="module")
def gemma_pair(gemma):
    on, off = backend(gemma), backend(gemma)
    yield on, off
    on.close()
    off.close()


@pytest.mark.slow
def test_short_drafts_on_gemma_give_plain_greedy_text(gemma_pair):
    """Checks of up to 3 tokens (a draft of 2): on x86 llama.cpp switches Gemma's matrix
    products to another kernel from 4 rows on, so up to 3 its logits are the single-token ones."""
    on, off = gemma_pair
    if not same_logits_in_a_batch(on, 3):
        pytest.skip("llama.cpp's kernels on this CPU give Gemma other logits in a batch of 3")
    accepted = 0
    for cursor in cursors(6):
        _, plain, _ = complete(off, cursor, 0, max_tokens=48)
        b, drafted, _ = complete(on, cursor, 2, max_tokens=48)
        assert drafted == plain
        accepted += b.draft_accepted
    assert accepted > 0


@pytest.mark.slow
def test_long_drafts_on_gemma_differ_from_plain_greedy_only_at_near_ties(gemma_pair):
    on, off = gemma_pair
    accepted = identical = 0
    chosen = cursors(6)
    for cursor in chosen:
        # No KV reuse: the replay below evaluates the prompt as the plain run did.
        _, plain, _ = complete(off, cursor, 0, max_tokens=48, reuse=False)
        b, drafted, tokens = complete(on, cursor, 8, max_tokens=48, reuse=False)
        accepted += b.draft_accepted
        if drafted == plain:
            identical += 1
            continue
        # Where they part, plain greedy decoding had the drafted run's token close behind its own.
        i = next(k for k, (x, y) in enumerate(zip(plain, drafted)) if x != y)
        rt = off.rt
        rt.clear()
        off._forget()
        logits = rt.decode(tokens, 0)
        for k, tok in enumerate(plain[:i]):
            logits = rt.decode([tok], len(tokens) + k)
        assert logits is not None and int(np.argmax(logits)) == plain[i]
        assert logits[plain[i]] - logits[drafted[i]] < 3.0, (i, plain[i], drafted[i])
    assert accepted > 0
    assert identical >= len(chosen) // 2

