"""`codeshell-lsp bench latency`: keystroke latency through the real server.

Replays the editing traces (``traces.py``) through ``codeshell-lsp serve`` over
JSON-RPC — didChange then textDocument/completion per keystroke, as an editor sends
them — once with ``cache.reuse=false`` and once with ``cache.reuse=true``, in one run,
and measures each request from the client's side. Per-request token counts come from
``codeshell/stats`` deltas (the replay is sequential, so deltas are exact).

The floor is what no implementation can beat on this model and machine: evaluating
only the tokens that changed since the previous prompt (plus the last prompt token,
whose logits start generation) and decoding the same number of tokens the server
generated. It is measured in-process on the same model after the server runs.

Where ``llama-server`` is on PATH, the same prompts go to its ``/infill`` with
``cache_prompt`` and ``--cache-reuse 256`` for comparison.

``bench.latency_cli`` picks the benchmark from the flags: ``--documents`` runs
``bench.multifile`` (a trace typing into three files in turn: per-document KV,
``cache.documents=1`` against the default, and a restart), ``--typing`` runs
``bench.typing``.

``--extra-context`` replays the traces with ``cache.reuse=true`` twice, with the
other bench files open as other documents: ``context.otherFiles`` off, then on — what
extra context costs a keystroke (p50, tokens evaluated, extra-context tokens); with
``--index DIR`` a third time, DIR the workspace folder and its index built first.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .. import __version__, llama_server_binary
from ..context import Cursor
from ..kvplan import common_prefix
from ..options import Settings
from .traces import Trace, load_all, replay

DEFAULT_SHAPE_NAME = "codeshell-random-330M-q4_0.gguf"


@dataclass
class Sample:
    trace: str
    index: int
    ms: float
    evaluated: int
    reused: int
    generated: int
    cache_hit: bool
    answered: bool
    extra_evaluated: int = 0  # of evaluated / reused: extra-context tokens
    extra_reused: int = 0


def counted(name: str, index: int, ms: float, before: dict[str, Any], after: dict[str, Any], answered: bool) -> Sample:
    """One request's sample from the ``codeshell/stats`` before and after it (exact: the replay is sequential)."""

    def delta(key: str) -> int:
        return after.get(key, 0) - before.get(key, 0)

    return Sample(
        name, index, ms, delta("tokensEvaluated"), delta("tokensReused"), delta("tokensGenerated"),
        delta("completionCacheHits") > 0, answered, delta("extraTokensEvaluated"), delta("extraTokensReused"),
    )


def bench_model_path(cache_dir: Path | None = None) -> Path:
    """A random-weight CodeShell-shaped ~330M-parameter Q4_0 model (written once, then cached)."""
    from ..pipeline.quantize import quantize
    from ..synthetic import Shape, write_codeshell_gguf

    cache_dir = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "codeshell-lsp" / "bench"
    out = cache_dir / DEFAULT_SHAPE_NAME
    if out.exists():
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    shape = Shape(n_embd=1024, n_layer=20, n_head=16, n_head_kv=4, n_ff=4096, vocab_pad_to=70000)
    print(f"writing a random {shape.n_params / 1e6:.0f}M-parameter CodeShell-shaped model to {out} (once) ...", file=sys.stderr)
    f16 = write_codeshell_gguf(cache_dir / "codeshell-random-330M-f16.gguf", shape, seed=1, dtype="f16", name="codeshell-random-330M")
    quantize(f16, out, "Q4_0")
    f16.unlink()
    return out


