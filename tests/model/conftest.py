"""Fixtures of the model-pipeline tests: a tiny HF CodeShell checkpoint and its conversions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from codeshell_lsp.pipeline.convert import convert

from .hf_codeshell import write_checkpoint


@dataclass
class Checkpoint:
    path: Path
    weights: dict[str, np.ndarray]  # float32, as stored

    @property
    def config(self) -> dict:
        return json.loads((self.path / "config.json").read_text())


@pytest.fixture(scope="session")
def hf_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Checkpoint:
    """Single-file f32 safetensors checkpoint, 2 layers, GQA (4 heads, 2 KV heads)."""
    path = tmp_path_factory.mktemp("hf") / "codeshell-tiny"
    return Checkpoint(path, write_checkpoint(path))


@pytest.fixture(scope="session")
def converted(hf_ckpt: Checkpoint, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """outtype -> GGUF converted from ``hf_ckpt``."""
    out = tmp_path_factory.mktemp("gguf")
    return {t: convert(hf_ckpt.path, out / f"tiny-{t}.gguf", t).out for t in ("f32", "f16", "bf16", "q8_0")}


def llama_logits(model: Path, ids: list[int], kv_f32: bool = False) -> np.ndarray:
    """llama.cpp's logits at every position of ``ids``."""
    from llama_cpp import GGML_TYPE_F32, Llama

    kv = dict(type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32) if kv_f32 else {}
    llm = Llama(
        str(model), n_ctx=256, n_batch=256, n_ubatch=256, logits_all=True, n_threads=1, n_threads_batch=1, verbose=False, **kv
    )
    try:
        llm.eval(ids)
        return np.array(llm.scores[: len(ids)], dtype=np.float64)
    finally:
        llm.close()
