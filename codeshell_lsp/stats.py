"""Exact counters for ``codeshell/stats`` (snake_case here; the server turns them into camelCase)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .backends.base import Result


@dataclass
class Stats:
    requests: int = 0
    model_runs: int = 0  # requests that reached the model (not answered by cache, debounce or supersede first)
    completions_served: int = 0
    cancelled: int = 0
    tokens_evaluated: int = 0
    tokens_reused: int = 0
    tokens_generated: int = 0
    completion_cache_hits: int = 0
    speculative_tokens: int = 0  # prompt tokens evaluated to precompute next suggestions
    extra_tokens_evaluated: int = 0  # of tokens_evaluated / tokens_reused: extra context (other files)
    extra_tokens_reused: int = 0
    draft_passes: int = 0  # of tokens_generated: forward passes that checked a prompt-lookup draft
    drafted_tokens: int = 0
    draft_accepted: int = 0
    filtered: Counter[str] = field(default_factory=Counter)  # postprocessing filters that changed a completion, by reason
    shown: int = 0  # what the editor reports (codeshell/didShowCompletion …)
    accepted: int = 0
    partially_accepted: int = 0
    accepted_chars: int = 0
    model: str = ""

    def count_run(self, result: Result, speculative: bool) -> None:
        """A finished model run: what it evaluated, reused and generated."""
        if speculative:
            self.speculative_tokens += result.evaluated_tokens
            return
        self.tokens_evaluated += result.evaluated_tokens
        self.tokens_reused += result.cached_tokens
        self.tokens_generated += result.generated_tokens
        self.extra_tokens_evaluated += result.extra_evaluated
        self.extra_tokens_reused += result.extra_reused
        self.draft_passes += result.draft_passes
        self.drafted_tokens += result.drafted_tokens
        self.draft_accepted += result.draft_accepted

    def count_cancelled_run(self, evaluated: int, speculative: bool) -> None:
        if speculative:
            self.speculative_tokens += evaluated
        else:
            self.tokens_evaluated += evaluated

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["filtered"] = dict(self.filtered)
        return out
