"""`codeshell-lsp bench latency`: which benchmark its flags ask for (``--documents``,
``--typing``, ``--extra-context``, ``--workspace`` or the single-file traces), run and reported. Kept apart
from the benchmarks so that they do not import each other."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..errors import CodeshellError
from ..model_choice import model_path
from . import latency
from . import traces as traces_module


def run_command(args: argparse.Namespace) -> int:
    if args.quick:
        from ..synthetic import write_codeshell_gguf

        model = model_path(args.model, "--model") if args.model else write_codeshell_gguf(Path(os.environ.get("TMPDIR", "/tmp")) / "codeshell-bench-tiny.gguf")
    else:
        model = model_path(args.model, "--model") if args.model else latency.bench_model_path()
    if not model.exists():
        raise CodeshellError(f"model file {model} does not exist")
    if getattr(args, "documents", False):
        from . import multifile

        docs = multifile.run(model, args.threads or 2, args.max_tokens, args.prompt_tokens,
                             args.limit or (24 if args.quick else None), peer=not args.no_peer)
        print(json.dumps(docs) if args.json else multifile.table(docs))
        return 0
    if getattr(args, "workspace", None):
        from . import workspace

        ws = workspace.run(model, args.workspace, args.threads or 2, args.max_tokens, args.prompt_tokens,
                           args.limit or (6 if args.quick else 40))
        print(json.dumps(ws) if args.json else workspace.table(ws))
        return 0
    traces = traces_module.load_all()
    limit = args.limit
    if args.quick:
        limit = limit or 6
    if getattr(args, "typing", False):
        from . import typing as typing_bench

        typed = typing_bench.run(model, args.threads or 2, args.max_tokens, args.prompt_tokens, traces, limit)
        print(json.dumps(typed) if args.json else typing_bench.table(typed))
        return 0
    if getattr(args, "extra_context", False):
        index_dir = Path(args.index_dir).resolve() if args.index_dir else None
        extra = latency.run_extra(model, args.threads or 2, args.max_tokens, args.prompt_tokens, limit, traces, index_dir)
        print(json.dumps(extra) if args.json else latency.extra_table(extra))
        return 0
    report = latency.run(model, args.threads or 2, args.max_tokens, args.prompt_tokens, args.nonreuse_requests, limit, traces)
    print(json.dumps(report) if args.json else latency.table(report))
    return 0
