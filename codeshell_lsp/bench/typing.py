"""`bench latency --typing`: the editing traces typed at a human rhythm, debounce 0 vs auto.

Unlike the sequential replay, keystrokes do not wait for answers: each one is a
``didChange`` plus a completion request, ``gap_ms`` after the previous one, in bursts of
``burst`` keystrokes; after a burst the bench waits for the last answer and pauses (a
pause longer than the debounce's rhythm window). Reported per debounce setting: model
runs started per keystroke (``codeshell/stats`` ``modelRuns``), the server's CPU seconds
per minute of typing (from /proc), and the latency the user sees: from the last
keystroke of a burst to its suggestion.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from .. import __version__
from .traces import Trace, replay

PAUSE_S = 1.0  # between bursts: longer than debounce.Debounce's pause_s (0.6 s)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _type(model: Path, traces: list[Trace], tree: dict[str, Any], gap_ms: int, burst: int, limit: int | None) -> dict[str, Any]:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("codeshell-bench", __version__)

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def _log(params: types.LogMessageParams) -> None:
        """Per-completion log lines are not needed here."""

    await client.start_io(sys.executable, "-m", "codeshell_lsp", "serve", "--stdio", "--model", str(model))
    caps = types.ClientCapabilities(general=types.GeneralClientCapabilities(position_encodings=["utf-32"]))
    await client.initialize_async(types.InitializeParams(capabilities=caps, initialization_options=tree))
    client.initialized(types.InitializedParams())

    def completion(uri: str, line: int, col: int) -> Any:
        return client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, col))
        )

    async def stats() -> dict[str, Any]:
        r = await client.protocol.send_request_async("codeshell/stats", {})
        return r._asdict() if hasattr(r, "_asdict") else dict(r)

    async def answered_after(request: Any, t_key: float) -> float:
        """Milliseconds from the keystroke at ``t_key`` to the answer of its request."""
        try:
            await request
        except Exception:  # a superseded request may be answered with an error
            pass
        return (time.perf_counter() - t_key) * 1000

    async def end_of_burst(pending: list[Any]) -> float:
        nonlocal typing_s
        typing_s += len(pending) * gap_ms / 1000
        return (await asyncio.gather(*pending))[-1]

    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem("file:///bench/warmup.py", "python", 1, "x = 1\n")))
    await completion("file:///bench/warmup.py", 1, 0)
    pid = client._server.pid  # type: ignore[union-attr]
    before, cpu0, typing_s = await stats(), _cpu_s(pid), 0.0
    keystrokes, waits = 0, []
    for trace in traces:
        uri = f"file:///bench/typing/{trace.file}"
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, trace.source())))
        pending: list[Any] = []
        for i, step in enumerate(replay(trace)):
            if limit is not None and i >= limit:
                break
            t_key = time.perf_counter()
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
                [types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(*step.edit_start), types.Position(*step.edit_end)), text=step.new_text,
                )],
            ))
            pending.append(asyncio.ensure_future(answered_after(completion(uri, *step.cursor), t_key)))
            keystrokes += 1
            if len(pending) == burst:
                waits.append(await end_of_burst(pending))
                pending = []
                await asyncio.sleep(PAUSE_S)
            else:
                await asyncio.sleep(gap_ms / 1000)
        if pending:
            waits.append(await end_of_burst(pending))
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
    after, cpu = await stats(), _cpu_s(pid) - cpu0
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    runs = after["modelRuns"] - before["modelRuns"]
    return {
        "keystrokes": keystrokes,
        "model_runs": runs,
        "runs_per_keystroke": round(runs / max(keystrokes, 1), 3),
        "cpu_s_per_typing_minute": round(cpu / max(typing_s, 1e-9) * 60, 1),
        "last_keystroke_to_answer_p50_ms": round(statistics.median(waits), 1) if waits else None,
        "bursts": len(waits),
    }


def run(model: Path, threads: int, max_tokens: int, prompt_tokens: int, traces: list[Trace], limit: int | None,
        gap_ms: int = 150, burst: int = 8) -> dict[str, Any]:
    """Both debounce settings, one after the other, on the same traces."""
    report: dict[str, Any] = {"gap_ms": gap_ms, "burst": burst, "modes": {}}
    for debounce in (0, "auto"):
        tree = {
            "model": {"threads": threads},
            "completion": {"maxTokens": max_tokens, "promptTokens": prompt_tokens, "debounceMs": debounce},
            "cache": {"speculative": False, "persist": False},  # no KV from an earlier run
            "context": {"otherFiles": False},
        }
        print(f"bench latency --typing: debounceMs={debounce} ...", file=sys.stderr, flush=True)
        report["modes"][f"debounceMs={debounce}"] = asyncio.run(_type(model, traces, tree, gap_ms, burst, limit))
    zero, auto = report["modes"]["debounceMs=0"], report["modes"]["debounceMs=auto"]
    report["ratios"] = {
        "runs_0_over_auto": round(zero["model_runs"] / max(auto["model_runs"], 1), 2),
        "latency_auto_over_0": round((auto["last_keystroke_to_answer_p50_ms"] or 0) / max(zero["last_keystroke_to_answer_p50_ms"] or 1, 1e-9), 2),
    }
    return report


def table(report: dict[str, Any]) -> str:
    lines = [f"typing at {report['gap_ms']} ms per key, bursts of {report['burst']}",
             f"{'mode':<18} {'keys':>5} {'runs':>5} {'runs/key':>9} {'CPU s/min':>10} {'last key -> answer p50 ms':>27}"]
    for mode, m in report["modes"].items():
        lines.append(f"{mode:<18} {m['keystrokes']:>5} {m['model_runs']:>5} {m['runs_per_keystroke']:>9} "
                     f"{m['cpu_s_per_typing_minute']:>10} {str(m['last_keystroke_to_answer_p50_ms']):>27}")
    lines.append(f"ratios: {report['ratios']}")
    return "\n".join(lines)
