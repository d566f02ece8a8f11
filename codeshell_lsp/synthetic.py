"""Random-weight GGUF models of the real ``codeshell`` architecture.

They carry CodeShell's special tokens and FIM layout and a small byte-level BPE
vocabulary, so the whole stack (tokenizer, FIM template detection, KV cache, server)
can be exercised without downloads. Their text is noise: they prove plumbing and
timing, never quality. Deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

# CodeShell's special tokens, in CodeShell's order (ids start right after the BPE vocab).
CODESHELL_SPECIALS = (
    "<|endoftext|>",
    "<fim_prefix>",
    "<fim_middle>",
    "<fim_suffix>",
    "<fim_pad>",
    "<filename>",
    "<gh_stars>",
    "<issue_start>",
    "<issue_comment>",
    "<issue_closed>",
    "<jupyter_start>",
    "<jupyter_text>",
    "<jupyter_code>",
    "<jupyter_output>",
    "<empty_output>",
    "<commit_before>",
    "<commit_msg>",
    "<commit_after>",
    "<reponame>",
    "<|end|>",
)

# A little Python to learn BPE merges from, so common code pieces are single tokens.
_SAMPLE = '''
def fibonacci(n: int) -> int:
    """Return the n-th Fibonacci number."""
    if n < 2:
        return n
    return fibonacci(n - 1) + fibonacci(n - 2)


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        if not self.items:
            raise IndexError("pop from empty stack")
        return self.items.pop()


for i in range(10):
    print(i, fibonacci(i))
import os
import sys
with open(path, "r", encoding="utf-8") as f:
    for line in f:
        result = line.strip().split(",")
        if result is None or len(result) == 0:
            continue
        else:
            yield result
'''

_PRETOKENIZE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z_]+| ?[0-9]| ?[^\sA-Za-z_0-9]+|\s+(?!\S)|\s+""")


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (what gguf/llama.cpp expect)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


@dataclass(frozen=True)
class Vocab:
    tokens: list[str]  # byte-level BPE texts, then the special tokens
    merges: list[str]  # "a b" pairs, in priority order
    n_special: int

    @property
    def special_base(self) -> int:
        return len(self.tokens) - self.n_special


@lru_cache(maxsize=4)
def tiny_vocab(n_merges: int = 240, pad_to: int = 0) -> Vocab:
    """Bytes + ``n_merges`` BPE merges learned greedily on a fixed sample + CodeShell specials.

    ``pad_to`` grows the normal vocabulary with unreachable filler tokens so a model
    can have a realistic vocabulary size (70,000 for CodeShell-7B's shape).
    """
    b2u = bytes_to_unicode()
    words = Counter(
        tuple(b2u[b] for b in piece.encode("utf-8")) for piece in _PRETOKENIZE.findall(_SAMPLE)
    )
    tokens = [b2u[b] for b in range(256)]
    seen = set(tokens)
    merges: list[str] = []
    while len(merges) < n_merges:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        # Ties broken by the pair text so the result never depends on dict order.
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append(f"{a} {b}")
        if a + b not in seen:
            tokens.append(a + b)
            seen.add(a + b)
        new_words: Counter[tuple[str, ...]] = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words[tuple(out)] += count
        words = new_words
    i = 0
    while len(tokens) < pad_to:
        tokens.append(f"<unused_{i}>")
        i += 1
    return Vocab(tokens=tokens + list(CODESHELL_SPECIALS), merges=merges, n_special=len(CODESHELL_SPECIALS))


@dataclass(frozen=True)
class Shape:
    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 256
    n_ctx_train: int = 8192
    vocab_pad_to: int = 0

    @property
    def n_params(self) -> int:
        v = len(tiny_vocab(pad_to=self.vocab_pad_to).tokens)
        hd = self.n_embd // self.n_head
        qkv = self.n_embd + 2 * self.n_head_kv * hd
        per_layer = 4 * self.n_embd + qkv * (self.n_embd + 1) + self.n_embd * (self.n_embd + 1) + 2 * self.n_ff * self.n_embd + self.n_ff + self.n_embd
        return 2 * v * self.n_embd + 2 * self.n_embd + self.n_layer * per_layer


