"""Per-document KV through the real server: a trace typing into three files in turn, a
restart, and llama-server on the same trace.

- ``cache.documents=1`` (with ``cache.persist`` off: what the server did before it kept
  KV per document) against the default (4 documents, saved to disk): tokens evaluated
  per request, above all on requests that return to a file, and p50 against the floor
  (``latency._floor``: only the tokens that changed since the same file's previous
  prompt).
- Restart: after the default run the server shuts down (saving each document's KV);
  a new server opens the three files as they were and asks once in each: restored from
  disk, against the same requests on a server with an empty KV directory (cold).
- The peer: llama-server's ``/infill`` with ``--cache-reuse 256`` and one slot per
  document on the same prompts.

Every mode runs with context from other files on (``context.otherFiles``, the
default): per-document KV has to hold up with the extra context in front of each file.
Each server gets a KV directory of its own (``XDG_CACHE_HOME``). Run it with
``codeshell-lsp bench latency --documents``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import __version__
from .latency import Sample, _floor, _pct, _peer, counted, peer_ran, settings_tree
from .traces import Trace, load_all, replay

SLOTS = 4  # llama-server slots, as many as cache.documents keeps


def tree_for(documents: int, persist: bool, max_tokens: int, prompt_tokens: int, threads: int) -> dict[str, Any]:
    tree = settings_tree(True, max_tokens, prompt_tokens, threads)
    tree["cache"].update({"documents": documents, "persist": persist})
    return tree


class _Client:
    """One server process, its documents by file, and measured completions."""

    def __init__(self, model: Path, tree: dict[str, Any], xdg: Path) -> None:
        self.model, self.tree, self.xdg = model, tree, xdg
        self.samples: list[Sample] = []
        self.files: list[str] = []  # the file of each sample
        self.versions: dict[str, int] = {}

    async def __aenter__(self) -> "_Client":
        from lsprotocol import types
        from pygls.lsp.client import LanguageClient

        self.types = types
        self.client = LanguageClient("codeshell-bench", __version__)
        self.client.feature(types.WINDOW_LOG_MESSAGE)(lambda params: None)
        env = {**os.environ, "XDG_CACHE_HOME": str(self.xdg)}
        await self.client.start_io(sys.executable, "-m", "codeshell_lsp", "serve", "--stdio", "--model", str(self.model), env=env)
        caps = types.ClientCapabilities(general=types.GeneralClientCapabilities(position_encodings=["utf-32"]))
        await self.client.initialize_async(types.InitializeParams(capabilities=caps, initialization_options=self.tree))
        self.client.initialized(types.InitializedParams())
        await self.open("warmup.py", "x = 1\n")  # wait for the model
        await self.client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(self.uri("warmup.py")), types.Position(1, 0))
        )
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    def uri(self, file: str) -> str:
        return f"file:///bench/multi/{file}"

    async def open(self, file: str, text: str) -> None:
        t = self.types
        self.versions[file] = 1
        self.client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(self.uri(file), "python", 1, text)))

    def change(self, file: str, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        t = self.types
        self.versions[file] += 1
        self.client.text_document_did_change(t.DidChangeTextDocumentParams(
            t.VersionedTextDocumentIdentifier(uri=self.uri(file), version=self.versions[file]),
            [t.TextDocumentContentChangePartial(range=t.Range(t.Position(*start), t.Position(*end)), text=text)],
        ))

    async def stats(self) -> dict[str, Any]:
        r = await self.client.protocol.send_request_async("codeshell/stats", {})
        return r._asdict() if hasattr(r, "_asdict") else dict(r)

    async def measure(self, name: str, index: int, file: str, cursor: tuple[int, int]) -> None:
        t = self.types
        before = await self.stats()
        t0 = time.perf_counter()
        result = await self.client.text_document_completion_async(
            t.CompletionParams(t.TextDocumentIdentifier(self.uri(file)), t.Position(*cursor))
        )
        ms = (time.perf_counter() - t0) * 1000
        after = await self.stats()
        self.samples.append(counted(name, index, ms, before, after, bool(result and result.items)))
        self.files.append(file)

    def peak_rss_mb(self) -> float | None:
        """The server's peak resident memory so far (Linux)."""
        try:
            status = Path(f"/proc/{self.client._server.pid}/status").read_text()
        except (OSError, AttributeError):
            return None
        kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
        return round(kb / 1024, 1) if kb else None


