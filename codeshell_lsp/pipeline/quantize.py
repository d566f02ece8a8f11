"""GGUF -> quantized GGUF through llama.cpp's own quantizer (``llama_model_quantize``).

Writes ``OUT.part`` and renames it at the end; a failure leaves no OUT behind.
Only types that need no importance matrix are offered (this package computes none).
"""

from __future__ import annotations

import ctypes
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import QuantizeError
from ..log import llama_verbose
from ..model_file import check_file

# name -> (llama_ftype value from llama.h, one-line description). Bits per weight are
# the type's own; K-quant "mixes" keep some tensors at a higher type, so their figure
# is llama.cpp's whole-model average on a 7-8B model.
TYPES: dict[str, tuple[int, str]] = {
    "Q4_0": (2, "4.5 bpw, the classic 4-bit (CodeShell-7B: 15 GB -> ~4.3 GB)"),
    "Q4_1": (3, "5.0 bpw, 4-bit with per-block minimum"),
    "Q5_0": (8, "5.5 bpw, 5-bit"),
    "Q5_1": (9, "6.0 bpw, 5-bit with per-block minimum"),
    "Q8_0": (7, "8.5 bpw, near-lossless 8-bit"),
    "Q2_K": (10, "~3.2 bpw mix, smallest K-quant, large quality loss"),
    "Q3_K_S": (11, "~3.6 bpw mix"),
    "Q3_K_M": (12, "~4.0 bpw mix"),
    "Q3_K": (12, "alias for Q3_K_M"),
    "Q3_K_L": (13, "~4.3 bpw mix"),
    "Q4_K_S": (14, "~4.7 bpw mix"),
    "Q4_K_M": (15, "~4.9 bpw mix, the usual recommendation"),
    "Q4_K": (15, "alias for Q4_K_M"),
    "Q5_K_S": (16, "~5.6 bpw mix"),
    "Q5_K_M": (17, "~5.7 bpw mix"),
    "Q5_K": (17, "alias for Q5_K_M"),
    "Q6_K": (18, "6.56 bpw"),
    "IQ3_XS": (22, "3.3 bpw non-linear"),
    "IQ3_S": (26, "3.44 bpw non-linear"),
    "IQ3_M": (27, "~3.7 bpw non-linear mix"),
    "IQ4_NL": (25, "4.5 bpw non-linear"),
    "IQ4_XS": (30, "4.25 bpw non-linear"),
    "F16": (1, "16 bpw half precision"),
    "BF16": (32, "16 bpw bfloat16"),
    "F32": (0, "32 bpw full precision"),
}


def types_help() -> str:
    return "\n".join(f"  {name:<7} {desc}" for name, (_, desc) in TYPES.items())


@dataclass(frozen=True)
class Result:
    out: Path
    qtype: str
    in_bytes: int
    out_bytes: int
    seconds: float

    @property
    def ratio(self) -> float:
        return self.out_bytes / self.in_bytes


def parse_type(name: str) -> str:
    key = name.strip().upper()
    if key not in TYPES:
        raise QuantizeError(f"unknown quantization type {name!r}; choose from {', '.join(TYPES)}")
    return key


def _check_not_quantized(path: Path, key: str) -> None:
    """llama.cpp refuses to requantize (it would stack two roundings); say so before it fails."""
    import gguf

    try:
        reader = gguf.GGUFReader(path)
    except (OSError, ValueError) as e:
        raise QuantizeError(f"{path}: unreadable GGUF: {e}") from e
    plain = {gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.BF16}
    quantized = sorted({t.tensor_type.name for t in reader.tensors if t.tensor_type not in plain})
    if quantized:
        raise QuantizeError(
            f"{path}: already quantized ({', '.join(quantized)}); quantize from the f16/f32 GGUF that "
            f"`codeshell-lsp convert` writes instead of re-quantizing to {key}"
        )


def quantize(src: str | Path, out: str | Path, qtype: str, threads: int = 0) -> Result:
    """Quantize ``src`` into ``out`` as ``qtype`` (a key of TYPES, any case)."""
    import llama_cpp

    t0 = time.perf_counter()
    src, out = Path(src), Path(out)
    key = parse_type(qtype)
    check_file(src)
    _check_not_quantized(src, key)
    if out.is_dir():
        raise QuantizeError(f"{out}: is a directory")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise QuantizeError(f"cannot write {out}: {out.parent} is not a writable directory")
    if out.resolve() == src.resolve():
        raise QuantizeError(f"{out}: output would overwrite the input")

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = TYPES[key][0]
    params.nthread = threads or 0
    part = out.with_name(out.name + ".part")
    # llama-cpp-python prints llama.cpp's log to stderr unless its logger is raised.
    lcp_log = logging.getLogger("llama-cpp-python")
    level = lcp_log.level
    if not llama_verbose():
        lcp_log.setLevel(logging.CRITICAL + 1)
    try:
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(part).encode(), ctypes.byref(params))
        if rc != 0:
            raise QuantizeError(f"llama.cpp could not quantize {src} to {key} (status {rc}; run with -vv for its log)")
        os.replace(part, out)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        lcp_log.setLevel(level)
    return Result(out, key, src.stat().st_size, out.stat().st_size, time.perf_counter() - t0)
