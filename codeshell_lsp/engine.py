"""The engine: one worker thread owns the backend; requests queue to it.

- Only the newest request per document is worth running: a newer one supersedes
  queued and running older ones, which end quickly with an empty result.
- Cancellation reaches running work through a flag the backend checks between
  ubatches (llama.cpp's abort callback) and between generated tokens.
- A completion cache answers repeated positions and typed-through suggestions
  without the model.
- Exact counters for ``codeshell/stats``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cachetools import LRUCache

from . import budget, postprocess
from .backends.base import Backend, Request
from .context import Cursor
from .errors import BackendError, Cancelled, CodeshellError, ModelError
from .log import get_logger
from .options import Settings

log = get_logger(__name__)

# Tokens the template itself adds around prefix and suffix, kept free in the context.
_TEMPLATE_SLACK = 8
_RECENT = 16  # suggestions remembered for typed-through matching
ANCHOR_LINES = 32  # the prefix window's start moves in steps of this many lines
SPECULATION_IDLE_S = 0.15  # idle time before precomputing the next suggestion


@dataclass
class Completion:
    """What the editor gets, with the counters ``complete --json`` prints."""

    text: str
    model: str = ""
    template: str = ""
    prompt_tokens: int = 0
    cached_tokens: int = 0
    evaluated_tokens: int = 0
    generated_tokens: int = 0
    timings_ms: dict[str, float] = field(default_factory=lambda: {"prompt": 0.0, "decode": 0.0, "total": 0.0})
    stop_reason: str = ""
    cache_hit: bool = False
    status: str = "ok"  # ok | superseded | cancelled | error | no-model
    error: str = ""  # with status "error": the message for the user

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Stats:
    requests: int = 0
    completionsServed: int = 0
    cancelled: int = 0
    tokensEvaluated: int = 0
    tokensReused: int = 0
    tokensGenerated: int = 0
    completionCacheHits: int = 0
    speculativeTokens: int = 0  # prompt tokens evaluated to precompute next suggestions
    model: str = ""


class Job:
    """One queued completion; ``future`` resolves to a Completion (never raises Cancelled)."""

    _ids = itertools.count(1)

    def __init__(self, key: str, cursor: Cursor, settings: Settings, speculative: bool = False) -> None:
        self.id = next(Job._ids)
        self.speculative = speculative
        self.key = key
        self.cursor = cursor
        self.settings = settings
        self.created = time.monotonic()
        self.future: Future[Completion] = Future()
        self._cancel = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        if not self._cancel.is_set():
            self.reason = reason
            self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


@dataclass(frozen=True)
class _Shown:
    prefix: str
    suffix: str
    text: str


class Engine:
    """Owns the backend through a single worker thread.

    ``load`` and ``submit`` may be called from any thread; the backend is only ever
    touched by the worker.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.stats = Stats()
        self._backend: Backend | None = None
        self._load_error: CodeshellError | None = None
        self._loaded = threading.Event()
        self._lock = threading.Condition()
        self._tasks: deque[Callable[[], None] | Job] = deque()
        self._running: Job | None = None
        self._closed = False
        self._cache: LRUCache[tuple, str] = LRUCache(maxsize=max(1, self.settings.cache.completion_cache_size))
        self._recent: deque[_Shown] = deque(maxlen=_RECENT)
        self._thread = threading.Thread(target=self._work, name="codeshell-engine", daemon=True)
        self._thread.start()

    # --- public API ----------------------------------------------------------------

    @classmethod
    def open(cls, model: str | Path | None, settings: Settings | None = None) -> "Engine":
        """An engine with its model loaded (raises the load error). For CLI and benchmarks."""
        engine = cls(settings)
        engine.load(model, engine.settings).result()
        return engine

    @property
    def backend(self) -> Backend | None:
        return self._backend

    def load(self, model: str | Path | None, settings: Settings) -> Future[Backend]:
        """(Re)load the model on the worker; queued completions wait behind the load."""
        from .backends.factory import make_backend

        fut: Future[Backend] = Future()
        self._loaded.clear()

        def task() -> None:
            try:
                if self._backend is not None:
                    self._backend.close()
                    self._backend = None
                backend = make_backend(model, settings)
            except CodeshellError as e:
                self._load_error = e
                fut.set_exception(e)
            except Exception as e:  # an unexpected failure still has to reach the user
                log.exception("loading the model failed")
                self._load_error = ModelError(f"loading the model failed: {type(e).__name__}: {e}")
                fut.set_exception(self._load_error)
            else:
                self._backend, self._load_error = backend, None
                self.stats.model = backend.model_name
                self._cache = LRUCache(maxsize=max(1, settings.cache.completion_cache_size))
                self._recent.clear()
                fut.set_result(backend)
            finally:
                self._loaded.set()

        with self._lock:
            self.settings = settings
            self._tasks.append(task)
            self._lock.notify()
        return fut

    def wait_loaded(self, timeout: float | None) -> bool:
        return self._loaded.wait(timeout)

    def submit(self, key: str, cursor: Cursor, settings: Settings | None = None) -> Job:
        """Queue a completion at ``cursor`` of document ``key``; supersedes older ones for ``key``."""
        job = Job(key, cursor, settings or self.settings)
        with self._lock:
            self.stats.requests += 1
            self._drop_speculation()
            leader = self._same_work(job)
            if leader is not None:
                # Completion and inline completion at one keystroke: one model run answers both.
                leader.future.add_done_callback(lambda f: self._follow(job, f.result()))
                return job
            for old in [t for t in self._tasks if isinstance(t, Job) and t.key == key]:
                self._tasks.remove(old)
                self._finish(old, Completion("", status="superseded"))
            if self._running is not None and self._running.key == key:
                self._running.cancel("superseded")
            self._tasks.append(job)
            self._lock.notify()
        return job

    def _drop_speculation(self) -> None:
        """A real request arrived: speculative work gives way at once."""
        for t in [t for t in self._tasks if isinstance(t, Job) and t.speculative]:
            self._tasks.remove(t)
        if self._running is not None and self._running.speculative:
            self._running.cancel("superseded")

    def _speculate(self, job: Job, text: str) -> None:
        """After showing ``text``, precompute the suggestion for the position after accepting it."""
        with self._lock:
            if self._tasks or self._closed:
                return
            cursor = Cursor(job.cursor.prefix + text, job.cursor.suffix)
            self._tasks.append(Job(job.key, cursor, job.settings, speculative=True))
            self._lock.notify()

    def _same_work(self, job: Job) -> Job | None:
        """A queued or running job for the same document, cursor and settings, if any."""
        candidates = [t for t in self._tasks if isinstance(t, Job) and not t.speculative]
        if self._running is not None and not self._running.speculative:
            candidates.append(self._running)
        for t in reversed(candidates):
            if t.key == job.key and not t.cancelled and t.settings == job.settings and t.cursor == job.cursor:
                return t
        return None

    def _follow(self, job: Job, result: Completion) -> None:
        """Answer a job that rode on another's model run (a cancelled leader means empty)."""
        if result.status in ("cancelled", "superseded") and not job.cancelled:
            result = Completion("", result.model, result.template, status="superseded")
        elif job.cancelled:
            result = Completion("", result.model, result.template, status=job.reason or "cancelled")
        with self._lock:
            self._finish(job, result)

    def cancel(self, job: Job, reason: str = "cancelled") -> None:
        """Cancel a queued or running job; its future resolves with status ``reason``."""
        with self._lock:
            if job in self._tasks:
                self._tasks.remove(job)
                self._finish(job, Completion("", status=reason))
                return
        job.cancel(reason)

    def complete_once(self, prefix: str, suffix: str, settings: Settings | None = None) -> Completion:
        """One completion, waited for: what the CLI and the benchmarks call."""
        if self._backend is None and self._load_error is not None:
            raise self._load_error
        job = self.submit("<once>", Cursor(prefix, suffix), settings)
        return job.future.result()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._running is not None:
                self._running.cancel("shutdown")
            for t in self._tasks:
                if isinstance(t, Job):
                    self._finish(t, Completion("", status="cancelled"))
            self._tasks.clear()
            self._lock.notify()
        self._thread.join(timeout=5)
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    # --- worker ----------------------------------------------------------------------

    def _finish(self, job: Job, result: Completion) -> None:
        if job.speculative:
            return
        if result.status in ("superseded", "cancelled", "load-timeout"):
            self.stats.cancelled += 1
        elif result.text:
            self.stats.completionsServed += 1
        if not job.future.done():
            job.future.set_result(result)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._tasks and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                task = self._tasks.popleft()
                if isinstance(task, Job):
                    self._running = task
            if isinstance(task, Job):
                try:
                    result = self._run(task)
                except Exception as e:
                    log.exception("completion %d failed", task.id)
                    result = Completion("", status="error", error=f"internal error: {type(e).__name__}: {e}")
                with self._lock:
                    self._running = None
                    self._finish(task, result)
            else:
                task()

    def _debounce(self, job: Job) -> None:
        delay = SPECULATION_IDLE_S if job.speculative else job.settings.completion.debounce_ms / 1000
        wait = delay - (time.monotonic() - job.created)
        if wait > 0:
            job._cancel.wait(wait)

    def _run(self, job: Job) -> Completion:
        self._debounce(job)
        if job.cancelled:
            return Completion("", status=job.reason or "cancelled")
        backend = self._backend
        if backend is None:
            return Completion("", status="no-model")
        s = job.settings
        c = s.completion
        t0 = time.perf_counter()
        window = prompt_window(job.cursor, s, backend)
        scope = postprocess.Scope.at(job.cursor.line_before, job.cursor.line_after, c.multiline)
        gen_key = (c.max_tokens, c.temperature, c.top_k, c.top_p, tuple(c.stop), c.multiline)
        cached = self._from_cache(window, gen_key, s)
        if cached is not None and job.speculative:
            return Completion(cached, status="ok")
        if cached is not None:
            self.stats.completionCacheHits += 1
            total_ms = (time.perf_counter() - t0) * 1000
            log.info("completion #%d %s: from the completion cache in %.1f ms, chars=%d", job.id, job.key, total_ms, len(cached))
            return Completion(
                cached, backend.model_name, backend.template_name, cache_hit=True,
                timings_ms={"prompt": 0.0, "decode": 0.0, "total": total_ms}, stop_reason="cache",
            )
        request = Request(
            prefix=window.prefix,
            suffix=window.suffix,
            max_tokens=c.max_tokens,
            temperature=c.temperature,
            top_k=c.top_k,
            top_p=c.top_p,
            stop=tuple(c.stop),
            reuse=s.cache.reuse,
        )
        try:
            raw = backend.complete(request, lambda text: _scope_stop(text, scope), lambda: job.cancelled)
        except Cancelled as e:
            if job.speculative:
                self.stats.speculativeTokens += e.evaluated
            else:
                self.stats.tokensEvaluated += e.evaluated
            return Completion("", backend.model_name, backend.template_name, status=job.reason or "cancelled")
        except BackendError as e:
            log.warning("completion #%d failed: %s", job.id, e)
            return Completion("", backend.model_name, backend.template_name, status="error", error=str(e))
        if job.speculative:
            self.stats.speculativeTokens += raw.evaluated_tokens
        else:
            self.stats.tokensEvaluated += raw.evaluated_tokens
            self.stats.tokensReused += raw.cached_tokens
            self.stats.tokensGenerated += raw.generated_tokens
        text = postprocess.clean(raw.text, job.cursor.suffix, scope)
        total_ms = (time.perf_counter() - t0) * 1000
        if s.cache.completion_cache_size > 0:
            self._cache[(window.prefix, window.suffix, gen_key)] = text
            if text:
                self._recent.appendleft(_Shown(window.prefix, window.suffix, text))
        if text and s.cache.speculative and s.cache.completion_cache_size > 0 and not job.speculative:
            self._speculate(job, text)
        log.info(
            "%s #%d %s: prompt=%d reused=%d evaluated=%d generated=%d prompt_ms=%.0f decode_ms=%.0f total_ms=%.0f stop=%s chars=%d",
            "speculation" if job.speculative else "completion", job.id, job.key, raw.prompt_tokens, raw.cached_tokens, raw.evaluated_tokens, raw.generated_tokens,
            raw.prompt_ms, raw.decode_ms, total_ms, raw.stop_reason, len(text),
        )
        return Completion(
            text=text,
            model=backend.model_name,
            template=backend.template_name,
            prompt_tokens=raw.prompt_tokens,
            cached_tokens=raw.cached_tokens,
            evaluated_tokens=raw.evaluated_tokens,
            generated_tokens=raw.generated_tokens,
            timings_ms={"prompt": raw.prompt_ms, "decode": raw.decode_ms, "total": total_ms},
            stop_reason=raw.stop_reason,
        )

    def _from_cache(self, window: budget.Window, gen_key: tuple, s: Settings) -> str | None:
        if s.cache.completion_cache_size <= 0:
            return None
        hit = self._cache.get((window.prefix, window.suffix, gen_key))
        if hit is not None:
            return hit
        # Typed-through: the user typed the first characters of a recent suggestion.
        for shown in self._recent:
            if shown.suffix != window.suffix or not window.prefix.startswith(shown.prefix):
                continue
            typed = window.prefix[len(shown.prefix) :]
            if typed and len(typed) < len(shown.text) and shown.text.startswith(typed):
                return shown.text[len(typed) :]
        return None


def prompt_window(cursor: Cursor, settings: Settings, backend: Backend) -> budget.Window:
    """The text around the cursor that goes into the prompt (the budget, within the context)."""
    c = settings.completion
    total = min(c.prompt_tokens, getattr(backend, "context_length", 1 << 30) - c.max_tokens - _TEMPLATE_SLACK)
    # Characters beyond any plausible token budget never reach the per-line counting. The
    # cut is on a coarse grid so the window's line anchors stay put while the user types.
    span = max(total, 16) * 64
    start = max(0, len(cursor.prefix) - span)
    start -= start % (span // 4)
    return budget.fit(
        cursor.prefix[start:], cursor.suffix[:span], backend.count_tokens, max(total, 16), c.suffix_ratio,
        anchor_lines=ANCHOR_LINES,
    )


def _scope_stop(text: str, scope: postprocess.Scope) -> int | None:
    cut, ended = postprocess.cut(text, scope)
    return len(cut) if ended else None