async def _replay(model: Path, trace: Trace, tree: dict[str, Any], xdg: Path, limit: int | None) -> tuple[_Client, float | None]:
    async with _Client(model, tree, xdg) as c:
        for file in trace.files:
            await c.open(file, trace.source(file))
        for i, step in enumerate(replay(trace)):
            if limit is not None and i >= limit:
                break
            c.change(step.file, step.edit_start, step.edit_end, step.new_text)
            await c.measure(trace.name, i, step.file, step.cursor)
        rss = c.peak_rss_mb()
    return c, rss


async def _first_completions(model: Path, trace: Trace, tree: dict[str, Any], xdg: Path, finals: dict[str, Any]) -> list[Sample]:
    """A fresh server: open each file as the trace left it, ask once in each."""
    async with _Client(model, tree, xdg) as c:
        for file, step in finals.items():
            await c.open(file, step.text)
        for i, (file, step) in enumerate(finals.items()):
            await c.measure(trace.name, i, file, step.cursor)
    return c.samples


def _returns(files: list[str]) -> list[bool]:
    """Per request: whether it comes back to a file that was left before (a switch back)."""
    seen: set[str] = set()
    out = []
    previous = None
    for f in files:
        out.append(f in seen and f != previous)
        seen.add(f)
        previous = f
    return out


def _mode_summary(c: _Client) -> dict[str, Any]:
    samples = c.samples
    back = _returns(c.files)
    first_back = back.index(True) if True in back else len(samples)
    later = samples[first_back:]
    switched = [s for s, b in zip(samples, back) if b]
    model = [s.ms for s in samples if not s.cache_hit]
    return {
        "requests": len(samples),
        "p50_ms": round(_pct([s.ms for s in samples], 0.5), 1),
        "p95_ms": round(_pct([s.ms for s in samples], 0.95), 1),
        "model_requests_p50_ms": round(_pct(model, 0.5), 1),
        "evaluated_per_request_mean": round(statistics.mean(s.evaluated for s in samples), 1) if samples else 0,
        "evaluated_per_request_after_first_visits_mean": round(statistics.mean(s.evaluated for s in later), 1) if later else 0,
        "switch_back_requests": len(switched),
        "evaluated_per_switch_back_mean": round(statistics.mean(s.evaluated for s in switched), 1) if switched else 0,
        "switch_back_p50_ms": round(_pct([s.ms for s in switched], 0.5), 1),
        "cache_hits": sum(s.cache_hit for s in samples),
    }


