"""Trying a GGUF from the command line: one-shot ``generate`` and interactive ``chat``.

``generate`` is the seed's ``main -p``: stream the continuation, then load /
prompt-eval / eval timings. ``chat`` is ``main -ins``: multi-turn, the conversation
kept in the KV cache (each turn evaluates only its new tokens), in CodeShell-Chat's
``## human:`` / ``## assistant:`` turns or as plain continuation for base models.
"""

from __future__ import annotations

import codecs
import logging
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Sequence

from ..errors import ModelLoadError
from ..log import llama_verbose

# CodeShell-Chat's turn markers and the texts it stops on (its modeling_codeshell.chat).
HUMAN, ASSISTANT, END = "## human:", "## assistant:", "|<end>|"
CHAT_STOPS = ("|<end>|", "|end|", "<|endoftext|>", "## human")


@dataclass
class Sampling:
    temp: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    repeat_penalty: float = 1.1


@dataclass
class Timings:
    load_ms: float = 0.0
    prompt_tokens: int = 0
    prompt_ms: float = 0.0
    gen_tokens: int = 0
    gen_ms: float = 0.0
    reused_tokens: int = 0

    def report(self) -> str:
        def rate(n: int, ms: float) -> str:
            return f"{n / ms * 1000:8.2f} tokens/s" if ms > 0 and n else "       - tokens/s"

        return (
            f"load time        = {self.load_ms:10.2f} ms\n"
            f"prompt eval time = {self.prompt_ms:10.2f} ms / {self.prompt_tokens:5d} tokens ({rate(self.prompt_tokens, self.prompt_ms)})"
            + (f", {self.reused_tokens} reused from the cache" if self.reused_tokens else "")
            + "\n"
            f"eval time        = {self.gen_ms:10.2f} ms / {self.gen_tokens:5d} tokens ({rate(self.gen_tokens, self.gen_ms)})\n"
            f"total time       = {self.load_ms + self.prompt_ms + self.gen_ms:10.2f} ms"
        )


DEFAULT_CTX = 4096


def train_context(model: Path) -> int:
    """The ``<arch>.context_length`` a GGUF declares, 0 when it has none.

    Reads the metadata only up to that key (it precedes the tokenizer's arrays), so
    it costs milliseconds where ``gguf.GGUFReader`` would parse the whole vocabulary.
    """
    try:
        with open(model, "rb") as f:
            magic, _version, _n_tensors, n_kv = struct.unpack("<4sIQQ", f.read(24))
            if magic != b"GGUF":
                raise ValueError("not a GGUF file")
            arch = None
            for _ in range(n_kv):
                key = _read_str(f)
                (vtype,) = struct.unpack("<I", f.read(4))
                if key == "general.architecture" and vtype == _GGUF_STRING:
                    arch = _read_str(f)
                elif arch and key == f"{arch}.context_length" and vtype in _GGUF_SCALARS:
                    return int(struct.unpack("<" + _GGUF_SCALARS[vtype], f.read(struct.calcsize(_GGUF_SCALARS[vtype])))[0])
                else:
                    _skip_value(f, vtype)
    except (OSError, ValueError, struct.error, UnicodeDecodeError) as e:
        raise ModelLoadError(f"{model}: unreadable GGUF metadata: {e}") from e
    return 0


# GGUF metadata value types (gguf spec): scalar struct formats, 8 = string, 9 = array.
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def _read_str(f: IO[bytes]) -> str:
    (n,) = struct.unpack("<Q", f.read(8))
    return f.read(n).decode("utf-8")


def _skip_value(f: IO[bytes], vtype: int) -> None:
    if vtype in _GGUF_SCALARS:
        f.seek(struct.calcsize(_GGUF_SCALARS[vtype]), 1)
    elif vtype == _GGUF_STRING:
        (n,) = struct.unpack("<Q", f.read(8))
        f.seek(n, 1)
    elif vtype == _GGUF_ARRAY:
        item, count = struct.unpack("<IQ", f.read(12))
        if item in _GGUF_SCALARS:
            f.seek(count * struct.calcsize(_GGUF_SCALARS[item]), 1)
        else:
            for _ in range(count):
                _skip_value(f, item)
    else:
        raise ValueError(f"unknown metadata type {vtype}")


