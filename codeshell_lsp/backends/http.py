"""What the remote backends share: one keep-alive HTTP client, streamed JSON events,
cancellation that closes the connection, backoff, error messages, token estimates.

Every answer is bounded, whatever the server does: in time (``backend.timeoutMs`` of
silence at most, and ``DEADLINE_FACTOR`` times that for the whole answer, so a server
dripping a byte a second cannot hold a request), in size (``MAX_ANSWER_BYTES`` in all,
``MAX_LINE_BYTES`` per event line, counted after decompression), and in tokens
(``completion.maxTokens`` enforced here too, for servers that ignore it).

The client is httpx's ``AsyncClient`` on a private event loop in its own thread; the
engine's worker thread hands it one request at a time and waits. Async because a
request must be abortable at any moment — while the server is still evaluating the
prompt and has sent nothing, as well as between streamed tokens — and cancelling an
asyncio task closes its connection, so the server sees the disconnect and stops
generating. A blocking client stuck in ``recv`` cannot be interrupted from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import threading
import time
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from .. import __version__
from .. import prompt as prompts
from ..context import Cursor
from ..errors import BackendError, Cancelled
from ..log import get_logger
from ..options import CompletionSettings
from .base import Generation, IsCancelled, Result

if TYPE_CHECKING:
    from ..postprocess import Policy

log = get_logger(__name__)

_POLL_S = 0.01  # how often a waiting request looks at the cancel flag
DEADLINE_FACTOR = 3  # a whole answer may take this many times backend.timeoutMs
MAX_ANSWER_BYTES = 16 << 20  # a completion is a few kB; llama-server's last event echoes the prompt
MAX_LINE_BYTES = 4 << 20
MAX_ERROR_BYTES = 64 << 10  # of an error answer, what is read to quote it
MAX_TOKEN_CHARS = 128  # longer than any token of a real vocabulary (whitespace runs included)
_EOL = re.compile(rb"\r\n|\r|\n")  # server-sent events end lines with any of them
_STATUS_HINTS = {
    401: " — check the key in the variable backend.apiKeyEnv names",
    403: " — check the key in the variable backend.apiKeyEnv names",
    404: " — check backend.url: it should be the server's base URL, e.g. http://127.0.0.1:8080",
}
# Statuses that condemn one request, not the server: no backoff after them.
_REQUEST_ONLY = {400, 413, 422}


class ServerUnreachable(BackendError):
    """No connection: refused, unknown host, connect timeout."""


class ServerTimeout(BackendError):
    """Connected, but the server went silent for longer than backend.timeoutMs."""


class ServerDropped(BackendError):
    """The server closed the connection mid-request (crashed, restarted, killed)."""


class ServerRefused(BackendError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ServerGarbled(BackendError):
    """The answer was not the JSON (or event stream of JSON) the API promises."""


class ContextOverflow(ServerRefused):
    """The server refused the prompt as longer than its context window.

    ``n_ctx`` and ``n_prompt`` are the server's own figures where its message gives
    them (its context size; the prompt's length in its tokens)."""

    def __init__(self, message: str, status: int, n_ctx: int | None, n_prompt: int | None) -> None:
        super().__init__(message, status)
        self.n_ctx, self.n_prompt = n_ctx, n_prompt


class DroppedBeforeAnswer(ServerDropped):
    """The server accepted a streamed request, then closed the stream before its first
    event. llama-cpp-python's server does this for every error raised inside a stream
    (a prompt over its context among them): asked again without streaming, it answers
    with the error as JSON."""


# How servers say a prompt does not fit (llama-cpp-python, llama.cpp's llama-server,
# vLLM, OpenAI, TGI): codes first, then the words.
_OVERFLOW_CODES = {"context_length_exceeded", "exceed_context_size_error"}
_OVERFLOW_TEXT = re.compile(
    r"exceeds? (?:the )?(?:available )?context|context window of \d+|maximum context length|"
    r"context size|must be <= \d+|prompt is too long|input is too long",
    re.I,
)
_N_CTX = (
    re.compile(r"context window of (\d+)", re.I),
    re.compile(r"maximum context length is (\d+)", re.I),
    re.compile(r"must be <= (\d+)", re.I),
    re.compile(r"context size (?:is |of )?(\d+)", re.I),
)
_N_PROMPT = (
    re.compile(r"Requested tokens \((\d+)\)", re.I),
    re.compile(r"\((\d+) in (?:your prompt|the messages)", re.I),
    re.compile(r"(\d+) input tokens", re.I),
    re.compile(r"Given: (\d+) `?inputs`? tokens", re.I),
)


def overflow(obj: Any) -> tuple[int | None, int | None] | None:
    """(n_ctx, n_prompt) when an error body or event says the prompt exceeded the
    server's context (either may be None where it does not say), else None."""
    said = _message(obj)
    fields = _fields(obj)
    codes = {str(fields.get(k, "")) for k in ("code", "type")}
    if not (codes & _OVERFLOW_CODES or _OVERFLOW_TEXT.search(said)):
        return None

    def number(key: str, patterns: tuple[re.Pattern[str], ...]) -> int | None:
        value = fields.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        for p in patterns:
            m = p.search(said)
            if m:
                return int(m.group(1))
        return None

    return number("n_ctx", _N_CTX), number("n_prompt_tokens", _N_PROMPT)


def _fields(obj: Any) -> dict[str, Any]:
    """The error object's own fields (OpenAI and llama.cpp nest them under "error")."""
    if isinstance(obj, dict):
        inner = obj.get("error")
        return inner if isinstance(inner, dict) else obj
    return {}


def base_url(url: str, kind: str) -> str:
    """``backend.url`` checked and without a trailing slash (raises BackendError)."""
    if not url.strip():
        raise BackendError(
            f"backend.kind is {kind} but backend.url is empty: set it to the server's base URL, e.g. http://127.0.0.1:8080"
        )
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendError(f"backend.url {url!r} is not an http(s) URL; expected e.g. http://127.0.0.1:8080")
    try:
        parts.port
    except ValueError:
        raise BackendError(f"backend.url {url!r} has an invalid port") from None
    return url.strip().rstrip("/")


def api_key(env_name: str) -> str | None:
    """The key from the environment variable ``backend.apiKeyEnv`` names (never from settings)."""
    if not env_name:
        return None
    key = os.environ.get(env_name)
    if not key:
        raise BackendError(f"backend.apiKeyEnv names {env_name}, which is not set in codeshell-lsp's environment")
    return key


class Backoff:
    """After a failure the server is left alone for a while (0.5 s, doubling up to 10 s),
    and requests in that window fail at once with the same message; one success resets it.

    The message stays the same so the editor is told once, not once per keystroke.
    """

    def __init__(self, first_s: float = 0.5, most_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.first_s, self.most_s, self.clock = first_s, most_s, clock
        self.delay_s = 0.0
        self.until = 0.0
        self.message = ""

    def check(self) -> None:
        if self.message and self.clock() < self.until:
            raise BackendError(self.message)

    def failed(self, message: str) -> None:
        self.delay_s = self.first_s if not self.delay_s else min(self.most_s, self.delay_s * 2)
        self.until = self.clock() + self.delay_s
        self.message = message
        log.info("backing off for %.1f s: %s", self.delay_s, message)

    def succeeded(self) -> None:
        if self.message:
            log.info("the server answers again")
        self.delay_s, self.until, self.message = 0.0, 0.0, ""


class TokenEstimate:
    """Token counts for the prompt budget without the server's tokenizer.

    UTF-8 bytes × tokens per byte, starting at 1/3 (code in BPE vocabularies runs 3–4
    bytes a token) and raised to the densest ratio a server reports for a prompt of
    some size, so estimates err towards shorter prompts, never past the context.
    """

    def __init__(self, per_byte: float = 1 / 3) -> None:
        self.per_byte = per_byte

    def __call__(self, text: str) -> int:
        return math.ceil(len(text.encode("utf-8")) * self.per_byte)

    def observe(self, n_bytes: int, n_tokens: int) -> None:
        if n_bytes >= 256 and n_tokens / n_bytes > self.per_byte:
            self.per_byte = n_tokens / n_bytes
            log.debug("token estimate now %.3f tokens per byte", self.per_byte)


def context_size(data: Any) -> int | None:
    """The context window a server reports: llama-server's /props (``n_ctx``, per slot,
    under ``default_generation_settings`` or at the top), vLLM's /v1/models
    (``max_model_len`` of the first model)."""
    if not isinstance(data, dict):
        return None
    candidates = [data.get("n_ctx"), data.get("max_model_len")]
    settings = data.get("default_generation_settings")
    if isinstance(settings, dict):
        candidates.insert(0, settings.get("n_ctx"))
    models = data.get("data")
    if isinstance(models, list) and models and isinstance(models[0], dict):
        candidates.append(models[0].get("max_model_len"))
    for value in candidates:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


class RemoteWindow:
    """What a remote backend knows of the server's context, and the one retry after an
    overflow: learn from the server's error, cut the prompt to fit, ask again once."""

    def __init__(self, what: str, url: str, estimate: TokenEstimate) -> None:
        self.what, self.url, self.estimate = what, url, estimate
        self.context_length = 1 << 30  # until the server says

    def learned(self, n_ctx: int | None, source: str) -> None:
        if n_ctx and n_ctx != self.context_length:
            self.context_length = n_ctx
            log.info("the %s at %s has a context of %d tokens (%s): prompts are fitted to it", self.what, self.url, n_ctx, source)

    def complete(
        self, prompt: prompts.Prompt, gen: Generation, run: Callable[[prompts.Prompt], Result],
        rebuild: Callable[[str, str], prompts.Prompt],
    ) -> Result:
        try:
            return run(prompt)
        except ContextOverflow as e:
            smaller = rebuild(*self._refit(prompt, gen, e))
            log.warning("%s: asking again with the prompt cut to fit %d tokens", e, self.context_length)
        try:
            return run(smaller)
        except ContextOverflow as again:
            raise ServerRefused(
                f"{again} (the prompt was already cut to fit a context of {self.context_length} tokens: "
                f"lower codeshell.completion.promptTokens or completion.maxTokens)",
                again.status,
            ) from None

    def _refit(self, prompt: prompts.Prompt, gen: Generation, e: ContextOverflow) -> tuple[str, str]:
        text = prompt.text or prompt.prefix + prompt.suffix
        n_bytes = max(1, len(text.encode("utf-8")))
        sent = self.estimate(text)
        if e.n_prompt:
            self.estimate.per_byte = max(self.estimate.per_byte, e.n_prompt / n_bytes)
        elif e.n_ctx and sent + gen.max_tokens <= e.n_ctx:
            self.estimate.per_byte *= 1.5  # the estimate said it fits: it undercounts here
        if e.n_ctx:
            self.learned(e.n_ctx, "from its error")
        else:
            self.context_length = max(gen.max_tokens + 2 * prompts.TEMPLATE_SLACK + 64, (sent + gen.max_tokens) // 2)
        prefix = self.estimate(prompt.prefix)
        ratio = 1 - prefix / max(1, sent)
        c = CompletionSettings(max_tokens=gen.max_tokens, prompt_tokens=max(16, sent), suffix_ratio=min(1.0, max(0.0, ratio)))
        w = prompts.window(Cursor(prompt.prefix, prompt.suffix), c, self.estimate, self.context_length)
        return w.prefix, w.suffix


class Generated:
    """Streamed text so far, cut where the postprocessing policy says generation ends,
    or at ``max_tokens`` when the server ignores that limit."""

    def __init__(self, policy: Policy, max_tokens: int) -> None:
        self.policy = policy
        self.max_tokens = max_tokens
        self.text = ""
        self.pieces = 0
        self.reason = ""
        self.t_first: float | None = None

    def add(self, piece: str) -> bool:
        """Append a streamed piece; True when the completion is complete."""
        if not piece:
            return False
        if self.t_first is None:
            self.t_first = time.perf_counter()
        # Each event carries at least one token: one more than asked for means the
        # server ignores max_tokens, and would go on until it hits its own limit.
        if self.pieces >= self.max_tokens:
            self.reason = "length"
            return True
        self.pieces += 1
        self.text += piece
        if len(self.text) > self.max_tokens * MAX_TOKEN_CHARS:
            self.text, self.reason = self.text[: self.max_tokens * MAX_TOKEN_CHARS], "length"
            return True
        stop = self.policy.stop_at(self.text)
        if stop is not None:
            self.text, self.reason = self.text[: stop[0]], stop[1]
            return True
        return False


class HttpClient:
    """One keep-alive connection pool to one server, used by one thread at a time."""

    def __init__(self, url: str, what: str, timeout_ms: int, key: str | None = None) -> None:
        self.url = url
        self.what = what  # names the server in messages: "llama-server", "OpenAI-compatible server"
        self.timeout_s = timeout_ms / 1000
        self.deadline_s = self.timeout_s * DEADLINE_FACTOR
        self.backoff = Backoff()
        headers = {"User-Agent": f"codeshell-lsp/{__version__}"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="codeshell-http", daemon=True)
        self._thread.start()
        self._headers = headers
        self._client = self._new_client()

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self._headers, timeout=httpx.Timeout(self.timeout_s))

    def _fresh_connections(self) -> None:
        """Drop pooled connections: after an error inside a stream the server closes its
        end a moment later, and a request sent on that connection would be reset."""
        old, self._client = self._client, self._new_client()
        try:
            asyncio.run_coroutine_threadsafe(old.aclose(), self._loop).result(timeout=2)
        except Exception as e:  # a pool that will not close cleanly is dropped anyway
            log.debug("closing the old connection pool: %s", e)

    def stream(self, path: str, body: dict[str, Any], on_event: Callable[[Any], bool], cancelled: IsCancelled) -> None:
        """POST ``body`` and call ``on_event`` with each JSON event of the answer (an SSE
        ``data:`` line, or the whole body when the server does not stream) until it
        returns True or the answer ends. Raises Cancelled or a BackendError; a
        ContextOverflow when the server says the prompt is longer than its context."""
        try:
            self._run(lambda: self._stream(path, body, on_event, cancelled), cancelled)
        except DroppedBeforeAnswer as e:
            log.info("%s; asking again without streaming to learn why", e)
            self._fresh_connections()
            # stream_options is refused without streaming (OpenAI, vLLM).
            plain = {k: v for k, v in body.items() if k != "stream_options"} | {"stream": False}
            self._run(lambda: self._stream(path, plain, on_event, cancelled), cancelled)

    def get_json(self, path: str, cancelled: IsCancelled, probe: bool = False) -> Any:
        """GET ``path`` as JSON. ``probe``: an endpoint the server may not have, so an
        error answer does not make the client back off."""
        out: list[Any] = []

        async def get() -> None:
            async with self._client.stream("GET", path) as response:
                await self._check_status(response)
                out.append(self._parse(await self._body(response)))

        self._run(get, cancelled, probe)
        return out[0]

    def probe_json(self, path: str, cancelled: IsCancelled, otherwise: str) -> Any:
        """GET an endpoint the server may not have: its JSON, or None (logged with what
        happens ``otherwise``) when it answers with an error or garbage."""
        try:
            return self.get_json(path, cancelled, probe=True)
        except (ServerRefused, ServerGarbled) as e:
            log.info("no %s (%s): %s", path, e, otherwise)
            return None

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result(timeout=2)
        except Exception as e:  # closing must not hide the reason the server is shutting down
            log.debug("closing the HTTP client: %s", e)
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._loop.shutdown_asyncgens(), self._loop).result(timeout=2)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2)
        if not self._thread.is_alive():
            self._loop.close()

    # --- inside ------------------------------------------------------------------------

    def _run(self, make: Callable[[], Awaitable[None]], cancelled: IsCancelled, probe: bool = False) -> None:
        self.backoff.check()
        try:
            asyncio.run_coroutine_threadsafe(self._guard(make, cancelled), self._loop).result()
        except Cancelled:
            raise
        except (ServerRefused, ServerGarbled) as e:
            if not (probe or (isinstance(e, ServerRefused) and e.status in _REQUEST_ONLY)):
                self.backoff.failed(str(e))
            raise
        except DroppedBeforeAnswer:
            raise  # asked again at once; that answer decides
        except BackendError as e:
            self.backoff.failed(str(e))
            raise
        self.backoff.succeeded()

    async def _guard(self, make: Callable[[], Awaitable[None]], cancelled: IsCancelled) -> None:
        task = asyncio.ensure_future(self._translate(make))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_s
        while True:
            done, _ = await asyncio.wait({task}, timeout=_POLL_S)
            if done:
                return task.result()
            late = loop.time() > deadline
            if cancelled() or late:
                task.cancel()
                # Wait until httpx has closed the connection: the server must see the disconnect.
                await asyncio.wait({task})
                if not task.cancelled() and task.exception() is not None:
                    log.debug("cancelled request ended with %r", task.exception())
                if late:
                    raise ServerTimeout(
                        f"the {self.what} at {self.url} did not finish its answer within {self.deadline_s:g} s "
                        f"({DEADLINE_FACTOR} x backend.timeoutMs): it streams without end, or too slowly"
                    )
                raise Cancelled()

    async def _translate(self, make: Callable[[], Awaitable[None]]) -> None:
        """httpx's exceptions turned into messages a user can act on."""
        at = f"the {self.what} at {self.url}"
        limit = f"{self.timeout_s:g} s (backend.timeoutMs)"
        try:
            await make()
        except httpx.ConnectTimeout:
            raise ServerUnreachable(f"{at} did not accept a connection within {limit}") from None
        except httpx.ConnectError as e:
            raise ServerUnreachable(f"cannot connect to {at}: {_reason(e)} — is it running? (backend.url)") from None
        except httpx.TimeoutException:
            raise ServerTimeout(f"{at} sent nothing for {limit}: it is overloaded or stuck") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as e:
            raise ServerDropped(f"{at} dropped the connection mid-request ({_reason(e)}): did it crash or restart?") from None
        except httpx.HTTPError as e:
            raise ServerDropped(f"talking to {at} failed: {_reason(e)}") from None

    async def _stream(self, path: str, body: dict[str, Any], on_event: Callable[[Any], bool], cancelled: IsCancelled) -> None:
        async with self._client.stream("POST", path, json=body) as response:
            await self._check_status(response)
            if "text/event-stream" not in response.headers.get("content-type", ""):
                on_event(self._event(self._parse(await self._body(response))))
                return
            lines = self._lines(response)
            seen = [False]

            def counted(event: Any) -> bool:
                seen[0] = True
                return on_event(event)

            at = f"the {self.what} at {self.url}"
            try:
                ended = await self._events(lines, counted, cancelled)
            except (httpx.RemoteProtocolError, httpx.ReadError) as e:
                if seen[0]:
                    raise
                raise DroppedBeforeAnswer(f"{at} closed the stream before its first event ({_reason(e)})") from None
            finally:
                await lines.aclose()  # now, not when the loop finalizes it (or is already closed)
            if not ended and not seen[0]:
                raise DroppedBeforeAnswer(f"{at} ended the stream without an event")

    async def _events(self, lines: AsyncIterator[str], on_event: Callable[[Any], bool], cancelled: IsCancelled) -> bool:
        """Server-sent events: each ``data:`` payload parsed as JSON; ``[DONE]`` ends the stream.
        True when ``[DONE]`` or ``on_event`` ended it, False when the stream just stopped."""
        data: list[str] = []
        async for line in lines:
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
                # Servers send one data line per event; handle each at once rather
                # than waiting for the blank line that ends it.
                payload = "\n".join(data)
                if payload.strip() == "[DONE]":
                    return True
                try:
                    obj = json.loads(payload)
                except ValueError:
                    continue  # a multi-line event: wait for its other lines
                data.clear()
                # Returning early closes the connection: the server stops generating.
                if on_event(self._event(obj)):
                    return True
                if cancelled():
                    raise Cancelled()
            elif not line.strip() and data:
                self._parse("\n".join(data))  # an event that never became JSON
                data.clear()
        if data:
            self._parse("\n".join(data))
        return False

    async def _body(self, response: httpx.Response, limit: int = MAX_ANSWER_BYTES, cut: bool = False) -> str:
        """The answer's text, read up to ``limit`` bytes: beyond that, an error (or, with
        ``cut``, the text so far)."""
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > limit:
                if cut:
                    break
                raise self._too_big(f"an answer of more than {limit >> 20} MB")
        return data[:limit].decode("utf-8", "replace")  # JSON is UTF-8 (RFC 8259)

    async def _lines(self, response: httpx.Response) -> AsyncIterator[str]:
        """The answer's lines (ended by \\n, \\r\\n or \\r), each at most ``MAX_LINE_BYTES``
        and all of them ``MAX_ANSWER_BYTES``."""
        buf, total = b"", 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > MAX_ANSWER_BYTES:
                raise self._too_big(f"an answer of more than {MAX_ANSWER_BYTES >> 20} MB")
            buf += chunk
            if _EOL.search(chunk):
                held = buf.endswith(b"\r")  # perhaps the first half of \r\n
                *done, buf = _EOL.split(buf[:-1] if held else buf)
                buf += b"\r" if held else b""
                for line in done:
                    yield line.decode("utf-8", "replace")
            if len(buf) > MAX_LINE_BYTES:
                raise self._too_big(f"a line of more than {MAX_LINE_BYTES >> 20} MB")
        if buf:
            yield buf.rstrip(b"\r").decode("utf-8", "replace")

    def _too_big(self, what: str) -> ServerGarbled:
        return ServerGarbled(f"the {self.what} at {self.url} sent {what}: is backend.url a {self.what}?")

    def _event(self, obj: Any) -> Any:
        if isinstance(obj, dict) and obj.get("error"):
            message = f"the {self.what} at {self.url} reported an error: {_message(obj)}"
            sizes = overflow(obj)
            if sizes is not None:
                raise ContextOverflow(message, 400, *sizes)
            raise ServerRefused(message, 500)
        return obj

    def _parse(self, text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            snippet = " ".join(text.split())[:60]
            raise ServerGarbled(
                f"the {self.what} at {self.url} sent an answer that is not JSON ({snippet!r}): "
                f"is backend.url a {self.what}?"
            ) from None

    async def _check_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        text = await self._body(response, MAX_ERROR_BYTES, cut=True)
        try:
            obj: Any = json.loads(text)
            said = _message(obj)
        except ValueError:
            obj = said = " ".join(text.split())[:400]
        status = response.status_code
        message = (
            f"the {self.what} at {self.url} answered HTTP {status} {response.reason_phrase}"
            f"{': ' + said if said else ''}{_STATUS_HINTS.get(status, '')}"
        )
        sizes = overflow(obj)
        if sizes is not None:
            raise ContextOverflow(message, status, *sizes)
        raise ServerRefused(message, status)


def _message(obj: Any) -> str:
    """The human part of an error body: OpenAI's error.message, FastAPI's detail, llama.cpp's error."""
    if isinstance(obj, dict):
        for key in ("error", "detail", "message", "msg"):
            if key in obj:
                return _message(obj[key])
        return json.dumps(obj)[:400]
    if isinstance(obj, list):
        return "; ".join(_message(x) for x in obj[:3])
    return " ".join(str(obj).split())[:400]


def _reason(e: BaseException) -> str:
    """The innermost OS-level reason ("Connection refused"), else httpx's own words."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, OSError) and isinstance(seen.errno, int) and seen.errno > 0:
            return os.strerror(seen.errno).lower()
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__
    text = str(e).strip()
    return text[0].lower() + text[1:] if text else type(e).__name__