def run(model: Path, threads: int, max_tokens: int, prompt_tokens: int, limit: int | None, peer: bool = True) -> dict[str, Any]:
    trace = load_all("traces/multi-file")[0]
    t0 = time.perf_counter()
    out: dict[str, Any] = {"trace": {"name": trace.name, "files": trace.files, "events": len(trace.events)}, "modes": {}}
    with tempfile.TemporaryDirectory(prefix="codeshell-bench-kv-") as tmp:
        root = Path(tmp)
        one = tree_for(1, False, max_tokens, prompt_tokens, threads)
        default = tree_for(4, True, max_tokens, prompt_tokens, threads)
        c1, rss1 = asyncio.run(_replay(model, trace, one, root / "one", limit))
        c4, rss4 = asyncio.run(_replay(model, trace, default, root / "default", limit))
        out["modes"]["documents=1"] = {**_mode_summary(c1), "peak_rss_mb": rss1}
        out["modes"]["documents=4"] = {**_mode_summary(c4), "peak_rss_mb": rss4}
        floors = _floor(model, [trace], default, [s for s in c4.samples if not s.cache_hit])
        out["floor"] = {"p50_ms": round(_pct(floors, 0.5), 1), "p95_ms": round(_pct(floors, 0.95), 1), "requests": len(floors)}
        finals: dict[str, Any] = {}
        for i, step in enumerate(replay(trace)):
            if limit is not None and i >= limit:
                break
            finals[step.file] = step
        restored = asyncio.run(_first_completions(model, trace, default, root / "default", finals))
        cold = asyncio.run(_first_completions(model, trace, default, root / "cold", finals))
        out["restart"] = {
            "restored_ms": [round(s.ms, 1) for s in restored], "restored_evaluated": [s.evaluated for s in restored],
            "restored_reused_fraction": [round(s.reused / max(s.reused + s.evaluated, 1), 3) for s in restored],
            "cold_ms": [round(s.ms, 1) for s in cold], "cold_evaluated": [s.evaluated for s in cold],
        }
        kv_files = list((root / "default" / "codeshell-lsp" / "kv").glob("*.kv"))
        out["restart"]["saved_files"] = len(kv_files)
        out["restart"]["saved_mb"] = round(sum(p.stat().st_size for p in kv_files) / 2**20, 1)
    out["peer_llama_server"] = _peer(model, [trace], default, threads, limit, slots=SLOTS) if peer else "skipped (--no-peer)"
    m1, m4 = out["modes"]["documents=1"], out["modes"]["documents=4"]
    r = out["restart"]
    ratios = {
        "evaluated_after_first_visits_documents1_over_default": round(
            m1["evaluated_per_request_after_first_visits_mean"] / max(m4["evaluated_per_request_after_first_visits_mean"], 1e-9), 1),
        "evaluated_switch_back_documents1_over_default": round(
            m1["evaluated_per_switch_back_mean"] / max(m4["evaluated_per_switch_back_mean"], 1e-9), 1),
        "default_model_p50_over_floor_p50": round(m4["model_requests_p50_ms"] / out["floor"]["p50_ms"], 2),
        "documents1_p50_over_default_p50": round(m1["p50_ms"] / m4["p50_ms"], 2),
        "cold_over_restored_first_completion": round(statistics.mean(r["cold_ms"]) / statistics.mean(r["restored_ms"]), 1),
    }
    peer_report = out["peer_llama_server"]
    if peer_ran(peer_report):
        ratios["peer_p50_over_default_p50"] = round(peer_report["p50_ms"] / m4["p50_ms"], 1)
    out["ratios"] = ratios
    out["settings"] = {"threads": threads, "maxTokens": max_tokens, "promptTokens": prompt_tokens, "limit": limit}
    out["model"] = {"path": str(model), "file_mb": round(model.stat().st_size / 2**20, 1)}
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["samples"] = {"documents=1": [s.__dict__ for s in c1.samples], "documents=4": [s.__dict__ for s in c4.samples], "files": c4.files}
    return out


def table(report: dict[str, Any]) -> str:
    rows = [
        "| mode | requests | p50 ms | p95 ms | evaluated/request (mean) | after first visits | per switch back | switch-back p50 ms | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in report["modes"].items():
        rows.append(
            f"| {name} | {m['requests']} | {m['p50_ms']} | {m['p95_ms']} | {m['evaluated_per_request_mean']} | "
            f"{m['evaluated_per_request_after_first_visits_mean']} | {m['evaluated_per_switch_back_mean']} | "
            f"{m['switch_back_p50_ms']} | {m['peak_rss_mb']} |"
        )
    f = report["floor"]
    rows.append(f"| floor | {f['requests']} | {f['p50_ms']} | {f['p95_ms']} | changed tokens only | | | | |")
    peer = report["peer_llama_server"]
    if peer_ran(peer):
        rows.append(f"| llama-server --cache-reuse 256, {peer['slots']} slots | {peer['requests']} | {peer['p50_ms']} | {peer['p95_ms']} | | | | | |")
    r = report["restart"]
    extra = [
        f"restart: first completion per file restored {r['restored_ms']} ms (evaluated {r['restored_evaluated']}, "
        f"{r.get('restored_reused_fraction')} of the prompt reused) "
        f"vs cold {r['cold_ms']} ms (evaluated {r['cold_evaluated']}); {r['saved_files']} files, {r['saved_mb']} MB on disk",
        f"ratios: {json.dumps(report['ratios'])}",
    ]
    if not peer_ran(peer):
        extra.append(f"peer: {peer}")
    return "\n".join(rows + extra)
