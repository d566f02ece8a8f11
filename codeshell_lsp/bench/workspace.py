"""`bench latency --workspace N,...`: the server with N documents open, defaults on.

A real project's worth of open files (the real modules in ``bench/data``, cycled under
``projN/`` folders until there are N of them, so imports between sibling modules
resolve), with the settings users run (context from other files, per-document KV,
saved KV — each server in a cache folder of its own). Then, per N:

- how long the didOpen burst takes to be taken in (a ``codeshell/stats`` answered after it),
- the first completion after opening (the trace's file, which opened last),
- request latency over a recorded keystroke trace (each didChange plus a completion,
  waiting for the answer, as ``bench latency`` does), p50/p95,
- ``$/cancelRequest`` answered while a completion evaluates a cold prompt, and
  ``codeshell/stats`` answered meanwhile (the message thread is never busy), p50/p99,
- ``shutdown`` answered, and the server's resident memory (now and peak).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import __version__
from .latency import Sample, _pct, counted, settings_tree
from .traces import Trace, data_dir, load_all, replay

PROBES = 20  # cancel and stats probes per workspace size
TIMEOUT_S = 300.0  # a request not answered in this long counts as never answered (the server is then killed)


def trace_uri(trace: Trace) -> str:
    return f"file:///ws/{trace.name}/{trace.file}"


def workspace_files(n: int) -> list[tuple[str, str]]:
    """``n`` (relative path, text) pairs: the bench's real modules, cycled under ``projK/``."""
    root = Path(str(data_dir()))
    real = sorted(p for p in root.rglob("*.py") if "traces" not in p.parts)
    out = []
    k = 0
    while len(out) < n:
        for p in real:
            if len(out) == n:
                break
            out.append((f"proj{k}/{p.relative_to(root).as_posix()}", p.read_text(encoding="utf-8")))
        k += 1
    return out


def defaults_tree(max_tokens: int, prompt_tokens: int, threads: int) -> dict[str, Any]:
    """The bench settings with what users run: extra context, per-document KV and saving it on."""
    tree = settings_tree(True, max_tokens, prompt_tokens, threads)
    tree["cache"] = {"reuse": True}
    return tree


def _rss_mb(pid: int) -> tuple[float | None, float | None]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None, None
    got = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith(("VmRSS:", "VmHWM:"))}
    return got.get("VmRSS"), got.get("VmHWM")


async def _one(model: Path, n: int, trace: Trace, tree: dict[str, Any], limit: int | None) -> dict[str, Any]:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("codeshell-bench", __version__)
    client.feature(types.WINDOW_LOG_MESSAGE)(lambda params: None)
    client.feature(types.WINDOW_SHOW_MESSAGE)(lambda params: print(f"bench workspace: server says: {params.message}", file=sys.stderr))
    xdg = tempfile.mkdtemp(prefix="codeshell-bench-ws-")
    env = {**os.environ, "XDG_CACHE_HOME": xdg}
    await client.start_io(sys.executable, "-m", "codeshell_lsp", "serve", "--stdio", "--model", str(model), env=env)
    pid = client._server.pid  # type: ignore[attr-defined]
    caps = types.ClientCapabilities(general=types.GeneralClientCapabilities(position_encodings=["utf-32"]))
    await client.initialize_async(types.InitializeParams(capabilities=caps, initialization_options=tree, root_uri="file:///ws"))
    client.initialized(types.InitializedParams())

    async def stats() -> dict[str, Any]:
        r = await asyncio.wait_for(client.protocol.send_request_async("codeshell/stats", {}), TIMEOUT_S)
        return r._asdict() if hasattr(r, "_asdict") else dict(r)

    def completion(uri: str, line: int, col: int, msg_id: str | None = None) -> Any:
        params = types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, col))
        return asyncio.wait_for(client.protocol.send_request_async(types.TEXT_DOCUMENT_COMPLETION, params, msg_id=msg_id), TIMEOUT_S)

    def did_open(uri: str, text: str) -> None:
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))

    # The model first, on a document of its own.
    did_open("file:///ws/warmup.py", "x = 1\n")
    await completion("file:///ws/warmup.py", 1, 0)
    files = workspace_files(n - 1)
    row: dict[str, Any] = {"files": n, "lines": sum(t.count("\n") for _, t in files) + trace.source().count("\n")}
    try:
        row.update(await _measure(client, files, trace, limit, stats, completion, did_open, types))
    except asyncio.TimeoutError:
        row["stuck"] = f"a request got no answer in {TIMEOUT_S:.0f} s"
        client._server.kill()  # type: ignore[attr-defined]
        await client.stop()
        return row
    row["rss_mb"], row["peak_rss_mb"] = (round(v, 1) if v else None for v in _rss_mb(pid))
    # Shutdown while a completion runs: answered at once, whatever the worker does.
    last = list(replay(trace))[: limit or None][-1]
    busy = asyncio.ensure_future(completion(trace_uri(trace), *last.cursor))
    await asyncio.sleep(0.05)
    t5 = time.perf_counter()
    try:
        await asyncio.wait_for(client.shutdown_async(None), TIMEOUT_S)
        row["shutdown_ms"] = round((time.perf_counter() - t5) * 1000, 1)
        client.exit(None)
        await asyncio.wait_for(busy, 10)
    except Exception:
        row.setdefault("shutdown_ms", None)
        client._server.kill()  # type: ignore[attr-defined]
    await client.stop()
    return row


