"""A backend without a model: deterministic answers, controllable delays, a record of calls.

It takes prompts in the ``None`` form (window text, as llama-server's /infill does), so
the engine's whole path (prompt, policy, cache, speculation, stats) runs in milliseconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from codeshell_lsp.backends.base import Generation, IsCancelled, Result
from codeshell_lsp.errors import BackendError, Cancelled
from codeshell_lsp.prompt import Prompt


@dataclass
class Call:
    prompt: Prompt
    gen: Generation
    cancelled: bool = False
    stop_reason: str = ""


@dataclass
class FakeBackend:
    """``answer(prefix, suffix)`` gives the raw completion; it streams one character per
    ``token_s`` seconds after ``prompt_s`` seconds of "prompt evaluation"."""

    answer: Callable[[str, str], str] = lambda prefix, suffix: "a + b"
    prompt_s: float = 0.0
    token_s: float = 0.0
    fail: str = ""  # raise BackendError(fail) when set
    model_name: str = "fake"
    template_name: str = "server"
    template_note: str = "fake backend"
    context_length: int = 4096
    fim: None = None
    calls: list[Call] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    closed: bool = False

    def prepare(self, cancelled: IsCancelled) -> None:
        pass

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + text.count("\n")

    def tokenize(self, text: str) -> list[int]:
        raise NotImplementedError

    def complete(self, prompt: Prompt, gen: Generation, policy, cancelled: IsCancelled) -> Result:
        call = Call(prompt, gen)
        self.calls.append(call)
        self.started.set()
        if self.fail:
            raise BackendError(self.fail)
        n_prompt = self.count_tokens(prompt.prefix + prompt.suffix)
        if _sleep(self.prompt_s, cancelled):
            call.cancelled = True
            raise Cancelled(evaluated=n_prompt // 2)
        text, reason = "", "eog"
        for i, ch in enumerate(self.answer(prompt.prefix, prompt.suffix)[: gen.max_tokens]):
            if _sleep(self.token_s, cancelled):
                call.cancelled = True
                raise Cancelled(evaluated=n_prompt)
            text += ch
            stop = policy.stop_at(text)
            if stop is not None:
                text, reason = text[: stop[0]], stop[1]
                break
        call.stop_reason = reason
        return Result(text, prompt_tokens=n_prompt, evaluated_tokens=n_prompt, generated_tokens=len(text), stop_reason=reason)

    def close(self) -> None:
        self.closed = True


def _sleep(seconds: float, cancelled: IsCancelled) -> bool:
    """Sleep in small steps; True as soon as ``cancelled()`` turns true."""
    end = time.monotonic() + seconds
    while True:
        if cancelled():
            return True
        left = end - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.002))
