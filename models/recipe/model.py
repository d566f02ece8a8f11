"""CodeShell architecture in PyTorch, with Hugging Face ``CodeShellForCausalLM`` names.

Pre-LayerNorm blocks (LayerNorm with bias), fused ``c_attn`` projecting to
q (all heads) | k | v (``num_query_groups`` heads each: GQA, consecutive query heads
share a key/value head), NEOX rotary embedding over the full head, causal attention
scaled by 1/sqrt(head_dim), tanh-GELU MLP of width 4 * n_embd, final ``ln_f`` and an
``lm_head`` without bias. This is what llama.cpp's ``codeshell`` graph computes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class CodeShellConfig:
    vocab_size: int
    n_embd: int = 256
    n_layer: int = 6
    n_head: int = 8
    num_query_groups: int = 2
    n_positions: int = 1024
    layer_norm_epsilon: float = 1e-5
    rope_base: float = 10000.0
    tie_word_embeddings: bool = True

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def n_inner(self) -> int:
        return 4 * self.n_embd

    def to_dict(self) -> dict:
        return asdict(self)


def rope_tables(cfg: CodeShellConfig, length: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of shape (length, head_dim) for NEOX rotary over the whole head."""
    hd = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_base ** (torch.arange(0, hd, 2, dtype=torch.float32, device=device) / hd))
    freqs = torch.outer(torch.arange(length, dtype=torch.float32, device=device), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (B, H, T, hd). NEOX style: rotate the two halves of the head against each other."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    def __init__(self, cfg: CodeShellConfig):
        super().__init__()
        self.cfg = cfg
        kv_dim = cfg.num_query_groups * cfg.head_dim
        self.c_attn = nn.Linear(cfg.n_embd, cfg.n_embd + 2 * kv_dim)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        B, T, _ = x.shape
        kv_dim = cfg.num_query_groups * cfg.head_dim
        q, k, v = self.c_attn(x).split([cfg.n_embd, kv_dim, kv_dim], dim=-1)
        q = q.view(B, T, cfg.n_head, cfg.head_dim).transpose(1, 2)
        k = k.view(B, T, cfg.num_query_groups, cfg.head_dim).transpose(1, 2)
        v = v.view(B, T, cfg.num_query_groups, cfg.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = cfg.n_head // cfg.num_query_groups
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, cfg.n_embd))


class MLP(nn.Module):
    def __init__(self, cfg: CodeShellConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, cfg.n_inner)
        self.c_proj = nn.Linear(cfg.n_inner, cfg.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, cfg: CodeShellConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.ln_1(x), cos, sin)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, cfg: CodeShellConfig):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)


class CodeShellForCausalLM(nn.Module):
    def __init__(self, cfg: CodeShellConfig):
        super().__init__()
        self.cfg = cfg
        self.transformer = Transformer(cfg)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.transformer.wte.weight
        self._init_weights()

    def _init_weights(self) -> None:
        for name, p in self.named_parameters():
            if name.endswith(".bias"):
                nn.init.zeros_(p)
            elif "ln_" in name:
                nn.init.ones_(p)
            elif name.endswith("c_proj.weight"):
                # GPT-2's scaling of residual projections keeps the stream's variance flat.
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * self.cfg.n_layer))
            else:
                nn.init.normal_(p, std=0.02)

    def n_params(self) -> int:
        """Parameters as stored in the exported checkpoint (a tied lm_head counts twice)."""
        n = sum(p.numel() for p in self.parameters())
        return n + (self.lm_head.weight.numel() if self.cfg.tie_word_embeddings else 0)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        T = idx.shape[1]
        cos, sin = rope_tables(self.cfg, T, idx.device)
        x = self.transformer.wte(idx)
        for block in self.transformer.h:
            x = block(x, cos, sin)
        logits = self.lm_head(self.transformer.ln_f(x))
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        """Weights under CodeShell's HF names, lm_head always present (llama.cpp needs output.weight)."""
        sd = {k: v.detach().clone().contiguous() for k, v in self.state_dict().items()}
        sd["lm_head.weight"] = self.lm_head.weight.detach().clone().contiguous()
        return sd
