"""The one interface every completion backend implements, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol


@dataclass(frozen=True)
class Request:
    """One completion to compute: the (budget-cut) text around the cursor and how to generate."""

    prefix: str
    suffix: str
    max_tokens: int = 64
    temperature: float = 0.0
    top_k: int = 10
    top_p: float = 0.95
    stop: tuple[str, ...] = ()
    reuse: bool = True
    seed: int = 0
    extra: tuple[tuple[str, str], ...] = ()  # (file name, text) of other open files, for backends that use them


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
    stop_reason: str = ""  # eog | stop | length | scope
    timings: dict[str, float] = field(default_factory=dict)


# Called with the text generated so far; returns the index to cut at when the
# completion is complete (scope ended), or None to go on.
StopCheck = Callable[[str], "int | None"]
IsCancelled = Callable[[], bool]


class Backend(Protocol):
    model_name: str
    template_name: str
    template_note: str

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` costs in a prompt (exact for local models, estimated for remote)."""

    def complete(self, request: Request, stop_check: StopCheck, cancelled: IsCancelled) -> Result:
        """Generate the middle; raise ``errors.Cancelled`` when ``cancelled()`` turns true."""

    def close(self) -> None: ...
