"""The one interface every completion backend implements, what it is given and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

from .. import fim

if TYPE_CHECKING:
    from ..postprocess import Policy
    from ..prompt import Prompt


@dataclass(frozen=True)
class Generation:
    """How to generate: sampling and limits, and whether KV reuse is allowed."""

    max_tokens: int = 64
    temperature: float = 0.0
    top_k: int = 10
    top_p: float = 0.95
    seed: int = 0
    draft_tokens: int = 0  # greedy only: prompt-lookup drafts of at most this many tokens, checked a batch at a time
    reuse: bool = True
    document: str = ""  # whose KV to use (the local backend keeps it per document)


@dataclass
class Result:
    """What a backend generated, with exact counters."""

    text: str
    prompt_tokens: int = 0
    cached_tokens: int = 0  # reused from the KV cache, not evaluated
    evaluated_tokens: int = 0
    generated_tokens: int = 0
    prompt_ms: float = 0.0
    decode_ms: float = 0.0
    stop_reason: str = ""  # eog | length | one of Policy.stop_at's reasons
    extra_evaluated: int = 0  # of the evaluated / reused prompt tokens, those of extra context (other files)
    extra_reused: int = 0
    draft_passes: int = 0  # forward passes that checked a draft (local backend, completion.draftTokens)
    drafted_tokens: int = 0  # draft tokens checked
    draft_accepted: int = 0  # of them, those greedy decoding agreed with (generated without a pass of their own)
    timings: dict[str, float] = field(default_factory=dict)


IsCancelled = Callable[[], bool]


class Backend(Protocol):
    model_name: str
    template_name: str
    template_note: str
    context_length: int  # tokens a prompt plus its completion may take
    fim: fim.Template | fim.Family | None  # the prompt form it takes (see prompt.py)

    def prepare(self, cancelled: IsCancelled) -> None:
        """Learn what the prompt needs before it is built (e.g. the served model's name)."""

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` costs in a prompt (exact for local models, estimated for remote)."""

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` without BOS (called only when ``fim`` is a Template)."""

    def complete(self, prompt: Prompt, gen: Generation, policy: Policy, cancelled: IsCancelled) -> Result:
        """Generate the middle, asking ``policy.stop_at`` after each piece whether to stop;
        raise ``errors.Cancelled`` when ``cancelled()`` turns true."""

    def close(self) -> None: ...