TINY = Shape()
# CodeShell-shaped (GQA, 4x MLP, 70k vocabulary) at ~400M parameters, for timing only.
BENCH_400M = Shape(n_embd=1024, n_layer=24, n_head=16, n_head_kv=4, n_ff=4096, vocab_pad_to=70000)


def write_codeshell_gguf(path: str | Path, shape: Shape = TINY, seed: int = 0, dtype: str = "f32", name: str | None = None) -> Path:
    """Write a random-weight ``codeshell`` GGUF at ``path`` (f32 or f16 weights)."""
    import gguf

    from .pipeline.checkpoint import HParams, Tokenizer
    from .pipeline.convert import add_metadata

    path = Path(path)
    vocab = tiny_vocab(pad_to=shape.vocab_pad_to)
    rng = np.random.default_rng(seed)
    np_dtype = np.float16 if dtype == "f16" else np.float32

    tmp = path.with_name(path.name + ".part")
    w = gguf.GGUFWriter(str(tmp), "codeshell")
    hp = HParams(
        n_vocab=len(vocab.tokens), n_embd=shape.n_embd, n_layer=shape.n_layer, n_head=shape.n_head,
        n_head_kv=shape.n_head_kv, n_ff=shape.n_ff, n_ctx=shape.n_ctx_train, norm_eps=1e-5, rope_base=10000.0,
        rope_linear_factor=None, name=name or f"codeshell-random-{shape.n_params // 1_000_000}M",
    )
    eot = vocab.special_base  # <|endoftext|>
    tok = Tokenizer(
        tokens=vocab.tokens,
        types=[gguf.TokenType.NORMAL] * vocab.special_base + [gguf.TokenType.CONTROL] * vocab.n_special,
        merges=vocab.merges, bos_id=eot, eos_id=eot, chat_template="", source="synthetic",
    )
    add_metadata(w, hp, tok, dtype)

    n_vocab, d = len(vocab.tokens), shape.n_embd
    hd = d // shape.n_head
    qkv = d + 2 * shape.n_head_kv * hd

    def rand(*dims: int, std: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(dims, dtype=np.float32) * std).astype(np_dtype)

    def norm(val: float) -> np.ndarray:
        # Norms and biases stay f32: ggml wants them so, as llama.cpp's converters write them.
        return np.full(d, val, dtype=np.float32)

    w.add_tensor("token_embd.weight", rand(n_vocab, d))
    w.add_tensor("output_norm.weight", norm(1.0))
    w.add_tensor("output_norm.bias", norm(0.0))
    w.add_tensor("output.weight", rand(n_vocab, d))
    for i in range(shape.n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", norm(1.0))
        w.add_tensor(p + "attn_norm.bias", norm(0.0))
        w.add_tensor(p + "attn_qkv.weight", rand(qkv, d))
        w.add_tensor(p + "attn_qkv.bias", np.zeros(qkv, dtype=np.float32))
        w.add_tensor(p + "attn_output.weight", rand(d, d))
        w.add_tensor(p + "attn_output.bias", norm(0.0))
        w.add_tensor(p + "ffn_norm.weight", norm(1.0))
        w.add_tensor(p + "ffn_norm.bias", norm(0.0))
        w.add_tensor(p + "ffn_up.weight", rand(shape.n_ff, d))
        w.add_tensor(p + "ffn_up.bias", np.zeros(shape.n_ff, dtype=np.float32))
        w.add_tensor(p + "ffn_down.weight", rand(d, shape.n_ff))
        w.add_tensor(p + "ffn_down.bias", norm(0.0))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)
    return path
