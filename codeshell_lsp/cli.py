"""Command line entry: builds the argparse tree and dispatches; no logic of its own.

Exit codes: 0 success, 2 usage error, 1 anything else, with one line on stderr
naming the cause.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import __version__
from .errors import CodeshellError
from .options import BACKEND_KINDS, MULTILINE, TEMPLATES
from .subcommand import lazy


def _common() -> argparse.ArgumentParser:
    """Flags every subcommand accepts."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-file", metavar="PATH", help="append logs to PATH")
    common.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: llama.cpp too)")
    common.add_argument("--threads", type=int, metavar="N", help="CPU threads for llama.cpp (default: half the logical cores, max 8)")
    common.add_argument("--ctx", type=int, metavar="N", help="context length in tokens (default: 4096 or the model's, if smaller)")
    return common


def _model_flag(p: argparse.ArgumentParser, *names: str) -> None:
    p.add_argument(
        *(names or ("--model",)),
        dest="model",
        metavar="MODEL",
        help="GGUF model file or name (gemma, embedded; default: $CODESHELL_LSP_MODEL, then the user config, then the embedded model)",
    )


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="codeshell-lsp",
        description="Local AI code completion language server (CodeShell GGUF on llama.cpp).",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _model_flag(parser)
    parser.set_defaults(run=lazy(".server", "run_serve"), stdio=True, tcp=False, host="127.0.0.1", port=2087)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", parents=[common], help="run the language server (stdio by default)")
    _model_flag(serve)
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument("--stdio", action="store_true", default=True, help="speak LSP on stdin/stdout (default)")
    mode.add_argument("--tcp", action="store_true", help="listen on TCP instead")
    serve.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=2087, help="TCP port (default 2087)")
    serve.set_defaults(run=lazy(".server", "run_serve"))

    complete = sub.add_parser(
        "complete", parents=[common], help="one completion at FILE:LINE:COL (1-based; COL in characters)"
    )
    complete.add_argument("location", metavar="FILE:LINE:COL")
    _model_flag(complete)
    complete.add_argument("--max-tokens", type=int, metavar="N", help="tokens to generate at most (default 64)")
    complete.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (default 0: greedy)")
    complete.add_argument(
        "--template", choices=TEMPLATES, help="FIM template (default auto: detected from the model's vocabulary)"
    )
    complete.add_argument("--multiline", choices=MULTILINE, help="multi-line policy (default auto)")
    complete.add_argument("--no-cache-reuse", action="store_true", help="re-evaluate the whole prompt (cache.reuse=false)")
    complete.add_argument("--backend", choices=BACKEND_KINDS, help="where completions come from (default local)")
    complete.add_argument("--url", help="base URL of a remote backend server")
    complete.add_argument("--json", action="store_true", help="print one JSON object with text, counters and timings")
    complete.set_defaults(run=lazy(".commands", "run_complete"))

    info = sub.add_parser("info", parents=[common], help="facts about a GGUF model")
    info.add_argument("model", nargs="?", metavar="MODEL", help="GGUF file or model name (default: as for --model)")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=lazy(".commands", "run_info"))

    from .pipeline.commands import add_parsers as add_pipeline_parsers

    add_pipeline_parsers(sub, common)

    from .bench.commands import add_parsers as add_bench_parsers

    add_bench_parsers(sub, common)

    from .registry import add_parsers as add_model_parsers
    from .user_config import add_parsers as add_config_parsers

    add_model_parsers(sub, common)
    add_config_parsers(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .log import setup_logging

    try:
        setup_logging(verbose=args.verbose, log_file=args.log_file, stderr=args.command not in (None, "serve"))
        return int(args.run(args) or 0)
    except CodeshellError as e:
        print(f"codeshell-lsp: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("codeshell-lsp: interrupted", file=sys.stderr)
        return 130