def settings_tree(reuse: bool, max_tokens: int, prompt_tokens: int, threads: int) -> dict[str, Any]:
    return {
        "model": {"threads": threads, "contextLength": 4096},
        # Single-line policy off: a fixed number of generated tokens makes requests comparable.
        # No debounce: every replayed keystroke is timed from its request (the --typing run measures debounce).
        "completion": {"maxTokens": max_tokens, "promptTokens": prompt_tokens, "multiline": "always", "stop": [], "debounceMs": 0},
        # No KV from disk: a previous run's saved state would make first requests look cheap.
        "cache": {"reuse": reuse, "persist": False},
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _replay_server(
    model: Path, traces: list[Trace], tree: dict[str, Any], limit: int | None, measure_abort: bool, others: bool = False,
    workspace: Path | None = None,
) -> tuple[list[Sample], float | None]:
    """``others``: the other traces' files are open as other documents while a trace replays;
    ``workspace``: the folder sent as the workspace (its index built before the replay)."""
    probe_cache = measure_abort  # the reuse=true run also probes the completion cache
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("codeshell-bench", __version__)

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def _log(params: types.LogMessageParams) -> None:
        """The server's per-completion log lines; the stats deltas carry the numbers."""

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def _show(params: types.ShowMessageParams) -> None:
        print(f"bench latency: server says: {params.message}", file=sys.stderr)

    await client.start_io(sys.executable, "-m", "codeshell_lsp", "serve", "--stdio", "--model", str(model))
    caps = types.ClientCapabilities(general=types.GeneralClientCapabilities(position_encodings=["utf-32"]))
    folders = [types.WorkspaceFolder(workspace.as_uri(), workspace.name)] if workspace else None
    await client.initialize_async(types.InitializeParams(
        capabilities=caps, initialization_options=tree, root_uri=workspace.as_uri() if workspace else None, workspace_folders=folders,
    ))
    client.initialized(types.InitializedParams())

    async def stats() -> dict[str, Any]:
        r = await client.protocol.send_request_async("codeshell/stats", {})
        return r._asdict() if hasattr(r, "_asdict") else dict(r)

    def completion(uri: str, line: int, col: int) -> Any:
        return client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, col))
        )

    # Wait for the model, on a document of its own.
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem("file:///bench/warmup.py", "python", 1, "x = 1\n")))
    await completion("file:///bench/warmup.py", 1, 0)
    t0 = time.perf_counter()
    while workspace is not None and not (await stats())["workspaceIndexed"]:
        await asyncio.sleep(0.2)
    if workspace is not None:
        files = (await stats())["workspaceFiles"]
        print(f"bench latency: workspace index: {files} files in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    samples: list[Sample] = []

    async def measure(name: str, index: int, uri: str, cursor: tuple[int, int]) -> Any:
        before = await stats()
        t0 = time.perf_counter()
        result = await completion(uri, *cursor)
        ms = (time.perf_counter() - t0) * 1000
        after = await stats()
        samples.append(counted(name, index, ms, before, after, bool(result and result.items)))
        return result

    mode = "reuse=true" if tree["cache"]["reuse"] else "reuse=false"
    total = sum(min(len(t.events), limit or len(t.events)) for t in traces)
    for trace in traces:
        uri = f"file:///bench/{trace.name}/{trace.file}"
        around = [t for t in traces if others and t.file != trace.file]
        other_uris = [f"file:///bench/{t.name}/{t.file}" for t in around]
        for other, t in zip(other_uris, around):
            client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(other, "python", 1, t.source())))
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, trace.source())))
        for i, step in enumerate(replay(trace)):
            if limit is not None and i >= limit:
                break
            if step.new_text or step.edit_start != step.edit_end:
                client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
                        [types.TextDocumentContentChangePartial(
                            range=types.Range(types.Position(*step.edit_start), types.Position(*step.edit_end)),
                            text=step.new_text,
                        )],
                    )
                )
            result = await measure(trace.name, i, uri, step.cursor)
            last = step
            if len(samples) % 10 == 0 or len(samples) == total:
                print(f"bench latency: {mode}: {len(samples)}/{total} requests", file=sys.stderr, flush=True)
        if probe_cache and result and result.items:
            await _cache_probes(client, uri, last, result.items[0], measure, trace.name)
        for closed in [uri, *other_uris]:
            client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(closed)))
    abort_ms = await _measure_abort(client, traces[-1]) if measure_abort else None
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return samples, abort_ms


