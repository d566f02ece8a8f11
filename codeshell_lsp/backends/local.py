"""In-process llama.cpp backend: FIM prompts as token lists, KV reuse, abort.

KV layout: sequence 0 holds the last prompt and what was generated after it;
sequence 1 holds a copy of that prompt's suffix chunk (``<fim_suffix>`` + suffix
tokens). When the user edits before the cursor, the prompt's common prefix is
kept, the suffix copy is shifted by the length change (``seq_add``), the new prefix
tokens are evaluated, and the shifted suffix is copied back into sequence 0 — so a
keystroke costs only its own tokens plus ``<fim_middle>``. llama.cpp refuses to
decode a token before positions a sequence already holds, which is why the suffix
waits in its own sequence (see FACTS.md).

The shifted suffix keys were computed against the old prefix: an approximation whose
quality cost is measured by ``bench quality`` with ``cache.reuse`` on and off.

Several documents: the active one (the last completed) lives in sequences 0 and 1;
switching away parks its cells as a per-sequence state snapshot in host memory
(``kvstore.Parked``, ``cache.documents`` and ``cache.kvMemoryMB``), and switching back
restores them (``llama_state_seq_set_data``), so a return costs the copy and the
tokens that changed. They are not left resident in the cache as more sequences: every
decoded token attends over all used cells, and on the 330M bench model 4.5k cells of
other documents made each decoded token 27-58% slower, while restoring 1.5k tokens takes
~15 ms. Snapshots go to disk (``kvstore.DiskStore``) when idle, at shutdown and when
evicted, and come back at the first completion in a document after a restart.

Greedy decoding may check prompt-lookup drafts (``lookup``, ``completion.draftTokens``):
the drafted tokens are evaluated in one batch after the last generated one, those greedy
decoding agrees with are kept, and the cells of the rest leave sequence 0, so the KV
cache and ``_cached`` end as plain decoding leaves them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
from cachetools import LRUCache

from .. import fim
from ..errors import BackendError, Cancelled
from ..kvplan import MAX_BLOCKS, Plan, plan, restorable
from ..kvstore import DiskStore, Parked, Snapshot, cache_dir, model_identity
from ..log import get_logger
from ..lookup import Drafter
from ..options import CacheSettings, ModelSettings
from ..prompt import Prompt, Span
from ..sampling import sample
from .base import Generation, IsCancelled, Result
from .llama_runtime import LLAMA_CPP_VERSION, KVCacheFull, LlamaRuntime

if TYPE_CHECKING:
    from ..postprocess import Policy

log = get_logger(__name__)

COUNTS_BYTES = 1 << 20  # memory for remembered token counts (texts typed over go first)
SCRATCH_SEQ = 2  # the first KV sequence that moving extra-context pieces use (0: the prompt, 1: the suffix copy)


@dataclass
class _Generated:
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    reason: str = "length"
    passes: int = 0  # checks of a draft
    drafted: int = 0
    accepted: int = 0


class LocalBackend:
    def __init__(self, path: Path, m: ModelSettings, cache: CacheSettings | None = None) -> None:
        cache = cache or CacheSettings()
        self.rt = LlamaRuntime(
            path, n_ctx=m.context_length, threads=m.threads, gpu_layers=m.gpu_layers, kv_type=m.kv_type,
            n_seq=SCRATCH_SEQ + MAX_BLOCKS,
        )
        self.arch = self.rt.meta("general.architecture") or ""
        self.model_name = self.rt.meta("general.name") or path.stem
        self.fim, self.template_note = fim.bind(
            m.template, self.rt.vocab_texts(), self.rt.bos, self.rt.eog_ids(), self.arch
        )
        self.context_length = self.rt.n_ctx
        self._cached: list[int] = []  # tokens of sequence 0, by position
        self._chunk: Span | None = None  # where sequence 1's suffix copy sits
        self._body: int | None = None  # where the cached prompt's document part starts (after the extra context)
        # Token counts by text (window lines, chunk blocks), bounded by the memory they hold.
        self._counts: LRUCache[str, tuple[int, int]] = LRUCache(maxsize=COUNTS_BYTES, getsizeof=lambda v: v[1])
        self._prompt_evaluated = 0  # prompt tokens evaluated by the current request so far
        self._active: str | None = None  # the document whose KV sequences 0 and 1 hold
        self._dirty = False  # the active document's KV changed since it was last saved
        per_token = self.rt.kv_bytes_per_token()
        own = self.rt.n_ctx * per_token
        total = cache.kv_memory_mb << 20 if cache.kv_memory_mb else cache.documents * own
        if total < own:
            log.warning("cache.kvMemoryMB %d is less than the context's own KV (%d MB): one document kept", cache.kv_memory_mb, own >> 20)
        self._parked = Parked(cache.documents - 1, max(0, total - own))
        self._disk: DiskStore | None = None
        if cache.persist:
            key = f"{model_identity(path)}|llama.cpp {LLAMA_CPP_VERSION}|kv {self.rt.kv_type}|template {self.fim.name}"
            self._disk = DiskStore(cache_dir(), key, cache.disk_mb << 20)
        log.info(
            "KV: %d bytes per token (%s); context %d MB, %d more documents in %d MB; saved to disk: %s",
            per_token, self.rt.kv_type, own >> 20, cache.documents - 1, max(0, total - own) >> 20,
            self._disk.root if self._disk else "no (cache.persist off)",
        )

    @property
    def template_name(self) -> str:
        return self.fim.name

    def count_tokens(self, text: str) -> int:
        got = self._counts.get(text)
        if got is None:
            got = len(self.rt.tokenize(text)), len(text) + 120  # the text and the cache's own entry
            if got[1] < COUNTS_BYTES // 16:
                self._counts[text] = got
        return got[0]

    def tokenize(self, text: str) -> list[int]:
        return self.rt.tokenize(text)

    def prepare(self, cancelled: IsCancelled) -> None:
        pass

    def _forget(self) -> None:
        self.rt.clear()
        self._cached = []
        self._chunk = self._body = None

    # --- documents -------------------------------------------------------------------

    def _snapshot(self) -> Snapshot:
        rt = self.rt
        return Snapshot(
            tuple(self._cached), self._chunk, rt.seq_state(0), rt.seq_state(1) if self._chunk else b"", self._body
        )

    def _plan(self, cached: Sequence[int], chunk: Span | None, body: int | None, prompt: Prompt, reuse: bool = True) -> Plan:
        layout = prompt.layout
        return plan(
            cached, chunk, prompt.tokens, layout.suffix if layout else None, reuse=reuse, can_shift=self.rt.can_shift,
            cached_body=body, body=layout.body if layout else None, pieces=layout.pieces if layout else (),
            # Not with sliding-window layers (Gemma 3): there a moved block was missing from
            # sequence 0 after the copy back and llama_decode refused the prompt (positions
            # not consecutive) on the cross-file set; the document part still moves.
            move_blocks=not self.rt.n_swa,
        )

    def _switch(self, document: str | None, prompt: Prompt) -> None:
        """Make ``document``'s KV the one in sequences 0 and 1: park the active document's,
        bring back this one's from memory or disk where ``prompt`` can reuse enough of it
        (``None``: a prompt of no document, evaluated afresh and not kept)."""
        if document == self._active and document is not None:
            return
        parked = self._parked.pop(document) if document is not None else None  # before parking the active one makes room
        if self._active is not None and self._cached:
            self._park(self._active, self._snapshot(), self._dirty)
        self._forget()
        self._active, self._dirty = document, False
        if document is None:
            return
        snap, dirty = parked if parked else (self._disk.load(document) if self._disk else None, False)
        if snap is None or not restorable(self._plan(snap.tokens, snap.chunk, snap.body, prompt)):
            return
        t0 = time.perf_counter()
        if not self._restore(snap):
            self._forget()
            why = "llama.cpp refused its state (another model, KV type or context size)"
            if parked:
                log.warning("parked KV of %s dropped: %s", document, why)
            elif self._disk:
                self._disk.discard(document, why)
            return
        self._dirty = dirty
        log.info(
            "%s: restored %d tokens of KV from %s in %.1f ms", document, len(snap.tokens),
            "memory" if parked else "disk", (time.perf_counter() - t0) * 1000,
        )

    def _restore(self, snap: Snapshot) -> bool:
        rt = self.rt
        if not rt.set_seq_state(0, snap.seq0) or rt.seq_pos_max(0) != len(snap.tokens) - 1:
            return False
        if snap.chunk is not None and (not rt.set_seq_state(1, snap.seq1) or rt.seq_pos_max(1) != snap.chunk.end - 1):
            return False
        self._cached, self._chunk, self._body = list(snap.tokens), snap.chunk, snap.body
        return True

    def _park(self, document: str, snap: Snapshot, dirty: bool) -> None:
        for doc, s, d in self._parked.put(document, snap, dirty):
            if d and self._disk:
                self._disk.save(doc, s)

    def idle(self, busy: IsCancelled) -> None:
        """Save to disk the documents whose KV changed since their last save (the engine
        calls this when idle; ``busy()`` turning true means a request is waiting)."""
        if self._disk is None:
            return
        if self._dirty and self._active is not None and self._cached:
            self._disk.save(self._active, self._snapshot())
            self._dirty = False
        for doc, snap in self._parked.dirty():
            if busy():
                return
            self._disk.save(doc, snap)
            self._parked.mark_clean(doc)

    def _decode(self, tokens: list[int], cancelled: IsCancelled, every: bool = False) -> np.ndarray | None:
        base = len(self._cached)

        def committed(n: int) -> None:
            self._prompt_evaluated += n - (len(self._cached) - base)
            del self._cached[base:]
            self._cached.extend(tokens[:n])

        return self.rt.decode(tokens, base, 0, cancelled, committed, every)

    def _evaluate(self, prompt: list[int], p: Plan, cancelled: IsCancelled) -> tuple[Plan, np.ndarray]:
        """Carry out plan ``p``: keep, move and decode as it says."""
        rt = self.rt
        try:
            # Extra-context pieces that move: each waits at its new place in a scratch
            # sequence of its own (moving several in one sequence could run one over another).
            for seq, b in enumerate(p.blocks, SCRATCH_SEQ):
                rt.seq_cp(0, seq, b.old, b.old + b.length)
            if p.moved is not None and p.from_prompt:
                # The body's cells are sequence 0's own: put them (and only them) in
                # sequence 1 before sequence 0 lets go of them.
                old = p.moved.start - p.shift
                rt.seq_rm(1, -1, -1)
                rt.seq_cp(0, 1, old, old + len(p.moved))
            rt.seq_rm(0, p.keep, -1)
            del self._cached[p.keep :]
            for seq, b in enumerate(p.blocks, SCRATCH_SEQ):
                if b.new != b.old:
                    rt.seq_add(seq, b.old, b.old + b.length, b.new - b.old)
            moves = [(b.new, b.length, seq) for seq, b in enumerate(p.blocks, SCRATCH_SEQ)]
            if p.moved is not None and (p.from_prompt or self._chunk is not None):
                old = p.moved.start - p.shift
                # Keep in sequence 1 only the cells that match, then move them into place.
                rt.seq_rm(1, old + len(p.moved), -1)
                rt.seq_rm(1, 0, old)
                if p.shift:
                    rt.seq_add(1, old, old + len(p.moved), p.shift)
                moves.append((p.moved.start, len(p.moved), 1))
            else:
                # The old suffix copy is of no use here: free its cells before they are needed.
                rt.seq_rm(1, -1, -1)
            for start, length, seq in moves:
                self._decode(prompt[len(self._cached) : start], cancelled)
                rt.seq_cp(seq, 0, start, start + length)
                rt.seq_rm(seq, -1, -1)
                self._cached.extend(prompt[start : start + length])
            logits = self._decode(prompt[len(self._cached) :], cancelled)
        except KVCacheFull:
            # Reuse left no room (cells still held for the old prompt): start from an empty cache.
            log.warning("KV cache full while reusing; evaluating the prompt from scratch")
            self._forget()
            p = Plan(0, None, 0, len(prompt), p.save)
            logits = self._decode(prompt, cancelled)
        except BaseException:
            # Sequence 0 is exact (decode trims an unfinished chunk); the suffix copy and
            # the scratch sequences may be half-moved.
            for seq in range(1, SCRATCH_SEQ + len(p.blocks)):
                rt.seq_rm(seq, -1, -1)
            self._chunk = self._body = None
            raise
        rt.seq_rm(1, -1, -1)
        if p.save is not None:
            rt.seq_cp(0, 1, p.save.start, p.save.end)
        self._chunk = p.save
        assert logits is not None
        return p, logits

    def complete(self, prompt: Prompt, gen: Generation, policy: Policy, cancelled: IsCancelled) -> Result:
        t0 = time.perf_counter()
        tokens = list(prompt.tokens)
        room = self.context_length - len(tokens)
        if room < 1:
            raise BackendError(
                f"the prompt has {len(tokens)} tokens but the context holds {self.context_length}: "
                "lower completion.promptTokens or raise model.contextLength"
            )
        self._switch(gen.document if gen.reuse else None, prompt)
        self._dirty = True
        body = prompt.layout.body if prompt.layout else None
        p = self._plan(self._cached, self._chunk, self._body, prompt, gen.reuse)
        self._prompt_evaluated = 0
        try:
            p, logits = self._evaluate(tokens, p, cancelled)
        except Cancelled:
            raise Cancelled(evaluated=self._prompt_evaluated) from None
        self._body = body if gen.reuse else None
        t1 = time.perf_counter()
        try:
            g = self._generate(tokens, logits, gen, policy, min(gen.max_tokens, room), cancelled)
        except Cancelled:
            raise Cancelled(evaluated=p.evaluated) from None
        t2 = time.perf_counter()
        extra = prompt.layout.extra if prompt.layout else None
        extra_reused = (
            min(max(p.keep - extra.start, 0), len(extra)) + sum(b.length for b in p.blocks if b.new < extra.end) if extra else 0
        )
        return Result(
            text=g.text,
            extra_evaluated=len(extra) - extra_reused if extra else 0,
            extra_reused=extra_reused,
            prompt_tokens=len(tokens),
            cached_tokens=p.reused,
            evaluated_tokens=p.evaluated,
            generated_tokens=len(g.tokens),
            prompt_ms=(t1 - t0) * 1000,
            decode_ms=(t2 - t1) * 1000,
            stop_reason=g.reason,
            draft_passes=g.passes,
            drafted_tokens=g.drafted,
            draft_accepted=g.accepted,
        )

    def _generate(
        self, prompt: list[int], logits: np.ndarray, gen: Generation, policy: Policy, limit: int, cancelled: IsCancelled
    ) -> _Generated:
        """Up to ``limit`` tokens after ``prompt`` (whose last logits are ``logits``), each
        passed through ``policy.stop_at`` in turn. Greedy runs with ``gen.draft_tokens``
        check prompt-lookup drafts (``lookup``) a batch at a time and keep what greedy
        decoding would have chosen; the KV cache ends as one token at a time leaves it."""
        rng = np.random.default_rng(gen.seed)
        drafter = Drafter(prompt, limit, gen.draft_tokens) if gen.draft_tokens > 0 and gen.temperature <= 0 else None
        g = _Generated()
        raw = b""
        known: list[int] = []  # what the model generates next, found by a check; all but the last are in the KV
        while True:
            tok = known.pop(0) if known else sample(logits, gen.temperature, gen.top_k, gen.top_p, rng)
            if tok in self.fim.stop_ids or self.rt.is_eog(tok):
                g.reason = "eog"
                break
            g.tokens.append(tok)
            raw += self.rt.piece(tok)
            g.text = raw.decode("utf-8", "ignore")
            stop = policy.stop_at(g.text)
            if stop is not None:
                g.text, g.reason = g.text[: stop[0]], stop[1]
                break
            if len(g.tokens) == limit:
                break
            if known:
                continue  # an accepted draft token: evaluated already
            # The last token is never evaluated: a draft may run up to the one before it.
            draft = drafter.draft(g.tokens, limit - len(g.tokens) - 1) if drafter is not None else []
            logits = self._decode([tok, *draft], cancelled, every=bool(draft))  # type: ignore[assignment]
            if drafter is not None and draft:
                known = self._check(draft, logits, g)
                drafter.accepted(len(draft), len(known) - 1)
        # As one token at a time leaves it: every kept token evaluated but the last
        # (unless generation ended at an end-of-generation token, which is never kept).
        keep = len(prompt) + len(g.tokens) - (g.reason != "eog" and bool(g.tokens))
        if len(self._cached) > keep:
            self.rt.seq_rm(0, keep, -1)
            del self._cached[keep:]
        return g

    def _check(self, draft: list[int], rows: np.ndarray, g: _Generated) -> list[int]:
        """The draft tokens greedy decoding agrees with, then the token it chooses after
        them; the cells of the rest of the draft leave the KV cache."""
        best = rows.argmax(axis=1)
        n = 0
        while n < len(draft) and best[n] == draft[n]:
            n += 1
        g.passes += 1
        g.drafted += len(draft)
        g.accepted += n
        if n < len(draft):
            end = len(self._cached) - (len(draft) - n)
            self.rt.seq_rm(0, end, -1)
            del self._cached[end:]
        return [*draft[:n], int(best[n])]

    def close(self) -> None:
        try:
            self.idle(lambda: False)
        finally:
            if self._disk is not None:
                self._disk.close()
            self.rt.close()
