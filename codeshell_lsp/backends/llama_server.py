"""llama.cpp's ``llama-server`` as a backend: ``POST /infill``.

The server builds the FIM prompt from its own model's FIM tokens, puts other files
(``input_extra``) in front, and keeps its KV cache between requests
(``cache_prompt``). Answers stream token by token with the server's own counters
(``timings_per_token``), so a superseded request is dropped mid-generation and the
counters are the server's even when the stream is cut short.

The server's context per slot comes from /props (``n_ctx``) and prompts are fitted to
it; a prompt it still refuses as too long is cut to fit and sent once more.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..log import get_logger
from ..options import BackendSettings
from ..prompt import Prompt
from .base import Generation, IsCancelled, Result
from .http import Generated, HttpClient, RemoteWindow, ServerGarbled
from .http import TokenEstimate, api_key, base_url, context_size

if TYPE_CHECKING:
    from ..postprocess import Policy

log = get_logger(__name__)

_STOP_TYPES = {"eos": "eog", "word": "stop", "limit": "length"}


class LlamaServerBackend:
    template_name = "server"
    fim = None  # the server assembles the prompt from the text around the cursor

    def __init__(self, b: BackendSettings) -> None:
        self.url = base_url(b.url, "llama-server")
        self.model = b.model  # chooses the model of a llama-server in router mode
        self.model_name = b.model or f"llama-server at {self.url}"
        self.template_note = f"the llama-server at {self.url} builds the FIM prompt from its model's FIM tokens (/infill)"
        self.http = HttpClient(self.url, "llama-server", b.timeout_ms, api_key(b.api_key_env))
        self.estimate = TokenEstimate()
        self.window = RemoteWindow("llama-server", self.url, self.estimate)
        self._asked = False

    @property
    def context_length(self) -> int:
        """Tokens a prompt plus its completion may take: the slot's context, once known."""
        return self.window.context_length

    def count_tokens(self, text: str) -> int:
        """Estimated (the server's tokenizer is a round trip away): see ``TokenEstimate``."""
        return self.estimate(text)

    def prepare(self, cancelled: IsCancelled) -> None:
        """Learn the slot's context size from /props, once (older servers lack it)."""
        if self._asked:
            return
        data = self.http.probe_json("/props", cancelled, "the context size is learned from the first prompt it refuses")
        self._asked = True
        self.window.learned(context_size(data), "/props")

    def tokenize(self, text: str) -> list[int]:
        raise NotImplementedError("llama-server takes the prompt as text")

    def complete(self, prompt: Prompt, gen: Generation, policy: Policy, cancelled: IsCancelled) -> Result:
        return self.window.complete(prompt, gen, lambda p: self._complete(p, gen, policy, cancelled), Prompt)

    def _complete(self, prompt: Prompt, gen: Generation, policy: Policy, cancelled: IsCancelled) -> Result:
        body: dict[str, Any] = {
            "input_prefix": prompt.prefix,
            "input_suffix": prompt.suffix,
            "n_predict": gen.max_tokens,
            "temperature": gen.temperature,
            "top_k": gen.top_k,
            "top_p": gen.top_p,
            "seed": gen.seed,
            "stop": list(policy.stops),
            "cache_prompt": gen.reuse,
            "stream": True,
            "timings_per_token": True,
            **speculation(gen),
        }
        if self.model:
            body["model"] = self.model
        if prompt.chunks:
            body["input_extra"] = [{"filename": c.path, "text": c.text} for c in prompt.chunks]
        out = Generated(policy, gen.max_tokens)
        last: dict[str, Any] = {}

        def on_event(event: Any) -> bool:
            if not isinstance(event, dict) or not isinstance(event.get("content", ""), str):
                raise ServerGarbled(f"the llama-server at {self.url} sent an unexpected event: {str(event)[:80]!r}")
            last.update(event)
            if out.add(event.get("content", "")):
                return True
            if event.get("stop"):
                out.reason = _STOP_TYPES.get(str(event.get("stop_type", "")), "length")
                return True
            return False

        t0 = time.perf_counter()
        self.http.stream("/infill", body, on_event, cancelled)
        t1 = time.perf_counter()
        timings = last.get("timings") if isinstance(last.get("timings"), dict) else {}
        n_bytes = sum(len(s.encode("utf-8")) for s in (prompt.prefix, prompt.suffix))
        evaluated = _int(timings, "prompt_n")
        cached = _int(timings, "cache_n")
        if cached is None and evaluated is not None and _int(last, "tokens_evaluated") is not None:
            cached = max(0, _int(last, "tokens_evaluated") - evaluated)  # type: ignore[operator]
        n_prompt = evaluated + cached if evaluated is not None and cached is not None else None
        if n_prompt is not None:
            self.estimate.observe(n_bytes, n_prompt)
        t_first = out.t_first or t1
        return Result(
            text=out.text,
            prompt_tokens=n_prompt if n_prompt is not None else self.estimate(prompt.prefix + prompt.suffix),
            cached_tokens=cached or 0,
            evaluated_tokens=evaluated if evaluated is not None else 0,
            generated_tokens=_int(timings, "predicted_n") or out.pieces,
            prompt_ms=_float(timings, "prompt_ms", (t_first - t0) * 1000),
            decode_ms=_float(timings, "predicted_ms", (t1 - t_first) * 1000),
            stop_reason=out.reason or "length",
            timings={k: float(v) for k, v in timings.items() if isinstance(v, (int, float))},
        )

    def close(self) -> None:
        self.http.close()


def speculation(gen: Generation) -> dict[str, Any]:
    """The per-request speculation setting /infill takes: ``completion.draftTokens`` as the
    most tokens the server's draft model proposes per step (greedy only). Its n-gram
    speculation (``--spec-type``) is set on the server's command line alone; 0 leaves
    the server's own settings."""
    return {"speculative.n_max": gen.draft_tokens} if gen.draft_tokens > 0 and gen.temperature <= 0 else {}


def _int(d: dict[str, Any], key: str) -> int | None:
    v = d.get(key)
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 else None


def _float(d: dict[str, Any], key: str, default: float) -> float:
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else default