async def _cache_probes(client: Any, uri: str, step: Any, item: Any, measure: Any, name: str) -> None:
    """After a trace: ask again at the same place, then type the suggestion's first
    character (typed-through): both should come from the completion cache. Index -1."""
    from lsprotocol import types

    await measure(name, -1, uri, step.cursor)
    edit = item.text_edit
    first = edit.new_text[edit.range.end.character - edit.range.start.character :][:1]  # after the word typed so far
    if not first or first == "\n":
        return
    line, col = step.cursor
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=10_000),
            [types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(line, col), types.Position(line, col)), text=first)],
        )
    )
    await measure(name, -1, uri, (line, col + 1))


async def _measure_abort(client: Any, trace: Trace) -> float:
    """Time from $/cancelRequest to the answer, for a request busy evaluating a full prompt."""
    from lsprotocol import types

    uri = "file:///bench/abort/" + trace.file
    text = "# a different file: nothing cached\n" + trace.source()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    params = types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(text.count("\n") // 2, 0))
    fut = asyncio.ensure_future(client.protocol.send_request_async("textDocument/completion", params, msg_id="bench-abort"))
    await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    client.protocol.notify("$/cancelRequest", types.CancelParams(id="bench-abort"))
    try:
        await fut
    except Exception:  # RequestCancelled is the expected answer
        pass
    return (time.perf_counter() - t0) * 1000


def _floor(model: Path, traces: list[Trace], tree: dict[str, Any], samples: list[Sample]) -> list[float]:
    """Per request: eval of the changed tokens + decode of the generated ones, measured in-process."""
    from ..backends.local import LocalBackend
    from ..prompt import build

    settings, _ = Settings.from_dict(tree)
    backend = LocalBackend(model, settings.model)
    rt = backend.rt
    try:
        prompts: dict[tuple[str, int], tuple[str, list[int]]] = {}
        for trace in traces:
            for i, step in enumerate(replay(trace)):
                off = _offset(step.text, step.cursor)
                tokens = list(build(Cursor(step.text[:off], step.text[off:]), settings.completion, backend).tokens)
                prompts[(trace.name, i)] = (step.file, tokens)
        longest = max((p for _, p in prompts.values()), key=len)
        rt.clear()
        rt.decode(longest, 0)
        n = len(longest)
        eval_ms: dict[int, float] = {}

        def eval_time(k: int) -> float:
            k = max(1, min(k, n))
            if k not in eval_ms:
                best = float("inf")
                for _ in range(2):
                    rt.seq_rm(0, n - k, -1)
                    t0 = time.perf_counter()
                    rt.decode(longest[n - k :], n - k)
                    best = min(best, (time.perf_counter() - t0) * 1000)
                eval_ms[k] = best
            return eval_ms[k]

        import numpy as np

        per_token = []
        rt.seq_rm(0, n - 1, -1)
        logits = rt.decode(longest[-1:], n - 1)
        for j in range(16):
            t0 = time.perf_counter()
            tok = int(np.argmax(logits))
            logits = rt.decode([tok], n + j)
            rt.piece(tok)
            per_token.append((time.perf_counter() - t0) * 1000)
        tok_ms = statistics.median(per_token)
        floors = []
        previous: dict[tuple[str, str], list[int]] = {}  # by trace and file: the best a per-file KV can do
        for s in samples:
            file, prompt = prompts[(s.trace, s.index)]
            prev = previous.get((s.trace, file))
            previous[(s.trace, file)] = prompt
            if prev is None:
                k = len(prompt)
            else:
                lcp = common_prefix(prev, prompt)
                lcs = common_prefix(prev[lcp:][::-1], prompt[lcp:][::-1])
                changed = len(prompt) - lcp - lcs
                k = changed + 1 if lcs else max(1, changed)
            floors.append(eval_time(k) + s.generated * tok_ms)
        return floors
    finally:
        backend.close()


def _offset(text: str, pos: tuple[int, int]) -> int:
    from ..context import offset_at

    return offset_at(text, pos[0], pos[1], "utf-32")


def _summary(everything: list[Sample]) -> dict[str, Any]:
    """Latency over the trace's own requests; cache hits also over the probes (index -1)."""
    samples = [s for s in everything if s.index >= 0]
    model = [s for s in samples if not s.cache_hit]
    hits = [s.ms for s in everything if s.cache_hit]
    return {
        "requests": len(samples),
        "p50_ms": round(_pct([s.ms for s in samples], 0.5), 1),
        "p95_ms": round(_pct([s.ms for s in samples], 0.95), 1),
        "model_requests_p50_ms": round(_pct([s.ms for s in model], 0.5), 1),
        "evaluated_per_request_mean": round(statistics.mean(s.evaluated for s in samples), 1) if samples else 0,
        "evaluated_per_request_p50": _pct([float(s.evaluated) for s in samples], 0.5),
        "reused_per_request_mean": round(statistics.mean(s.reused for s in samples), 1) if samples else 0,
        "generated_per_request_mean": round(statistics.mean(s.generated for s in samples), 1) if samples else 0,
        "cache_hits": sum(s.cache_hit for s in samples),
        "cache_probes": {"requests": len(everything) - len(samples), "hits": sum(s.cache_hit for s in everything if s.index < 0)},
        "cache_hit_p95_ms": round(_pct(hits, 0.95), 2) if hits else None,
        "answered_with_text": sum(s.answered for s in samples),
    }


def peer_ran(peer: Any) -> bool:
    """Whether ``_peer``'s report has timings (not None, a skip note or a failure)."""
    return isinstance(peer, dict) and "p50_ms" in peer


def _peer(
    model: Path, traces: list[Trace], tree: dict[str, Any], threads: int, limit: int | None, slots: int = 1
) -> dict[str, Any] | None:
    """The same prompts through llama-server's /infill (cache_prompt, --cache-reuse 256;
    ``slots`` parallel slots of 4096 tokens each, which it matches to prompts by similarity)."""
    binary = llama_server_binary.find()
    if binary is None:
        return None
    import socket
    import urllib.error
    import urllib.request

    from ..backends.local import LocalBackend
    from ..prompt import window

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings, _ = Settings.from_dict(tree)
    proc = subprocess.Popen(
        [binary.path, "-m", str(model), "--port", str(port), "--host", "127.0.0.1", "-t", str(threads),
         "-c", str(4096 * slots), "--cache-reuse", "256", "-np", str(slots)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=binary.env,
    )
    backend = LocalBackend(model, settings.model)  # only its tokenizer, for the same windows
    times: list[float] = []
    errors = 0
    try:
        for _ in range(600):
            if proc.poll() is not None:
                # e.g. SIGILL: a prebuilt binary's CPU kernels may use instructions this CPU lacks.
                return {"binary": binary.path, "origin": binary.origin, "failed": f"llama-server exited with status {proc.returncode} before it served"}
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        for trace in traces:
            for i, step in enumerate(replay(trace)):
                if limit is not None and i >= limit:
                    break
                off = _offset(step.text, step.cursor)
                w = window(Cursor(step.text[:off], step.text[off:]), settings.completion, backend.count_tokens, backend.context_length)
                body = json.dumps({
                    "input_prefix": w.prefix, "input_suffix": w.suffix, "n_predict": tree["completion"]["maxTokens"],
                    "cache_prompt": True, "temperature": 0, "samplers": ["top_k"], "top_k": 1,
                }).encode()
                req = urllib.request.Request(f"http://127.0.0.1:{port}/infill", body, {"Content-Type": "application/json"})
                t0 = time.perf_counter()
                try:
                    urllib.request.urlopen(req, timeout=600).read()
                except urllib.error.HTTPError:
                    # Recent builds reject some random-weight output after generating it
                    # ("does not match the expected Content-only format"): timed all the same.
                    errors += 1
                times.append((time.perf_counter() - t0) * 1000)
    finally:
        backend.close()
        proc.terminate()
        proc.wait(10)
    return {
        "binary": binary.path, "origin": binary.origin, "slots": slots, "requests": len(times), "errors": errors,
        "p50_ms": round(_pct(times, 0.5), 1), "p95_ms": round(_pct(times, 0.95), 1), "ms": [round(t, 1) for t in times],
    }


def run(model: Path, threads: int, max_tokens: int, prompt_tokens: int, nonreuse_limit: int, limit: int | None,
        traces: list[Trace] | None = None) -> dict[str, Any]:
    traces = traces or load_all()
    from ..model_file import inspect

    info = inspect(model)
    trees = {mode: settings_tree(mode == "reuse=true", max_tokens, prompt_tokens, threads) for mode in ("reuse=false", "reuse=true")}
    t0 = time.perf_counter()
    slow, _ = asyncio.run(_replay_server(model, traces, trees["reuse=false"], nonreuse_limit, False))
    fast, abort_ms = asyncio.run(_replay_server(model, traces, trees["reuse=true"], limit, True))
    floors = _floor(model, traces, trees["reuse=true"], [s for s in fast if not s.cache_hit and s.index >= 0])
    peer = _peer(model, traces, trees["reuse=true"], threads, limit)
    modes = {"reuse=false": _summary(slow), "reuse=true": _summary(fast)}
    floor = {"p50_ms": round(_pct(floors, 0.5), 1), "p95_ms": round(_pct(floors, 0.95), 1), "requests": len(floors)}
    ratios = {
        "reuse_true_model_p50_over_floor_p50": round(modes["reuse=true"]["model_requests_p50_ms"] / floor["p50_ms"], 2),
        "reuse_false_p50_over_reuse_true_p50": round(modes["reuse=false"]["p50_ms"] / modes["reuse=true"]["p50_ms"], 1),
    }
    if peer_ran(peer):
        ratios["peer_p50_over_reuse_true_p50"] = round(peer["p50_ms"] / modes["reuse=true"]["p50_ms"], 1)
    return {
        "machine": {"cpus": os.cpu_count(), "threads": threads, "platform": platform.platform(), "python": platform.python_version()},
        "model": {"path": str(model), "params": info.n_params, "quant": info.quant, "file_mb": round(info.file_size / 1e6, 1)},
        "settings": {"maxTokens": max_tokens, "promptTokens": prompt_tokens, "nonreuse_requests_per_trace": nonreuse_limit},
        "traces": {t.name: len(t.events) for t in traces},
        "modes": modes,
        "floor": floor,
        "abort_ms": round(abort_ms, 1) if abort_ms is not None else None,
        "peer_llama_server": peer or f"skipped: {llama_server_binary.WHY_MISSING}",
        "ratios": ratios,
        "wall_s": round(time.perf_counter() - t0, 1),
        "samples": {"reuse=true": [asdict(s) for s in fast], "reuse=false": [asdict(s) for s in slow]},
    }


def run_extra(model: Path, threads: int, max_tokens: int, prompt_tokens: int, limit: int | None,
              traces: list[Trace] | None = None, workspace: Path | None = None) -> dict[str, Any]:
    """Keystroke cost with extra context off and on (the other bench files open in both),
    and with ``workspace`` as the workspace folder, its index on."""
    traces = traces or load_all()
    out: dict[str, Any] = {"modes": {}}
    modes = ["otherFiles=false", "otherFiles=true"] + (["otherFiles=true+workspace"] if workspace else [])
    for mode in modes:
        tree = settings_tree(True, max_tokens, prompt_tokens, threads)
        tree["context"] = {"otherFiles": mode != "otherFiles=false"}
        root = workspace if mode.endswith("workspace") else None
        samples, _ = asyncio.run(_replay_server(model, traces, tree, limit, False, others=True, workspace=root))
        summary = _summary(samples)
        summary["extra_evaluated_per_request_mean"] = round(statistics.mean(s.extra_evaluated for s in samples), 1)
        summary["extra_reused_per_request_mean"] = round(statistics.mean(s.extra_reused for s in samples), 1)
        summary["extra_evaluated_per_request_p50"] = _pct([float(s.extra_evaluated) for s in samples], 0.5)
        runs = [s for s in samples if not s.cache_hit and s.index > 0]  # model runs after each trace's first request
        summary["model_evaluated_p50"] = _pct([float(s.evaluated) for s in runs], 0.5)
        summary["model_evaluated_mean"] = round(statistics.mean(s.evaluated for s in runs), 1) if runs else 0
        out["modes"][mode] = summary
    off, on = out["modes"]["otherFiles=false"], out["modes"]["otherFiles=true"]
    out["ratios"] = {
        "p50_on_over_off": round(on["p50_ms"] / off["p50_ms"], 3),
        "evaluated_p50_on_over_off": round(on["evaluated_per_request_p50"] / max(off["evaluated_per_request_p50"], 1), 3),
        "evaluated_mean_on_over_off": round(on["evaluated_per_request_mean"] / max(off["evaluated_per_request_mean"], 1), 3),
        "model_p50_on_over_off": round(on["model_requests_p50_ms"] / off["model_requests_p50_ms"], 3),
        "model_evaluated_p50_on_over_off": round(on["model_evaluated_p50"] / max(off["model_evaluated_p50"], 1), 3),
    }
    if workspace:
        ws = out["modes"]["otherFiles=true+workspace"]
        out["ratios"]["p50_workspace_over_on"] = round(ws["p50_ms"] / on["p50_ms"], 3)
        out["ratios"]["model_p50_workspace_over_on"] = round(ws["model_requests_p50_ms"] / on["model_requests_p50_ms"], 3)
    return out


def extra_table(report: dict[str, Any]) -> str:
    rows = ["| extra context | requests | p50 ms | p95 ms | evaluated/request p50 (mean) | extra evaluated/request p50 (mean) | extra reused/request (mean) |",
            "|---|---|---|---|---|---|---|"]
    for name, m in report["modes"].items():
        rows.append(
            f"| {name} | {m['requests']} | {m['p50_ms']} | {m['p95_ms']} | {m['evaluated_per_request_p50']:.0f} "
            f"({m['evaluated_per_request_mean']}) | {m['extra_evaluated_per_request_p50']:.0f} "
            f"({m['extra_evaluated_per_request_mean']}) | {m['extra_reused_per_request_mean']} |"
        )
    return "\n".join(rows + [f"ratios: {json.dumps(report['ratios'])}"])


def table(report: dict[str, Any]) -> str:
    rows = ["| mode | requests | p50 ms | p95 ms | evaluated/request (mean) | cache hits |", "|---|---|---|---|---|---|"]
    for name, m in report["modes"].items():
        rows.append(f"| {name} | {m['requests']} | {m['p50_ms']} | {m['p95_ms']} | {m['evaluated_per_request_mean']} | {m['cache_hits']} |")
    f = report["floor"]
    rows.append(f"| floor | {f['requests']} | {f['p50_ms']} | {f['p95_ms']} | changed tokens only | – |")
    peer = report["peer_llama_server"]
    if peer_ran(peer):
        rows.append(f"| llama-server --cache-reuse 256 | {peer['requests']} | {peer['p50_ms']} | {peer['p95_ms']} | – | – |")
    hit = report["modes"]["reuse=true"]["cache_hit_p95_ms"]
    extra = [f"ratios: {json.dumps(report['ratios'])}", f"abort answered in {report['abort_ms']} ms; cache-hit p95 {hit} ms"]
    if not peer_ran(peer):
        extra.append(f"peer: {peer}")
    return "\n".join(rows + extra)
