"""The engine: one worker thread owns the backend; requests queue to it.

- Only the newest request per document is worth running: a newer one supersedes
  queued and running older ones, which end quickly with an empty result.
- Cancellation reaches running work through a flag the backend checks between
  ubatches (llama.cpp's abort callback) and between generated tokens.
- One completion passes prompt (``prompt.select``, then ``assemble_selection`` on a cache miss) -> backend -> postprocess
  (``Policy``: the stop policy during generation, then the clean-up chain).
- A completion cache answers repeated positions and typed-through suggestions
  without the model; after a shown suggestion, the next one is precomputed while idle.
- Exact counters for ``codeshell/stats``.
"""

from __future__ import annotations

import enum
import itertools
import threading
import time
from collections import deque
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import fim, prompt
from .backends.base import Backend, Generation, Result
from .completion_cache import CompletionCache
from .context import Cursor
from .extra_context import Extra
from .foreground import FOREGROUND
from .debounce import Debounce
from .errors import BackendError, Cancelled, CodeshellError, ModelError
from .log import get_logger
from .options import CompletionSettings, Settings
from .postprocess import Policy
from .stats import Stats

log = get_logger(__name__)

SPECULATION_IDLE_S = 0.15  # idle time before precomputing the next suggestion
IDLE_SAVE_S = 2.0  # idle time after work before the backend may save its state (KV snapshots)

# Why generation ends besides a postprocessing filter stopping it early.
_GENERATION_ENDS = ("eog", "length", "stop", "scope")

BackendFactory = Callable[["str | Path | None", Settings], Backend]


class Status(str, enum.Enum):
    OK = "ok"
    SUPERSEDED = "superseded"  # a newer request for the same document took over
    CANCELLED = "cancelled"  # $/cancelRequest, or the engine shut down
    LOAD_TIMEOUT = "load-timeout"  # the model was still loading after completion.loadTimeoutMs
    ERROR = "error"  # the backend failed; ``Completion.error`` says why
    NO_MODEL = "no-model"  # no model loaded (its load failed)

    @property
    def dropped(self) -> bool:
        """Ended without running to completion (counted as cancelled)."""
        return self in (Status.SUPERSEDED, Status.CANCELLED, Status.LOAD_TIMEOUT)


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
    status: Status = Status.OK
    error: str = ""  # with Status.ERROR: the message for the user
    filtered: tuple[str, ...] = ()  # the postprocessing filters that changed the model's text

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["status"] = self.status.value
        return out