def load(model: Path, n_ctx: int | None, threads: int | None, seed: int | None) -> tuple[Any, float]:
    """A llama-cpp-python ``Llama`` for ``model`` (already checked to be a GGUF) and the load time in ms."""
    from llama_cpp import Llama

    from ..backends.llama_runtime import default_threads

    t0 = time.perf_counter()
    if n_ctx is None:
        # The default context never exceeds what the model was trained for.
        trained = train_context(model)
        n_ctx = min(DEFAULT_CTX, trained) if trained else DEFAULT_CTX
    kwargs: dict[str, Any] = dict(
        model_path=str(model),
        n_ctx=n_ctx,
        n_threads=threads or default_threads(),
        n_threads_batch=threads or default_threads(),
        verbose=llama_verbose(),
    )
    if seed is not None:
        kwargs["seed"] = seed
    try:
        llm = Llama(**kwargs)
    except ValueError as e:  # llama-cpp-python's answer to a model llama.cpp refused
        raise ModelLoadError(f"llama.cpp could not load {model}: {e}") from e
    # Keep llama.cpp's own log quiet for the rest of the session too, unless -vv.
    logging.getLogger("llama-cpp-python").setLevel(logging.DEBUG if llama_verbose() else logging.CRITICAL + 1)
    # One throw-away decode, as llama.cpp's main does: the first one pays for thread and
    # buffer set-up, which would otherwise be billed to prompt evaluation.
    llm.eval([llm.token_bos() if llm.token_bos() >= 0 else 0])
    llm.reset()
    return llm, (time.perf_counter() - t0) * 1000


class TextStream:
    """Token pieces -> printable text: completes UTF-8 sequences split across tokens and
    holds back any tail that could still become one of ``stops``."""

    def __init__(self, stops: Sequence[str] = ()) -> None:
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stops = tuple(s for s in stops if s)
        self._pending = ""
        self.text = ""  # everything emitted
        self.stopped = False

    def feed(self, piece: bytes) -> str:
        if self.stopped:
            return ""
        buf = self._pending + self._dec.decode(piece)
        for s in self._stops:
            i = buf.find(s)
            if i >= 0:
                self.stopped = True
                self._pending = ""
                return self._emit(buf[:i])
        hold = 0
        for s in self._stops:
            for k in range(min(len(s) - 1, len(buf)), 0, -1):
                if buf.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        self._pending = buf[len(buf) - hold :] if hold else ""
        return self._emit(buf[: len(buf) - hold])

    def flush(self) -> str:
        rest = self._pending + self._dec.decode(b"", final=True)
        self._pending = ""
        return "" if self.stopped else self._emit(rest)

    def _emit(self, s: str) -> str:
        self.text += s
        return s


@dataclass
class Session:
    """One model and the token history that sits in its KV cache."""

    llm: Any
    sampling: Sampling = field(default_factory=Sampling)
    history: list[int] = field(default_factory=list)
    stopped: bool = False  # the last run ended on one of its stop texts

    def is_eog(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(llama_cpp.llama_model_get_vocab(self.llm.model), token))

    def tokenize(self, text: str, special: bool = True) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=special) if text else []

    def run(
        self,
        new_tokens: Sequence[int],
        n_predict: int,
        out: Callable[[str], None],
        stops: Sequence[str] = (),
    ) -> tuple[str, Timings]:
        """Append ``new_tokens`` to the history, generate up to ``n_predict`` tokens (-1: until
        the context is full), stream their text to ``out``; the history keeps both."""
        llm, s = self.llm, self.sampling
        prompt = self.history + list(new_tokens)
        room = llm.n_ctx() - len(prompt)
        if room <= 0:
            raise ContextFull(len(prompt), llm.n_ctx())
        limit = room if n_predict < 0 else min(n_predict, room)
        common = 0
        for a, b in zip(llm.input_ids[: llm.n_tokens], prompt):
            if a != b:
                break
            common += 1
        t = Timings(prompt_tokens=len(prompt) - min(common, len(prompt) - 1), reused_tokens=min(common, len(prompt) - 1))
        stream = TextStream(stops)
        generated: list[int] = []
        t0 = time.perf_counter()
        t_first = None
        try:
            for tok in llm.generate(prompt, temp=s.temp, top_k=s.top_k, top_p=s.top_p, repeat_penalty=s.repeat_penalty):
                if t_first is None:
                    t_first = time.perf_counter()
                if self.is_eog(tok):
                    break
                generated.append(tok)
                text = stream.feed(llm.detokenize([tok]))
                if text:
                    out(text)
                if stream.stopped or len(generated) >= limit:
                    break
        finally:
            rest = stream.flush()
            if rest:
                out(rest)
            end = time.perf_counter()
            t_first = t_first or end
            t.prompt_ms = (t_first - t0) * 1000
            # The first token came with the prompt's logits; each later one cost a decode.
            t.gen_tokens = max(0, len(generated) - 1)
            t.gen_ms = (end - t_first) * 1000
            self.history = prompt + generated
            self.stopped = stream.stopped
        return stream.text, t

    def reset(self) -> None:
        self.history = []
        self.llm.reset()


