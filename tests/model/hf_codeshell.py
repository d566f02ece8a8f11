"""A tiny random-weight Hugging Face CodeShell checkpoint, in the real HF layout and names,
and a NumPy reference forward pass of the architecture written from its definition.

The checkpoint: config.json (model_type "codeshell", GQA), tokenizer.json (a byte-level
BPE trained here with CodeShell's pre-tokenizer: single digits, then GPT-2's regex; the
CodeShell special tokens after the BPE vocabulary; embedding rows padded past the
tokenizer like CodeShell-7B's 70144), tokenizer_config.json, and weights as
safetensors or PyTorch .bin, single or sharded with an index.
"""

from __future__ import annotations

import json
import math
import random
from functools import lru_cache
from pathlib import Path

import numpy as np

from codeshell_lsp.synthetic import CODESHELL_SPECIALS

SHAPE = dict(n_embd=64, n_head=4, num_query_groups=2, n_layer=2, n_inner=192, n_positions=512)
VOCAB_PAD = 12  # embedding rows beyond the tokenizer's last id


_CODE = '''
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

for i in range(10):
    print(i, fibonacci(i))
import os, sys
with open(path, "r", encoding="utf-8") as f:
    data = json.load(f)
int main(int argc, char **argv) { printf("%d\\n", argc); return 0; }
const add = (a, b) => a + b; // it's 2024, we've got arrow functions
SELECT id, name FROM users WHERE age >= 18 ORDER BY name;
'''
_CJK = "这是一个用于测试的中文句子，包含代码补全和模型转换。函数返回斐波那契数列的第n项。日本語のテキストも少し。한국어 문장."


def corpus() -> list[str]:
    rng = random.Random(0)
    lines = (_CODE * 3).splitlines() + [_CJK] * 4
    lines += [" ".join(str(rng.randint(0, 10**6)) for _ in range(8)) for _ in range(20)]
    return lines


@lru_cache(maxsize=1)
def tokenizer_json() -> str:
    """tokenizer.json text of a small BPE trained like CodeShell's (same pre-tokenizer and decoder)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, min_frequency=2, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(corpus(), trainer)
    tok.add_special_tokens(list(CODESHELL_SPECIALS))
    return tok.to_str()


def hf_tokenizer():
    from tokenizers import Tokenizer

    return Tokenizer.from_str(tokenizer_json())


def config(n_vocab: int, **over) -> dict:
    eot = n_vocab - VOCAB_PAD - len(CODESHELL_SPECIALS)
    cfg = {
        "activation_function": "gelu_pytorch_tanh",
        "architectures": ["CodeShellForCausalLM"],
        "model_type": "codeshell",
        "group_query_attention": True,
        "position_embedding_type": "rope",
        "rope_scaling": None,
        "bos_token_id": eot,
        "eos_token_id": eot,
        "vocab_size": n_vocab,
        "layer_norm_epsilon": 1e-5,
        "torch_dtype": "float32",
        **SHAPE,
    }
    cfg.update(over)
    return cfg


def random_weights(cfg: dict, seed: int = 0, tied: bool = False) -> dict[str, np.ndarray]:
    """HF-named float32 weights. Scales are chosen so attention is far from uniform and the
    logits spread widely: a wrong RoPE, head grouping or bias shows up as a different top-1."""
    rng = np.random.default_rng(seed)
    d, ff, v = cfg["n_embd"], cfg["n_inner"], cfg["vocab_size"]
    hd = d // cfg["n_head"]
    qkv = d + 2 * cfg["num_query_groups"] * hd

    def mat(rows: int, cols: int, scale: float = 1.0) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * scale / math.sqrt(cols)).astype(np.float32)

    def vec(n: int, center: float = 0.0, scale: float = 0.1) -> np.ndarray:
        return (center + rng.standard_normal(n) * scale).astype(np.float32)

    w = {"transformer.wte.weight": (rng.standard_normal((v, d))).astype(np.float32)}
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        w[p + "ln_1.weight"] = vec(d, 1.0)
        w[p + "ln_1.bias"] = vec(d)
        w[p + "attn.c_attn.weight"] = mat(qkv, d)
        w[p + "attn.c_attn.bias"] = vec(qkv)
        w[p + "attn.c_proj.weight"] = mat(d, d)
        w[p + "attn.c_proj.bias"] = vec(d)
        w[p + "ln_2.weight"] = vec(d, 1.0)
        w[p + "ln_2.bias"] = vec(d)
        w[p + "mlp.c_fc.weight"] = mat(ff, d)
        w[p + "mlp.c_fc.bias"] = vec(ff)
        w[p + "mlp.c_proj.weight"] = mat(d, ff)
        w[p + "mlp.c_proj.bias"] = vec(d)
    w["transformer.ln_f.weight"] = vec(d, 1.0)
    w["transformer.ln_f.bias"] = vec(d)
    if not tied:
        w["lm_head.weight"] = mat(v, d, 4.0)
    return w


def _shards(names: list[str], n: int) -> list[list[str]]:
    return [names[i::n] for i in range(n)]


def write_checkpoint(
    out: Path,
    fmt: str = "safetensors",
    shards: int = 1,
    tied: bool = False,
    seed: int = 0,
    dtype: str = "f32",
    config_over: dict | None = None,
    weights: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Write the checkpoint into ``out``; returns its weights as float32 (as stored, after dtype rounding)."""
    out.mkdir(parents=True, exist_ok=True)
    tj = tokenizer_json()
    n_tok = len(json.loads(tj)["model"]["vocab"]) + len(CODESHELL_SPECIALS)
    cfg = config(n_tok + VOCAB_PAD, **(config_over or {}))
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    (out / "tokenizer.json").write_text(tj)
    (out / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>"})
    )
    w = weights if weights is not None else random_weights(cfg, seed=seed, tied=tied)
    names = list(w)
    groups = _shards(names, shards)
    if fmt == "safetensors":
        stored = _write_safetensors(out, w, groups, dtype)
    elif fmt == "bin":
        stored = _write_bin(out, w, groups, dtype, n_layer=cfg["n_layer"], head_dim=cfg["n_embd"] // cfg["n_head"])
    else:
        raise ValueError(fmt)
    return stored


def _rounded(a: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "f16":
        return a.astype(np.float16).astype(np.float32)
    if dtype == "bf16":
        import torch

        return torch.from_numpy(a).to(torch.bfloat16).float().numpy()
    return a


def _shard_name(stem: str, ext: str, i: int, n: int) -> str:
    return f"{stem}.{ext}" if n == 1 else f"{stem}-{i + 1:05d}-of-{n:05d}.{ext}"


def _write_index(out: Path, index: str, weight_map: dict[str, str], total: int) -> None:
    (out / index).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))