class Job:
    """One queued completion; ``future`` resolves to a Completion (never raises Cancelled)."""

    _ids = itertools.count(1)

    def __init__(
        self, key: str, cursor: Cursor, settings: Settings, language: str = "", speculative: bool = False,
        extra: Extra | None = None,
    ) -> None:
        self.id = next(Job._ids)
        self.speculative = speculative
        self.key = key
        self.cursor = cursor
        self.settings = settings
        self.language = language
        self.extra = extra  # other files' chunks for the prompt (extra_context)
        self.created = time.monotonic()
        self.future: Future[Completion] = Future()
        self._cancel = threading.Event()
        self.reason = Status.CANCELLED

    def cancel(self, reason: Status = Status.CANCELLED) -> None:
        if not self._cancel.is_set():
            self.reason = reason
            self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking at once when cancelled."""
        if seconds > 0:
            self._cancel.wait(seconds)

    def same_work(self, other: Job) -> bool:
        return (self.key, self.cursor, self.settings, self.language, self.extra) == (
            other.key, other.cursor, other.settings, other.language, other.extra
        )


def generation(s: Settings, document: str = "") -> Generation:
    c = s.completion
    return Generation(
        c.max_tokens, c.temperature, c.top_k, c.top_p, draft_tokens=c.draft_tokens, reuse=s.cache.reuse, document=document
    )


def policy(job: Job, backend: Backend) -> Policy:
    """The postprocessing policy of one request: stop strings, scope, filters."""
    c = job.settings.completion
    # Servers fed a text prompt may spell the family's end markers as text.
    family_stops = backend.fim.stops if isinstance(backend.fim, fim.Family) else ()
    return Policy(
        prefix=job.cursor.prefix,
        suffix=job.cursor.suffix,
        language=job.language,
        multiline=c.multiline,
        stops=tuple(dict.fromkeys((*c.stop, *family_stops))),
        filters=c.filters,
    )


def _gen_key(c: CompletionSettings) -> tuple[Any, ...]:
    """What besides the prompt decides the completion (the completion cache's key)."""
    return (c.max_tokens, c.temperature, c.top_k, c.top_p, tuple(c.stop), c.multiline, c.filters)


class Engine:
    """Owns the backend through a single worker thread.

    ``load`` and ``submit`` may be called from any thread; the backend is only ever
    touched by the worker.
    """

    def __init__(self, settings: Settings | None = None, factory: BackendFactory | None = None) -> None:
        """``factory`` builds the backend from (model, settings); by default the one
        ``backend.kind`` names (tests hand in a fake)."""
        self.settings = settings or Settings()
        self._factory = factory
        self.stats = Stats()
        self._backend: Backend | None = None
        self._load_error: CodeshellError | None = None
        self._loaded = threading.Event()
        self._lock = threading.Condition()
        self._tasks: deque[Callable[[], None] | Job] = deque()
        self._running: Job | None = None
        self.last: Job | None = None  # the newest request (what an idle prewarm continues)
        self._closed = False
        self.cache = CompletionCache(self.settings.cache.completion_cache_size)
        self.debounce = Debounce()
        self._thread = threading.Thread(target=self._work, name="codeshell-engine", daemon=True)
        self._thread.start()

    # --- public API ----------------------------------------------------------------

    @classmethod
    def open(cls, model: str | Path | None, settings: Settings | None = None, factory: BackendFactory | None = None) -> "Engine":
        """An engine with its model loaded (raises the load error). For CLI and benchmarks."""
        engine = cls(settings, factory)
        engine.load(model, engine.settings).result()
        return engine

    @property
    def backend(self) -> Backend | None:
        return self._backend

    def load(self, model: str | Path | None, settings: Settings) -> Future[Backend]:
        """(Re)load the model on the worker; queued completions wait behind the load."""
        if self._factory is None:
            from .backends.factory import make_backend

            self._factory = make_backend
        make = self._factory
        fut: Future[Backend] = Future()
        self._loaded.clear()

        def task() -> None:
            try:
                if self._backend is not None:
                    self._backend.close()
                    self._backend = None
                backend = make(model, settings)
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
                self.cache = CompletionCache(settings.cache.completion_cache_size)
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

    def submit(
        self, key: str, cursor: Cursor, settings: Settings | None = None, language: str = "", extra: Extra | None = None
    ) -> Job:
        """Queue a completion at ``cursor`` of document ``key``; supersedes older ones for ``key``."""
        job = Job(key, cursor, settings or self.settings, language, extra=extra)
        with self._lock:
            self.stats.requests += 1
            self.last = job
            self._drop_speculation()
            leader = self._same_work(job)
            if leader is not None:
                # Completion and inline completion at one keystroke: one model run answers both.
                leader.future.add_done_callback(lambda f: self._follow(job, f))
                return job
            for old in [t for t in self._tasks if isinstance(t, Job) and t.key == key]:
                self._tasks.remove(old)
                self._finish(old, Completion("", status=Status.SUPERSEDED))
            if self._running is not None and self._running.key == key:
                self._running.cancel(Status.SUPERSEDED)
            self._tasks.append(job)
            self._lock.notify()
        return job

    def keystroke(self, now: float | None = None) -> None:
        """A document changed (the typing rhythm, for ``completion.debounceMs: "auto"``)."""
        self.debounce.observe_keystroke(time.monotonic() if now is None else now)

    def cancel(self, job: Job, reason: Status = Status.CANCELLED) -> None:
        """Cancel a queued or running job; its future resolves with status ``reason``."""
        with self._lock:
            if job in self._tasks:
                self._tasks.remove(job)
                self._finish(job, Completion("", status=reason))
                return
        job.cancel(reason)

    def complete_once(
        self, prefix: str, suffix: str, settings: Settings | None = None, language: str = "", extra: Extra | None = None
    ) -> Completion:
        """One completion, waited for: what the CLI and the benchmarks call."""
        if self._backend is None and self._load_error is not None:
            raise self._load_error
        job = self.submit("<once>", Cursor(prefix, suffix), settings, language, extra)
        return job.future.result()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._running is not None:
                self._running.cancel()
            for t in self._tasks:
                if isinstance(t, Job):
                    self._finish(t, Completion("", status=Status.CANCELLED))
            self._tasks.clear()
            self._lock.notify()
        self._thread.join(timeout=5)
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    # --- the queue (callers hold the lock) ----------------------------------------------

    def _drop_speculation(self) -> None:
        """A real request arrived: speculative work gives way at once."""
        for t in [t for t in self._tasks if isinstance(t, Job) and t.speculative]:
            self._tasks.remove(t)
        if self._running is not None and self._running.speculative:
            self._running.cancel(Status.SUPERSEDED)

    def _same_work(self, job: Job) -> Job | None:
        """A queued or running job for the same document, cursor and settings, if any."""
        candidates = [t for t in self._tasks if isinstance(t, Job) and not t.speculative]
        if self._running is not None and not self._running.speculative:
            candidates.append(self._running)
        for t in reversed(candidates):
            if not t.cancelled and t.same_work(job):
                return t
        return None

    def _follow(self, job: Job, leader: Future[Completion]) -> None:
        """Answer a job that rode on another's model run. A leader whose future was
        cancelled (its request cancelled in the editor) leaves the work to the follower,
        which then queues as a job of its own; a leader cancelled or superseded inside the
        engine means an empty answer."""
        with self._lock:
            if leader.cancelled():
                if not job.cancelled and not self._closed:
                    self._tasks.append(job)
                    self._lock.notify()
                    return
                result = Completion("", status=job.reason if job.cancelled else Status.CANCELLED)
            else:
                result = leader.result()
                if job.cancelled:
                    result = Completion("", result.model, result.template, status=job.reason)
                elif result.status in (Status.CANCELLED, Status.SUPERSEDED):
                    result = Completion("", result.model, result.template, status=Status.SUPERSEDED)
            self._finish(job, result)

    def _finish(self, job: Job, result: Completion) -> None:
        if job.speculative:
            return
        if result.status.dropped:
            self.stats.cancelled += 1
        elif result.text:
            self.stats.completions_served += 1
        if not job.future.done():
            job.future.set_result(result)

    def _speculate(self, job: Job, text: str) -> None:
        """After showing ``text``, precompute the suggestion for the position after accepting it."""
        s = job.settings
        if job.speculative or not text or not s.cache.speculative or s.cache.completion_cache_size <= 0:
            return
        with self._lock:
            if self._tasks or self._closed:
                return
            cursor = Cursor(job.cursor.prefix + text, job.cursor.suffix)
            self._tasks.append(Job(job.key, cursor, s, job.language, speculative=True, extra=job.extra))
            self._lock.notify()

    def prewarm(self, job: Job, extra: Extra | None) -> None:
        """The extra context for ``job``'s document changed (another document opened or
        closed): evaluate the new set while idle, as a speculative run at ``job``'s cursor,
        so the next keystroke finds it in the KV cache."""
        s = job.settings
        if not s.cache.speculative:
            return
        with self._lock:
            busy = [t for t in (*self._tasks, self._running) if t is not None]
            if self._closed or any(not (isinstance(t, Job) and t.speculative) for t in busy):
                return  # real work comes first; it will evaluate the new set itself
            self._tasks.append(Job(job.key, job.cursor, s, job.language, speculative=True, extra=extra))
            self._lock.notify()

    # --- the worker ----------------------------------------------------------------------

    def _work(self) -> None:
        worked, idle_task = False, self._idle
        while True:
            with self._lock:
                idle = False
                while not self._tasks and not self._closed and not idle:
                    idle = not self._lock.wait(IDLE_SAVE_S if worked else None)
                if self._closed:
                    return
                task = self._tasks.popleft() if self._tasks else idle_task
                if isinstance(task, Job):
                    self._running = task
            worked = task is not idle_task
            if not isinstance(task, Job):
                task()
                continue
            try:
                with FOREGROUND.running() if not task.speculative else nullcontext():  # speculation can wait
                    result = self._run(task)
            except Exception as e:
                log.exception("completion %d failed", task.id)
                result = Completion("", status=Status.ERROR, error=f"internal error: {type(e).__name__}: {e}")
            with self._lock:
                self._running = None
                self._finish(task, result)

    def _idle(self) -> None:
        """Idle after work: the backend may save state, giving way to a new request."""
        save = getattr(self._backend, "idle", None)
        try:
            if save is not None:
                save(lambda: bool(self._tasks) or self._closed)
        except Exception:  # saving is an optimisation: the worker must survive it
            log.exception("the backend's idle work failed")

    def _run(self, job: Job) -> Completion:
        job.wait(self._delay(job) - (time.monotonic() - job.created))
        if job.cancelled:
            return Completion("", status=job.reason)
        backend = self._backend
        if backend is None:
            return Completion("", status=Status.NO_MODEL)
        t0 = time.perf_counter()
        try:
            backend.prepare(lambda: job.cancelled)
            sel = prompt.select(job.cursor, job.settings.completion, backend, job.extra)
        except Cancelled:
            return Completion("", backend.model_name, backend.template_name, status=job.reason)
        except BackendError as e:
            return self._failed(job, backend, e)
        gen_key = (_gen_key(job.settings.completion), sel.chunks)
        cached = self.cache.get(*sel.key, gen_key)
        if cached is not None:
            return self._from_cache(job, backend, cached, t0)
        p = prompt.assemble_selection(sel, backend)
        rules = policy(job, backend)
        if not job.speculative:
            self.stats.model_runs += 1
        try:
            raw = backend.complete(p, generation(job.settings, job.key), rules, lambda: job.cancelled)
        except Cancelled as e:
            self.stats.count_cancelled_run(e.evaluated, job.speculative)
            return Completion("", backend.model_name, backend.template_name, status=job.reason)
        except BackendError as e:
            return self._failed(job, backend, e)
        self.stats.count_run(raw, job.speculative)
        if not job.speculative:
            self.debounce.observe_latency((time.perf_counter() - t0) * 1000)
        cleaned = rules.finish(p.middle(raw.text))
        # A filter that stopped generation early (repetition …) fired as much as one in finish.
        fired = tuple(dict.fromkeys(
            ((raw.stop_reason,) if raw.stop_reason not in _GENERATION_ENDS else ()) + cleaned.filtered
        ))
        if not job.speculative:
            self.stats.filtered.update(fired)
        if fired:
            log.debug("completion #%d: filtered by %s: %r -> %r", job.id, ", ".join(fired), raw.text, cleaned.text)
        self.cache.put(*sel.key, gen_key, cleaned.text)
        self._speculate(job, cleaned.text)
        return self._answer(job, backend, raw, cleaned.text, fired, t0)

    def _delay(self, job: Job) -> float:
        """Seconds to wait after the request came, for newer keystrokes to supersede it."""
        if job.speculative:
            return SPECULATION_IDLE_S
        ms = job.settings.completion.debounce_ms
        return self.debounce.delay_s() if ms == "auto" else ms / 1000

    def _failed(self, job: Job, backend: Backend, e: BackendError) -> Completion:
        log.warning("completion #%d failed: %s", job.id, e)
        return Completion("", backend.model_name, backend.template_name, status=Status.ERROR, error=str(e))

    def _from_cache(self, job: Job, backend: Backend, text: str, t0: float) -> Completion:
        if job.speculative:
            return Completion(text)
        self.stats.completion_cache_hits += 1
        total_ms = (time.perf_counter() - t0) * 1000
        log.info("completion #%d %s: from the completion cache in %.1f ms, chars=%d", job.id, job.key, total_ms, len(text))
        return Completion(
            text, backend.model_name, backend.template_name, cache_hit=True,
            timings_ms={"prompt": 0.0, "decode": 0.0, "total": total_ms}, stop_reason="cache",
        )

    def _answer(self, job: Job, backend: Backend, raw: Result, text: str, filtered: tuple[str, ...], t0: float) -> Completion:
        total_ms = (time.perf_counter() - t0) * 1000
        log.info(
            "%s #%d %s: prompt=%d reused=%d evaluated=%d generated=%d prompt_ms=%.0f decode_ms=%.0f total_ms=%.0f stop=%s chars=%d",
            "speculation" if job.speculative else "completion", job.id, job.key, raw.prompt_tokens, raw.cached_tokens,
            raw.evaluated_tokens, raw.generated_tokens, raw.prompt_ms, raw.decode_ms, total_ms, raw.stop_reason, len(text),
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
            filtered=filtered,
        )
