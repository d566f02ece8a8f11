"""Hugging Face CodeShell checkpoint -> ``codeshell`` GGUF, streamed row block by row block.

Everything is checked before the output is opened (config, tokenizer, every tensor's
name and shape), so a bad checkpoint fails fast. The GGUF is written to ``OUT.part``
and renamed at the end; any failure removes the part file. Tensors are converted in
blocks of rows straight from the checkpoint files into the output, so peak memory
is a few tens of MB whatever the model size.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConversionError
from ..log import get_logger
from .checkpoint import HParams, LazyTensor, Tokenizer, read_hparams, read_tensors, read_tokenizer

log = get_logger(__name__)

OUTTYPES = ("f32", "f16", "bf16", "q8_0")
_BLOCK_ELEMS = 1 << 22  # elements per converted block: 16 MiB as f32

# Buffers the HF model registers that are not weights.
_SKIP_SUFFIXES = (".attn.rotary_emb.inv_freq", ".attn.bias", ".attn.masked_bias")
_SKIP_NAMES = ("transformer.bias",)


@dataclass(frozen=True)
class Summary:
    out: Path
    outtype: str
    source_kind: str  # safetensors | bin
    source_bytes: int
    tensors: int
    params: int
    out_bytes: int
    seconds: float


@dataclass
class _Planned:
    gguf_name: str
    source: LazyTensor
    qtype: Any  # gguf.GGMLQuantizationType
    nbytes: int


def expected_shapes(hp: HParams) -> dict[str, tuple[int, ...]]:
    """HF tensor name -> shape (PyTorch order), for every weight a CodeShell checkpoint must have."""
    d, ff = hp.n_embd, hp.n_ff
    shapes: dict[str, tuple[int, ...]] = {
        "transformer.wte.weight": (hp.n_vocab, d),
        "transformer.ln_f.weight": (d,),
        "transformer.ln_f.bias": (d,),
        "lm_head.weight": (hp.n_vocab, d),
    }
    for i in range(hp.n_layer):
        p = f"transformer.h.{i}."
        shapes.update(
            {
                p + "ln_1.weight": (d,),
                p + "ln_1.bias": (d,),
                p + "attn.c_attn.weight": (hp.qkv_rows, d),
                p + "attn.c_attn.bias": (hp.qkv_rows,),
                p + "attn.c_proj.weight": (d, d),
                p + "attn.c_proj.bias": (d,),
                p + "ln_2.weight": (d,),
                p + "ln_2.bias": (d,),
                p + "mlp.c_fc.weight": (ff, d),
                p + "mlp.c_fc.bias": (ff,),
                p + "mlp.c_proj.weight": (d, ff),
                p + "mlp.c_proj.bias": (d,),
            }
        )
    return shapes


def _out_type(outtype: str, shape: tuple[int, ...]) -> Any:
    import gguf

    Q = gguf.GGMLQuantizationType
    # Norms and biases stay f32 in every output type, as ggml expects them.
    if outtype == "f32" or len(shape) < 2:
        return Q.F32
    if outtype == "bf16":
        return Q.BF16
    if outtype == "q8_0" and shape[-1] % gguf.GGML_QUANT_SIZES[Q.Q8_0][0] == 0:
        return Q.Q8_0
    return Q.F16


def _nbytes(shape: tuple[int, ...], qtype: Any) -> int:
    import gguf

    block, size = gguf.GGML_QUANT_SIZES[qtype]
    return int(np.prod(shape[:-1], dtype=np.int64)) * (shape[-1] // block) * size


def plan(hp: HParams, tensors: dict[str, LazyTensor], outtype: str) -> list[_Planned]:
    """Check every tensor against the config and decide its GGUF name and type."""
    import gguf

    shapes = expected_shapes(hp)
    if "lm_head.weight" not in tensors:
        # Tied embeddings: llama.cpp's codeshell graph needs output.weight, so write wte twice.
        tensors = {**tensors, "lm_head.weight": tensors.get("transformer.wte.weight")}  # type: ignore[dict-item]
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.CODESHELL, hp.n_layer)
    for name, t in tensors.items():
        if t is None:
            continue
        if name.endswith(_SKIP_SUFFIXES) or name in _SKIP_NAMES:
            continue
        if name not in shapes:
            raise ConversionError(f"{t.file}: unexpected tensor {name} (not part of a {hp.n_layer}-layer CodeShell)")
    planned = []
    for name, shape in shapes.items():
        t = tensors.get(name)
        if t is None:
            raise ConversionError(f"missing tensor {name} in the checkpoint (config.json says {hp.n_layer} layers)")
        if t.shape != shape:
            raise ConversionError(f"{t.file}: tensor {name} has shape {list(t.shape)}, config.json implies {list(shape)}")
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ConversionError(f"no GGUF name for tensor {name}")
        qtype = _out_type(outtype, shape)
        planned.append(_Planned(gguf_name, t, qtype, _nbytes(shape, qtype)))
    return planned


class _Stream:
    """Stands in for an ndarray in ``GGUFWriter.write_tensor_data``: converts and writes
    the tensor one block of rows at a time instead of holding it whole."""

    def __init__(self, p: _Planned, bar: Any) -> None:
        self.p, self.bar, self.nbytes = p, bar, p.nbytes

    def tofile(self, fout: Any) -> None:
        import gguf

        src = self.p.source
        n_rows = src.shape[0] if len(src.shape) > 1 else 1
        row_elems = max(1, int(np.prod(src.shape[1:], dtype=np.int64))) if len(src.shape) > 1 else 1
        step = max(1, _BLOCK_ELEMS // row_elems)
        written = 0
        for r in range(0, n_rows, step):
            block = src.rows(r, min(n_rows, r + step))
            if not np.isfinite(block).all():
                raise ConversionError(f"{src.file}: tensor {src.name} holds NaN or infinite values")
            out = gguf.quants.quantize(block, self.p.qtype)
            out.tofile(fout)
            written += out.nbytes
            self.bar.update(out.nbytes)
        if written != self.nbytes:
            raise ConversionError(f"internal: wrote {written} bytes for {self.p.gguf_name}, planned {self.nbytes}")


def _file_type(outtype: str) -> Any:
    import gguf

    F = gguf.LlamaFileType
    return {"f32": F.ALL_F32, "f16": F.MOSTLY_F16, "bf16": F.MOSTLY_BF16, "q8_0": F.MOSTLY_Q8_0}[outtype]


def add_metadata(w: Any, hp: HParams, tok: Tokenizer, outtype: str) -> None:
    """Every key llama.cpp reads for a ``codeshell`` model, and its BPE tokenizer."""
    import gguf

    w.add_name(hp.name)
    w.add_context_length(hp.n_ctx)
    w.add_embedding_length(hp.n_embd)
    w.add_block_count(hp.n_layer)
    w.add_feed_forward_length(hp.n_ff)
    w.add_head_count(hp.n_head)
    w.add_head_count_kv(hp.n_head_kv)
    w.add_layer_norm_eps(hp.norm_eps)
    w.add_rope_freq_base(hp.rope_base)
    if hp.rope_linear_factor is not None:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(hp.rope_linear_factor)
    w.add_file_type(_file_type(outtype))
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    w.add_tokenizer_model("gpt2")
    # CodeShell's HF pre-tokenizer: digits one by one, then GPT-2's byte-level regex.
    w.add_tokenizer_pre("codeshell")
    w.add_token_list(tok.tokens)
    w.add_token_types(tok.types)
    w.add_token_merges(tok.merges)
    if tok.bos_id is not None:
        w.add_bos_token_id(tok.bos_id)
    if tok.eos_id is not None:
        w.add_eos_token_id(tok.eos_id)
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)
    if tok.chat_template:
        w.add_chat_template(tok.chat_template)


def _check_out(out: Path, hf_dir: Path) -> None:
    if out.is_dir():
        raise ConversionError(f"{out}: is a directory")
    parent = out.parent
    if not parent.is_dir():
        raise ConversionError(f"cannot write {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK):
        raise ConversionError(f"cannot write {out}: {parent} is not writable")
    if out.resolve().parent == hf_dir.resolve() and out.suffix in (".safetensors", ".bin", ".json"):
        raise ConversionError(f"{out}: would overwrite part of the checkpoint")


def convert(hf_dir: str | Path, out: str | Path, outtype: str = "f16", progress: bool = False) -> Summary:
    """Convert the checkpoint in ``hf_dir`` to ``out``; raise ConversionError naming the cause."""
    import gguf
    from tqdm import tqdm

    t0 = time.perf_counter()
    hf_dir, out = Path(hf_dir), Path(out)
    if outtype not in OUTTYPES:
        raise ConversionError(f"unknown --outtype {outtype!r}; choose from {', '.join(OUTTYPES)}")
    hp = read_hparams(hf_dir)
    tok = read_tokenizer(hf_dir, hp.n_vocab)
    kind, tensors = read_tensors(hf_dir)
    planned = plan(hp, tensors, outtype)
    _check_out(out, hf_dir)
    source_bytes = sum(f.stat().st_size for f in {t.file for t in tensors.values()})

    part = out.with_name(out.name + ".part")
    w = gguf.GGUFWriter(None, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.CODESHELL])
    add_metadata(w, hp, tok, outtype)
    for p in planned:
        shape = p.source.shape
        w.add_tensor_info(p.gguf_name, shape, np.dtype(np.float32), p.nbytes, raw_dtype=p.qtype)
    total = sum(p.nbytes for p in planned)
    bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"convert {out.name}", file=sys.stderr, disable=not progress)
    try:
        try:
            w.write_header_to_file(part)
            w.write_kv_data_to_file()
            w.write_ti_data_to_file()
            for p in planned:
                w.write_tensor_data(_Stream(p, bar))  # type: ignore[arg-type]
            w.close()
        except OSError as e:
            raise ConversionError(f"cannot write {out}: {e.strerror or e}") from e
        os.replace(part, out)
    except BaseException:
        if w.fout is not None:
            w.close()
        part.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    params = sum(int(np.prod(p.source.shape, dtype=np.int64)) for p in planned)
    return Summary(
        out=out,
        outtype=outtype,
        source_kind=kind,
        source_bytes=source_bytes,
        tensors=len(planned),
        params=params,
        out_bytes=out.stat().st_size,
        seconds=time.perf_counter() - t0,
    )