def _write_safetensors(out: Path, w: dict, groups: list[list[str]], dtype: str) -> dict[str, np.ndarray]:
    weight_map, total = {}, 0
    for i, group in enumerate(groups):
        fname = _shard_name("model", "safetensors", i, len(groups))
        if dtype == "bf16":
            import torch
            from safetensors.torch import save_file as save_torch

            save_torch({k: torch.from_numpy(w[k]).to(torch.bfloat16) for k in group}, str(out / fname))
        else:
            from safetensors.numpy import save_file

            np_dtype = np.float16 if dtype == "f16" else np.float32
            save_file({k: w[k].astype(np_dtype) for k in group}, str(out / fname))
        for k in group:
            weight_map[k] = fname
            total += w[k].size * (4 if dtype == "f32" else 2)
    if len(groups) > 1:
        _write_index(out, "model.safetensors.index.json", weight_map, total)
    return {k: _rounded(a, dtype) for k, a in w.items()}


def _write_bin(out: Path, w: dict, groups: list[list[str]], dtype: str, n_layer: int, head_dim: int) -> dict[str, np.ndarray]:
    import torch

    tdtype = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    weight_map, total = {}, 0
    for i, group in enumerate(groups):
        fname = _shard_name("pytorch_model", "bin", i, len(groups))
        sd = {k: torch.from_numpy(w[k]).to(tdtype) for k in group}
        if i == 0:
            # Real CodeShell .bin checkpoints also carry the rotary buffers; they are not weights.
            for layer in range(n_layer):
                sd[f"transformer.h.{layer}.attn.rotary_emb.inv_freq"] = 1.0 / (
                    10000 ** (torch.arange(0, head_dim, 2).float() / head_dim)
                )
        torch.save(sd, out / fname)
        for k in group:
            weight_map[k] = fname
            total += w[k].size * (4 if dtype == "f32" else 2)
    if len(groups) > 1:
        _write_index(out, "pytorch_model.bin.index.json", weight_map, total)
    return {k: _rounded(a, dtype) for k, a in w.items()}


# ---------------------------------------------------------------------------- reference


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _rope_neox(x: np.ndarray, pos: np.ndarray, base: float) -> np.ndarray:
    """NEOX rotary over the whole head: rotate (x[:h/2], x[h/2:]) pairs. x: (T, heads, hd)."""
    hd = x.shape[-1]
    inv_freq = base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = pos[:, None] * inv_freq[None, :]  # (T, hd/2)
    cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None, :]
    sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None, :]
    rot = np.concatenate([-x[..., hd // 2 :], x[..., : hd // 2]], -1)
    return x * cos + rot * sin


def reference_logits(w: dict[str, np.ndarray], cfg: dict, ids: list[int]) -> np.ndarray:
    """CodeShell forward pass in float64: (len(ids), vocab) logits."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    d, H = cfg["n_embd"], cfg["n_head"]
    KV = cfg["num_query_groups"] if cfg.get("group_query_attention") else H
    hd, eps = d // H, cfg["layer_norm_epsilon"]
    T = len(ids)
    pos = np.arange(T, dtype=np.float64)
    mask = np.triu(np.full((T, T), -np.inf), 1)
    x = w["transformer.wte.weight"][ids]
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        h = _layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"].T + w[p + "attn.c_attn.bias"]
        q = qkv[:, :d].reshape(T, H, hd)
        k = qkv[:, d : d + KV * hd].reshape(T, KV, hd)
        v = qkv[:, d + KV * hd :].reshape(T, KV, hd)
        q, k = _rope_neox(q, pos, 10000.0), _rope_neox(k, pos, 10000.0)
        # Grouped KV: query head j reads KV head j // (H / KV), like HF repeat_kv.
        k, v = np.repeat(k, H // KV, axis=1), np.repeat(v, H // KV, axis=1)
        att = np.einsum("thd,shd->hts", q, k) / math.sqrt(hd) + mask
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", att, v).reshape(T, d)
        x = x + o @ w[p + "attn.c_proj.weight"].T + w[p + "attn.c_proj.bias"]
        h = _layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        f = _gelu_tanh(h @ w[p + "mlp.c_fc.weight"].T + w[p + "mlp.c_fc.bias"])
        x = x + f @ w[p + "mlp.c_proj.weight"].T + w[p + "mlp.c_proj.bias"]
    x = _layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    head = w.get("lm_head.weight", w["transformer.wte.weight"])
    return x @ head.T