async def _measure(client: Any, files: list[tuple[str, str]], trace: Trace, limit: int | None,
                   stats: Any, completion: Any, did_open: Any, types: Any) -> dict[str, Any]:
    # N documents: N-1 of the project, then the trace's file.
    t0 = time.perf_counter()
    for rel, text in files:
        did_open(f"file:///ws/{rel}", text)
    uri = trace_uri(trace)
    did_open(uri, trace.source())
    await stats()
    open_ms = (time.perf_counter() - t0) * 1000
    steps = list(replay(trace))[: limit or None]
    first = steps[0]

    def change(i: int, step: Any) -> None:
        if step.new_text or step.edit_start != step.edit_end:
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
                [types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(*step.edit_start), types.Position(*step.edit_end)), text=step.new_text)],
            ))

    change(0, first)
    t1 = time.perf_counter()
    await completion(uri, *first.cursor)
    first_ms = (time.perf_counter() - t1) * 1000
    samples: list[Sample] = []
    for i, step in enumerate(steps[1:], 1):
        change(i, step)
        before = await stats()
        t2 = time.perf_counter()
        result = await completion(uri, *step.cursor)
        ms = (time.perf_counter() - t2) * 1000
        samples.append(counted(trace.name, i, ms, before, await stats(), bool(result and result.items)))
    # Cancel and stats while the worker evaluates a cold prompt (a file of its own each time).
    cancel_ms, stats_ms = [], []
    for k in range(PROBES):
        cold = f"file:///ws/cold/{k}.py"
        text = f"# cold {k}\n" + trace.source()
        did_open(cold, text)
        fut = asyncio.ensure_future(completion(cold, text.count("\n") // 2, 0, msg_id=f"ws-cancel-{k}"))
        await asyncio.sleep(0.3)
        t3 = time.perf_counter()
        await stats()
        stats_ms.append((time.perf_counter() - t3) * 1000)
        t4 = time.perf_counter()
        client.protocol.notify("$/cancelRequest", types.CancelParams(id=f"ws-cancel-{k}"))
        try:
            await fut
        except asyncio.TimeoutError:
            raise
        except Exception:  # RequestCancelled is the expected answer
            pass
        cancel_ms.append((time.perf_counter() - t4) * 1000)
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(cold)))
    model_runs = [s.ms for s in samples if not s.cache_hit]
    return {
        "open_ms": round(open_ms, 1),
        "first_completion_ms": round(first_ms, 1),
        "requests": len(samples),
        "p50_ms": round(_pct([s.ms for s in samples], 0.5), 1),
        "p95_ms": round(_pct([s.ms for s in samples], 0.95), 1),
        "model_run_p50_ms": round(_pct(model_runs, 0.5), 1) if model_runs else None,
        "evaluated_per_request_mean": round(statistics.fmean(s.evaluated for s in samples), 1) if samples else 0,
        "extra_evaluated_per_request_mean": round(statistics.fmean(s.extra_evaluated for s in samples), 1) if samples else 0,
        "cancel_p50_ms": round(_pct(cancel_ms, 0.5), 1),
        "cancel_p99_ms": round(_pct(cancel_ms, 0.99), 1),
        "stats_while_busy_p99_ms": round(_pct(stats_ms, 0.99), 1),
    }


def run(model: Path, sizes: list[int], threads: int, max_tokens: int, prompt_tokens: int, limit: int | None) -> dict[str, Any]:
    trace = load_all()[0]
    tree = defaults_tree(max_tokens, prompt_tokens, threads)
    rows = []
    for n in sizes:
        print(f"bench workspace: {n} open files ...", file=sys.stderr, flush=True)
        rows.append(asyncio.run(_one(model, n, trace, tree, limit)))
    base = rows[0].get("p95_ms")
    for row in rows:
        row["p95_over_first"] = round(row["p95_ms"] / base, 2) if base and row.get("p95_ms") else None
    return {"model": str(model), "trace": trace.name, "settings": tree, "rows": rows}


def table(report: dict[str, Any]) -> str:
    cols = [
        ("files", "files"), ("lines", "lines"), ("open_ms", "open ms"), ("first_completion_ms", "first completion ms"),
        ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("p95_over_first", "p95 / first row"),
        ("evaluated_per_request_mean", "evaluated/request"), ("cancel_p99_ms", "cancel p99 ms"),
        ("stats_while_busy_p99_ms", "stats while busy p99 ms"), ("shutdown_ms", "shutdown ms"),
        ("rss_mb", "RSS MB"), ("peak_rss_mb", "peak RSS MB"), ("stuck", "stuck"),
    ]
    out = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
    for row in report["rows"]:
        out.append("| " + " | ".join("" if row.get(k) is None else str(row[k]) for k, _ in cols) + " |")
    return "\n".join(out)
