"""CLI wiring for convert / quantize / generate / chat: parsers here, logic in sibling modules.

Implementations are imported only when a command runs, so ``codeshell-lsp -h`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..subcommand import lazy


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def run_convert(args: argparse.Namespace) -> int:
    from .convert import convert

    s = convert(args.hf_dir, args.out, args.outtype, progress=not args.no_progress)
    print(
        f"wrote {s.out} ({s.outtype}): {s.tensors} tensors, {s.params / 1e6:.2f}M parameters, "
        f"{_size(s.out_bytes)} from {_size(s.source_bytes)} of {s.source_kind} in {s.seconds:.1f} s"
    )
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from .quantize import quantize

    r = quantize(args.input, args.out, args.type, threads=args.threads or 0)
    print(
        f"wrote {r.out} ({r.qtype}): {_size(r.in_bytes)} -> {_size(r.out_bytes)} "
        f"(ratio {r.ratio:.3f}) in {r.seconds:.1f} s"
    )
    return 0


def _model(args: argparse.Namespace) -> Path:
    from ..model_choice import resolve_model
    from ..model_file import check_file

    path, _ = resolve_model(args.model)
    check_file(path)
    return path


def _sampling(args: argparse.Namespace):  # -> Sampling
    from .generate import Sampling

    return Sampling(temp=args.temp, top_k=args.top_k, top_p=args.top_p, repeat_penalty=args.repeat_penalty)


def run_generate(args: argparse.Namespace) -> int:
    from .generate import generate

    generate(
        _model(args), args.prompt, n_predict=args.n, sampling=_sampling(args), seed=args.seed, n_ctx=args.ctx, threads=args.threads
    )
    return 0


def run_chat(args: argparse.Namespace) -> int:
    from .generate import chat

    return chat(
        _model(args),
        plain=args.plain,
        system=args.system or "",
        n_predict=args.n,
        sampling=_sampling(args),
        seed=args.seed,
        n_ctx=args.ctx,
        threads=args.threads,
    )


def _sampling_flags(p: argparse.ArgumentParser, n_default: int, temp_default: float) -> None:
    p.add_argument("-m", "--model", dest="model", metavar="MODEL", help="GGUF model (default: $CODESHELL_LSP_MODEL, then the embedded model)")
    p.add_argument("-n", "--n-predict", dest="n", type=int, default=n_default, metavar="N", help=f"tokens to generate at most, -1: until the context is full (default {n_default})")
    p.add_argument("--temp", type=float, default=temp_default, metavar="T", help=f"temperature, 0 = greedy (default {temp_default})")
    p.add_argument("--top-k", type=int, default=40, metavar="K", help="top-k sampling (default 40)")
    p.add_argument("--top-p", type=float, default=0.95, metavar="P", help="top-p sampling (default 0.95)")
    p.add_argument("--repeat-penalty", type=float, default=1.1, metavar="R", help="repetition penalty (default 1.1)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed, for repeatable sampling")


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register the pipeline subcommands on the main parser."""

    conv = sub.add_parser(
        "convert",
        parents=[common],
        help="Hugging Face CodeShell checkpoint -> GGUF",
        description="Convert a Hugging Face CodeShell checkpoint (config.json, tokenizer.json or vocab.json+merges.txt, "
        "safetensors or PyTorch .bin weights, single or sharded) to a codeshell GGUF, one tensor block at a time.",
    )
    conv.add_argument("hf_dir", metavar="HF_DIR", help="checkpoint directory")
    conv.add_argument("out", metavar="OUT.gguf", help="GGUF file to write (written as OUT.gguf.part, renamed when complete)")
    conv.add_argument(
        "--outtype",
        choices=["f32", "f16", "bf16", "q8_0"],
        default="f16",
        help="weight type of 2-D tensors; norms and biases stay f32 (default f16)",
    )
    conv.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    conv.set_defaults(run=lazy(".pipeline.commands", "run_convert"))

    from .quantize import types_help  # a plain table, no llama.cpp import

    quant = sub.add_parser(
        "quantize",
        parents=[common],
        help="GGUF -> quantized GGUF (llama.cpp's quantizer)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Quantize a GGUF with llama.cpp's quantizer; prints sizes before and after.",
        epilog="types (case-insensitive; bpw = bits per weight):\n" + types_help(),
    )
    quant.add_argument("input", metavar="IN.gguf", help="f32/f16/bf16 GGUF (e.g. from convert)")
    quant.add_argument("out", metavar="OUT.gguf", help="GGUF file to write")
    quant.add_argument("type", metavar="TYPE", help="quantization type, e.g. Q4_0, Q8_0, Q4_K_M (list below)")
    quant.set_defaults(run=lazy(".pipeline.commands", "run_quantize"))

    gen = sub.add_parser(
        "generate",
        parents=[common],
        help="one-shot generation with timings (like llama.cpp's main -p)",
        description="Stream a continuation of PROMPT, then print load / prompt-eval / eval timings to stderr. "
        "Special-token texts in PROMPT (e.g. <fim_prefix>) are read as those tokens.",
    )
    gen.add_argument("-p", "--prompt", required=True, metavar="PROMPT", help="text to continue")
    _sampling_flags(gen, 128, 0.8)
    gen.set_defaults(run=lazy(".pipeline.commands", "run_generate"))

    ch = sub.add_parser(
        "chat",
        parents=[common],
        help="interactive multi-turn chat kept in the KV cache (like llama.cpp's main -ins)",
        description="Chat with a model: CodeShell-Chat's '## human:' / '## assistant:' turns (stopping at |<end>| "
        "and <|endoftext|>), or --plain continuation for base models. /reset starts over; /exit or Ctrl-D quits.",
    )
    _sampling_flags(ch, -1, 0.8)
    ch.add_argument("--plain", action="store_true", help="plain continuation: each line is appended as is (base models)")
    ch.add_argument("--system", metavar="TEXT", help="text placed before the first turn")
    ch.set_defaults(run=lazy(".pipeline.commands", "run_chat"))


