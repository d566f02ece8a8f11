"""Any OpenAI-compatible server as a backend: ``POST /v1/completions``.

The FIM prompt is built here as text, with the template's marker texts, and the server
turns those into its model's special tokens (llama-cpp-python's server tokenizes the
prompt with special tokens parsed — checked with 0.3.36 — and so does vLLM). The API's
``suffix`` parameter is not used: llama-cpp-python's server fills in token id 0 for
every FIM marker, and vLLM rejects it.

Answers stream, so a superseded request closes its stream and the server stops. The
counters are the server's ``usage`` when it sends one at the end of the stream
(``stream_options.include_usage``: OpenAI, vLLM); otherwise they are estimates.

The server's context size is learned where it is exposed (vLLM's ``max_model_len`` in
/v1/models, llama-server's /props) and prompts are fitted to it; a prompt the server
still refuses as too long is cut to fit and sent once more (``RemoteWindow``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..fim import FAMILIES, Family, assemble_text, family_from_name
from ..log import get_logger
from ..options import BackendSettings
from ..prompt import Prompt
from .base import Generation, IsCancelled, Result
from .http import Generated, HttpClient, RemoteWindow, ServerGarbled
from .http import TokenEstimate, api_key, base_url, context_size

if TYPE_CHECKING:
    from ..postprocess import Policy

log = get_logger(__name__)

_FINISH = {"stop": "eog", "length": "length"}
_MAX_STOPS = 4  # OpenAI's limit; all stops are also enforced here on the streamed text


class OpenAIBackend:
    what = "OpenAI-compatible server"

    def __init__(self, b: BackendSettings, template: str = "auto") -> None:
        self.url = base_url(b.url, "openai").removesuffix("/v1")
        self.chosen = template
        self.model = b.model
        self.model_name = b.model or f"{self.what} at {self.url}"
        self.fim, self.template_note = self._pick(b.model)
        self.http = HttpClient(self.url, self.what, b.timeout_ms, api_key(b.api_key_env))
        self.estimate = TokenEstimate()
        self.window = RemoteWindow(self.what, self.url, self.estimate)
        self._asked = False

    @property
    def context_length(self) -> int:
        """Tokens a prompt plus its completion may take: the server's context, once known."""
        return self.window.context_length

    @property
    def template_name(self) -> str:
        return self.fim.name

    def count_tokens(self, text: str) -> int:
        """Estimated (the server's tokenizer is a round trip away): see ``TokenEstimate``."""
        return self.estimate(text)

    def tokenize(self, text: str) -> list[int]:
        raise NotImplementedError("the OpenAI-compatible server takes the prompt as text")

    def _pick(self, name: str) -> tuple[Family, str]:
        if self.chosen != "auto":
            return FAMILIES[self.chosen], f"template {self.chosen} chosen in the settings"
        family = family_from_name(name)
        if family is not None:
            return family, f"template {family.name} guessed from the model name {name!r}"
        return FAMILIES["codeshell"], (
            f"the model name {name!r} does not tell its FIM tokens: assuming CodeShell's (set codeshell.model.template)"
            if name else "no model name to go by: assuming CodeShell's FIM tokens (set codeshell.model.template)"
        )

    def _ask_model(self, cancelled: IsCancelled) -> None:
        """The served model's name and context from /v1/models: the API wants a name, auto
        templates go by it, prompts must fit the context (vLLM's max_model_len; else
        llama-server's /props)."""
        data = self.http.probe_json("/v1/models", cancelled, "no model name or context size from it")
        self._asked = True
        models = data.get("data") if isinstance(data, dict) else None
        ids = [m.get("id") for m in models or [] if isinstance(m, dict)]
        if not self.model and ids and isinstance(ids[0], str):
            self.model = self.model_name = ids[0]
            self.fim, self.template_note = self._pick(ids[0])
            log.info("the %s at %s serves %s: %s", self.what, self.url, ids[0], self.template_note)
        n_ctx = context_size(data)
        if n_ctx is None:
            props = self.http.probe_json("/props", cancelled, "the context size is learned from the first prompt it refuses")
            n_ctx = context_size(props)
        self.window.learned(n_ctx, "/v1/models" if context_size(data) else "/props")

    def prepare(self, cancelled: IsCancelled) -> None:
        if not self._asked:
            self._ask_model(cancelled)

    def complete(self, prompt: Prompt, gen: Generation, policy: Policy, cancelled: IsCancelled) -> Result:
        def rebuild(prefix: str, suffix: str) -> Prompt:
            return Prompt(prefix, suffix, text=assemble_text(self.fim, prefix, suffix))

        return self.window.complete(prompt, gen, lambda p: self._complete(p, gen, policy, cancelled), rebuild)

    def _complete(self, prompt: Prompt, gen: Generation, policy: Policy, cancelled: IsCancelled) -> Result:
        body: dict[str, Any] = {
            "prompt": prompt.text,
            "max_tokens": gen.max_tokens,
            "temperature": gen.temperature,
            "top_p": gen.top_p,
            "seed": gen.seed,
            "stop": list(policy.stops[:_MAX_STOPS]),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if gen.temperature > 0:
            body["top_k"] = gen.top_k  # not in OpenAI's API; llama.cpp and vLLM take it
        if self.model:
            body["model"] = self.model
        out = Generated(policy, gen.max_tokens)
        usage: dict[str, Any] = {}

        def on_event(event: Any) -> bool:
            choices = event.get("choices") if isinstance(event, dict) else None
            if not isinstance(choices, list):
                raise ServerGarbled(f"the {self.what} at {self.url} sent an unexpected event: {str(event)[:80]!r}")
            if isinstance(event.get("usage"), dict):
                usage.update(event["usage"])
            if not choices:
                return False
            choice = choices[0] if isinstance(choices[0], dict) else {}
            text = choice.get("text", "")
            if not isinstance(text, str):
                raise ServerGarbled(f"the {self.what} at {self.url} sent a choice without text: {str(choice)[:80]!r}")
            if out.add(text):
                return True
            if choice.get("finish_reason"):
                out.reason = _FINISH.get(str(choice["finish_reason"]), "eog")
            return False  # the usage event may still follow

        t0 = time.perf_counter()
        self.http.stream("/v1/completions", body, on_event, cancelled)
        t1 = time.perf_counter()
        t_first = out.t_first or t1
        n_prompt = usage.get("prompt_tokens")
        if isinstance(n_prompt, int):
            self.estimate.observe(len(prompt.text.encode("utf-8")), n_prompt)
            details = usage.get("prompt_tokens_details")
            cached = details.get("cached_tokens") if isinstance(details, dict) else None
            cached = cached if isinstance(cached, int) else 0
        else:
            n_prompt, cached = self.estimate(prompt.text), 0
        n_gen = usage.get("completion_tokens")
        return Result(
            text=out.text,
            prompt_tokens=n_prompt,
            cached_tokens=cached,
            evaluated_tokens=max(0, n_prompt - cached),
            generated_tokens=n_gen if isinstance(n_gen, int) else out.pieces,
            prompt_ms=(t_first - t0) * 1000,
            decode_ms=(t1 - t_first) * 1000,
            stop_reason=out.reason or "length",
        )

    def close(self) -> None:
        self.http.close()