class ContextFull(Exception):
    def __init__(self, n_tokens: int, n_ctx: int) -> None:
        super().__init__(f"the conversation ({n_tokens} tokens) fills the {n_ctx}-token context")


def _write(stream: IO[str]) -> Callable[[str], None]:
    def out(text: str) -> None:
        stream.write(text)
        stream.flush()

    return out


def generate(
    model: Path,
    prompt: str,
    n_predict: int = 128,
    sampling: Sampling | None = None,
    seed: int | None = None,
    n_ctx: int | None = None,
    threads: int | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> Timings:
    out, err = out or sys.stdout, err or sys.stderr
    llm, load_ms = load(model, n_ctx, threads, seed)
    session = Session(llm, sampling or Sampling())
    tokens = session.tokenize(prompt)
    if not tokens:
        # An empty prompt: start from the beginning-of-text token, as main does.
        tokens = [llm.token_bos()]
    out.write(prompt)
    _, t = session.run(tokens, n_predict, _write(out))
    out.write("\n")
    out.flush()
    t.load_ms = load_ms
    err.write(t.report() + "\n")
    return t


def chat(
    model: Path,
    plain: bool = False,
    system: str = "",
    n_predict: int = -1,
    sampling: Sampling | None = None,
    seed: int | None = None,
    n_ctx: int | None = None,
    threads: int | None = None,
    lines: Iterable[str] | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Read user turns from ``lines`` (default: stdin, with a prompt when interactive)."""
    out, err = out or sys.stdout, err or sys.stderr
    llm, load_ms = load(model, n_ctx, threads, seed)
    session = Session(llm, sampling or Sampling())
    interactive = lines is None and sys.stdin.isatty()
    err.write(
        f"codeshell-lsp chat: {model.name}, {'plain continuation' if plain else 'CodeShell-Chat turns'}, "
        f"context {llm.n_ctx()} tokens (loaded in {load_ms:.0f} ms). /reset clears, /exit or Ctrl-D quits.\n"
    )
    write = _write(out)
    stops = () if plain else CHAT_STOPS
    prefix = system + (END if system and not plain else "")
    source = iter(lines) if lines is not None else _stdin_lines(interactive)
    for raw in source:
        msg = raw.rstrip("\n")
        if msg.strip() in ("/exit", "/quit"):
            break
        if msg.strip() == "/reset":
            session.reset()
            err.write("(conversation cleared)\n")
            continue
        if not msg.strip():
            continue
        turn = msg if plain else f"{HUMAN}{msg}{END}{ASSISTANT}"
        if not session.history and prefix:
            turn = prefix + turn
        try:
            _, t = session.run(session.tokenize(turn), n_predict, write, stops)
        except ContextFull as e:
            err.write(f"({e}; starting a new conversation)\n")
            session.reset()
            _, t = session.run(session.tokenize(prefix + turn), n_predict, write, stops)
        except KeyboardInterrupt:
            err.write("\n(interrupted)\n")
            continue
        if not plain and not session.stopped:
            # Close the assistant turn the way CodeShell-Chat's prompts do.
            session.history += session.tokenize(END)
        write("\n")
        if llama_verbose():
            err.write(t.report() + "\n")
    return 0


def _stdin_lines(interactive: bool) -> Iterable[str]:
    while True:
        try:
            line = input("> ") if interactive else sys.stdin.readline()
        except EOFError:
            return
        if not interactive and line == "":
            return
        yield line
