"""A thin owner of one llama.cpp model + context through llama-cpp-python's C bindings.

The ``Llama`` class hides what fast completion needs (two KV sequences in a unified
cache, sequence shifts, an abort callback), so this talks to ``llama_cpp`` directly.
Not thread-safe: one thread uses it (the engine's worker).
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Callable, Sequence

import llama_cpp
import numpy as np

from ..errors import BackendError, Cancelled, ModelLoadError
from ..log import get_logger, llama_verbose

log = get_logger(__name__)

LLAMA_CPP_VERSION = llama_cpp.__version__  # saved KV states are only read back by the same version

_backend_lock = threading.Lock()
_backend_ready = False


@llama_cpp.llama_log_callback
def _llama_log(level: int, text: bytes, _data: ctypes.c_void_p) -> None:
    if llama_verbose() and text:
        log.debug("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())
    _last_lines.append(text.decode("utf-8", "replace").rstrip() if text else "")
    del _last_lines[:-20]


_last_lines: list[str] = []


def _init_backend() -> None:
    global _backend_ready
    with _backend_lock:
        if not _backend_ready:
            llama_cpp.llama_log_set(_llama_log, ctypes.c_void_p())
            llama_cpp.llama_backend_init()
            _backend_ready = True


class KVCacheFull(BackendError):
    """llama_decode found no free cells for a batch."""


# KV cache element types (model.kvType) and their bytes per element (q8_0: 34-byte blocks of 32).
KV_TYPES = {"f16": (llama_cpp.GGML_TYPE_F16, 2.0), "q8_0": (llama_cpp.GGML_TYPE_Q8_0, 34 / 32), "f32": (llama_cpp.GGML_TYPE_F32, 4.0)}
_QUANT_BLOCK = 32


def default_threads() -> int:
    # Physical cores, roughly: llama.cpp threads spin, and hyperthreads or a busy core
    # make every token wait for the slowest thread.
    return max(1, min((os.cpu_count() or 2) // 2, 8))


class LlamaRuntime:
    """One model and one context with ``n_seq`` sequences over a unified KV cache."""

    def __init__(
        self,
        path: Path,
        n_ctx: int = 4096,
        threads: int = 0,
        gpu_layers: int = 0,
        n_batch: int = 512,
        n_seq: int = 2,
        kv_type: str = "f16",
    ) -> None:
        _init_backend()
        self.path = path
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = gpu_layers
        del _last_lines[:]
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
        if not model:
            detail = next((line for line in reversed(_last_lines) if "error" in line.lower() or "unknown" in line.lower()), "")
            raise ModelLoadError(f"llama.cpp could not load {path}" + (f": {detail}" if detail else ""))
        self.model = model
        self.vocab = llama_cpp.llama_model_get_vocab(model)
        n_ctx_train = llama_cpp.llama_model_n_ctx_train(model)
        self.n_ctx = min(n_ctx, n_ctx_train) if n_ctx_train > 0 else n_ctx
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = self.n_ctx
        cparams.n_batch = n_batch
        cparams.n_ubatch = n_batch
        cparams.n_seq_max = n_seq
        cparams.kv_unified = True
        threads = threads or default_threads()
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.no_perf = True
        self.kv_type = self._usable_kv_type(kv_type)
        cparams.type_k = cparams.type_v = KV_TYPES[self.kv_type][0]
        self._abort_flag: Callable[[], bool] | None = None
        self._abort_cb = llama_cpp.ggml_abort_callback(self._should_abort)
        cparams.abort_callback = self._abort_cb
        cparams.abort_callback_data = None
        ctx = llama_cpp.llama_init_from_model(model, cparams)
        if not ctx:
            llama_cpp.llama_model_free(model)
            raise ModelLoadError(f"llama.cpp could not create a context of {self.n_ctx} tokens for {path}")
        self.ctx = ctx
        self.mem = llama_cpp.llama_get_memory(ctx)
        self.n_batch = n_batch
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.can_shift = bool(llama_cpp.llama_memory_can_shift(self.mem))
        # Sliding-window layers (Gemma 3): see LocalBackend on what cannot move there.
        self.n_swa = int(llama_cpp.llama_model_n_swa(model))
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._piece_cache: dict[int, bytes] = {}

    def _usable_kv_type(self, wanted: str) -> str:
        """``wanted``, or f16 where llama.cpp cannot use it: a quantized cache needs head
        sizes in whole quantization blocks (llama.cpp refuses to create the context otherwise)."""
        if wanted not in KV_TYPES:
            raise ModelLoadError(f"unknown KV cache type {wanted!r}; choose one of {', '.join(KV_TYPES)}")
        if wanted == "q8_0" and self.head_dim % _QUANT_BLOCK:
            log.warning("model.kvType q8_0 needs a head size divisible by %d (this model's is %d): using f16", _QUANT_BLOCK, self.head_dim)
            return "f16"
        return wanted

    # --- model facts -------------------------------------------------------------

    @property
    def head_dim(self) -> int:
        arch = self.meta("general.architecture") or ""
        explicit = self.meta(f"{arch}.attention.key_length")
        return int(explicit) if explicit else llama_cpp.llama_model_n_embd(self.model) // max(1, llama_cpp.llama_model_n_head(self.model))

    def kv_bytes_per_token(self, kv_type: str | None = None) -> int:
        """Bytes one token takes in the KV cache (keys and values of every layer)."""
        m = self.model
        elements = 2 * llama_cpp.llama_model_n_layer(m) * llama_cpp.llama_model_n_head_kv(m) * self.head_dim
        return int(elements * KV_TYPES[kv_type or self.kv_type][1])

    def meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(512)
        n = llama_cpp.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8", "replace") if n >= 0 else None

    @property
    def bos(self) -> int | None:
        tok = llama_cpp.llama_vocab_bos(self.vocab)
        return tok if tok >= 0 else None

    def is_eog(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    def eog_ids(self) -> list[int]:
        return [t for t in range(self.n_vocab) if self.is_eog(t)]

    def vocab_texts(self) -> dict[str, int]:
        """Token text -> id for the whole vocabulary (FIM detection looks up a few texts)."""
        out: dict[str, int] = {}
        for t in range(self.n_vocab):
            raw = llama_cpp.llama_vocab_get_text(self.vocab, t)
            if raw:
                out.setdefault(raw.decode("utf-8", "replace"), t)
        return out

    # --- text <-> tokens ---------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        """Plain text to tokens: no BOS, special-token texts are not parsed (user text stays text)."""
        # Lone surrogates (possible in JSON-escaped editor text) become U+FFFD, not invalid UTF-8.
        data = text.encode("utf-8", "replace")
        if not data:
            return []
        cap = len(data) + 16
        buf = (llama_cpp.llama_token * cap)()
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, cap, False, False)
        if n < 0:
            cap = -n
            buf = (llama_cpp.llama_token * cap)()
            n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, cap, False, False)
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        """Bytes of one token; special tokens render as nothing."""
        cached = self._piece_cache.get(token)
        if cached is not None:
            return cached
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        out = buf.raw[:n]
        self._piece_cache[token] = out
        return out

    # --- KV cache ----------------------------------------------------------------

    def seq_rm(self, seq: int, p0: int, p1: int = -1) -> None:
        llama_cpp.llama_memory_seq_rm(self.mem, seq, p0, p1)

    def seq_cp(self, src: int, dst: int, p0: int, p1: int) -> None:
        llama_cpp.llama_memory_seq_cp(self.mem, src, dst, p0, p1)

    def seq_add(self, seq: int, p0: int, p1: int, delta: int) -> None:
        llama_cpp.llama_memory_seq_add(self.mem, seq, p0, p1, delta)

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self.mem, True)

    def seq_pos_max(self, seq: int) -> int:
        """The highest position ``seq`` holds (-1 when empty)."""
        return int(llama_cpp.llama_memory_seq_pos_max(self.mem, seq))

    def seq_state(self, seq: int) -> bytes:
        """The cells of ``seq`` (positions and K/V data) in llama.cpp's per-sequence state format."""
        n = llama_cpp.llama_state_seq_get_size(self.ctx, seq)
        buf = (ctypes.c_uint8 * n)()
        got = llama_cpp.llama_state_seq_get_data(self.ctx, buf, n, seq)
        if got != n:
            raise BackendError(f"llama.cpp wrote {got} of {n} bytes of sequence {seq}'s state")
        return bytes(buf)

    def set_seq_state(self, seq: int, data: bytes) -> bool:
        """Load ``data`` (from ``seq_state``) into the empty sequence ``seq``; False when
        llama.cpp refuses it (wrong model or format, no room), leaving ``seq`` empty."""
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        ok = llama_cpp.llama_state_seq_set_data(self.ctx, buf, len(data), seq) == len(data)
        if not ok:
            self.seq_rm(seq, -1, -1)
        return ok

    # --- evaluation --------------------------------------------------------------

    def _should_abort(self, _data: ctypes.c_void_p) -> bool:
        flag = self._abort_flag
        return bool(flag and flag())

    def decode(
        self,
        tokens: Sequence[int],
        start_pos: int,
        seq: int = 0,
        cancelled: Callable[[], bool] | None = None,
        on_chunk: Callable[[int], None] | None = None,
        every: bool = False,
    ) -> np.ndarray | None:
        """Evaluate ``tokens`` at positions ``start_pos``... in ``seq``; returns the last logits
        (``every``: the logits of every token, one row each, for checking a draft; at most
        ``n_batch`` tokens).

        Runs in chunks of ``n_batch``; after each chunk ``on_chunk(n_done)`` reports
        progress so the caller's view of the cache stays exact. A cancel raises
        ``Cancelled`` between chunks or, through the abort callback, inside one; cells
        of an unfinished chunk are removed.
        """
        if every and len(tokens) > self.n_batch:
            raise ValueError(f"logits of every token need one batch: {len(tokens)} tokens, batch {self.n_batch}")
        batch = self._batch
        done = 0
        logits = None
        self._abort_flag = cancelled
        try:
            while done < len(tokens):
                if cancelled and cancelled():
                    raise Cancelled()
                chunk = tokens[done : done + self.n_batch]
                batch.n_tokens = len(chunk)
                for i, tok in enumerate(chunk):
                    batch.token[i] = tok
                    batch.pos[i] = start_pos + done + i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = seq
                    batch.logits[i] = every
                last = done + len(chunk) == len(tokens)
                batch.logits[len(chunk) - 1] = last
                rc = llama_cpp.llama_decode(self.ctx, batch)
                if rc != 0:
                    self.seq_rm(seq, start_pos + done, -1)
                    if rc == 2:
                        raise Cancelled()
                    if rc == 1:
                        raise KVCacheFull(f"no room in the KV cache for {len(chunk)} tokens")
                    raise BackendError(f"llama.cpp could not evaluate the prompt (llama_decode status {rc})")
                done += len(chunk)
                if on_chunk:
                    on_chunk(done)
                if last and every:
                    ptr = llama_cpp.llama_get_logits(self.ctx)
                    logits = np.ctypeslib.as_array(ptr, shape=(len(chunk), self.n_vocab)).copy()
                elif last:
                    ptr = llama_cpp.llama_get_logits_ith(self.ctx, len(chunk) - 1)
                    logits = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()
        finally:
            self._abort_flag = None
        return logits

    def close(self) -> None:
        if getattr(self, "_batch", None) is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        if getattr(self, "ctx", None):
            llama_cpp.llama_free(self.ctx)
            self.ctx = None
        if getattr(self, "model", None):
            llama_cpp.llama_model_free(self.model)
            self.model = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: ctypes may be gone; nothing to report to
            pass
