"""`codeshell-lsp bench decode`: prompt-lookup drafts (``completion.draftTokens``) on vs off.

Two engines on the same model in one process, one with drafts off and one with them on,
answer the same requests task by task — HumanEval single-line and multi-line holes, and
the keystrokes of the editing traces — taking turns at going first, so that a machine
shared with other work slows both alike. Each sees the same sequence of prompts, so their
KV caches are reused alike. Settings are the server's defaults but for temperature 0
(drafts are for greedy decoding only), no completion cache, no precomputed next
suggestion, no debounce and no KV from disk.

Per set: how many completions came out identical, decode milliseconds per generated
token off and on (the ratio is the speed-up), draft tokens accepted per check, and
end-to-end p50/p95 per request.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..options import Settings
from . import humaneval
from .latency import _pct
from .traces import Trace, load_all, replay

SETS = ("single-line", "multi-line", "trace")
MODES = ("off", "on")
MULTILINE = {"single-line": "never", "multi-line": "auto", "trace": "auto"}
MAX_TOKENS = {"single-line": 64, "multi-line": 128, "trace": 64}


@dataclass
class Side:
    """One mode's requests of one set."""

    total_ms: list[float] = field(default_factory=list)
    decode_ms: float = 0.0
    generated: int = 0
    passes: int = 0  # checks of a draft
    drafted: int = 0
    accepted: int = 0
    texts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": len(self.total_ms),
            "generated_tokens": self.generated,
            "ms_per_token": round(self.decode_ms / max(self.generated, 1), 2),
            "p50_ms": round(_pct(self.total_ms, 0.5), 1),
            "p95_ms": round(_pct(self.total_ms, 0.95), 1),
            "checks": self.passes,
            "drafted": self.drafted,
            "accepted": self.accepted,
            "accepted_per_check": round(self.accepted / self.passes, 2) if self.passes else 0.0,
        }


def settings_for(base: Settings, which: str, draft_tokens: int) -> Settings:
    return base.replace(
        completion=dataclasses.replace(
            base.completion, multiline=MULTILINE[which], max_tokens=MAX_TOKENS[which], temperature=0.0,
            draft_tokens=draft_tokens, debounce_ms=0,
        ),
        cache=dataclasses.replace(base.cache, completion_cache_size=0, persist=False, speculative=False),
    )


def requests(which: str, limit: int | None, traces: Sequence[Trace] | None = None) -> Iterator[tuple[str, str]]:
    """(prefix, suffix) of each request of a set: HumanEval holes spread over the set, or
    each keystroke of each trace (its first ``limit`` events)."""
    if which != "trace":
        for task in humaneval.spread(humaneval.tasks(humaneval.load_problems(), which), limit):
            yield task.prefix, task.suffix
        return
    from ..context import offset_at

    for trace in traces if traces is not None else load_all():
        for i, step in enumerate(replay(trace)):
            if limit is not None and i >= limit:
                break
            at = offset_at(step.text, step.cursor[0], step.cursor[1], "utf-32")
            yield step.text[:at], step.text[at:]


def _one(engine: Any, side: Side, prefix: str, suffix: str, settings: Settings) -> None:
    before = dataclasses.replace(engine.stats)
    t0 = time.perf_counter()
    result = engine.complete_once(prefix, suffix, settings, "python")
    ms = (time.perf_counter() - t0) * 1000
    if result.status != "ok":
        raise RuntimeError(f"a completion ended {result.status}: {result.error}")
    after = engine.stats
    side.total_ms.append(ms)
    side.decode_ms += result.timings_ms["decode"]
    side.generated += result.generated_tokens
    side.passes += after.draft_passes - before.draft_passes
    side.drafted += after.drafted_tokens - before.drafted_tokens
    side.accepted += after.draft_accepted - before.draft_accepted
    side.texts.append(result.text)


def run_set(
    engines: dict[str, Any], pairs: Sequence[tuple[str, str]], which: str, base: Settings, draft_tokens: int,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Side]:
    """Every request through both engines, taking turns at going first."""
    sides = {mode: Side() for mode in MODES}
    settings = {"off": settings_for(base, which, 0), "on": settings_for(base, which, draft_tokens)}
    for i, (prefix, suffix) in enumerate(pairs):
        order = MODES if i % 2 == 0 else MODES[::-1]
        for mode in order:
            _one(engines[mode], sides[mode], prefix, suffix, settings[mode])
        if progress:
            progress(i + 1, len(pairs))
    return sides


def summary(sides: dict[str, Side]) -> dict[str, Any]:
    off, on = sides["off"], sides["on"]
    differ = [i for i, (a, b) in enumerate(zip(off.texts, on.texts)) if a != b]
    per_off = off.decode_ms / max(off.generated, 1)
    per_on = on.decode_ms / max(on.generated, 1)
    return {
        "requests": len(off.texts),
        "identical": len(off.texts) - len(differ),
        "differ_at": differ[:10],
        "speedup_per_token": round(per_off / per_on, 2) if per_on else 0.0,
        "p50_ratio": round(_pct(off.total_ms, 0.5) / max(_pct(on.total_ms, 0.5), 1e-9), 2),
        "off": off.to_json(),
        "on": on.to_json(),
    }


def run(
    model: str | Path | None, base: Settings, sets: Sequence[str] = SETS, limit: int | None = None, draft_tokens: int = 8,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    from ..engine import Engine

    engines = {mode: Engine.open(model, settings_for(base, sets[0], draft_tokens if mode == "on" else 0)) for mode in MODES}
    try:
        report: dict[str, Any] = {
            "benchmark": "decode", "model": engines["on"].backend.model_name, "threads": base.model.threads,
            "draft_tokens": draft_tokens, "limit": limit, "sets": {},
        }
        for which in sets:
            pairs = list(requests(which, limit))

            def tick(i: int, n: int, label: str = which) -> None:
                if progress:
                    progress(label, i, n)

            report["sets"][which] = summary(run_set(engines, pairs, which, base, draft_tokens, tick))
        return report
    finally:
        for engine in engines.values():
            engine.close()


def table(report: dict[str, Any]) -> str:
    lines = [
        f"bench decode: {report['model']}, threads {report['threads'] or 'default'}, completion.draftTokens "
        f"{report['draft_tokens']} vs 0, limit {report['limit']}",
        f"{'set':<12} {'requests':>8} {'identical':>9} {'ms/token off':>12} {'on':>7} {'speed-up':>8} "
        f"{'accepted/check':>14} {'p50 off':>8} {'on':>8} {'p95 off':>8} {'on':>8}",
    ]
    for which, s in report["sets"].items():
        off, on = s["off"], s["on"]
        lines.append(
            f"{which:<12} {s['requests']:>8} {s['identical']:>9} {off['ms_per_token']:>12} {on['ms_per_token']:>7} "
            f"{s['speedup_per_token']:>7}x {on['accepted_per_check']:>14} {off['p50_ms']:>8} {on['p50_ms']:>8} "
            f"{off['p95_ms']:>8} {on['p95_ms']:>8}"
        )
    return "\n".join(lines)


def run_command(args: Any) -> int:
    """The CLI entry: flags to settings, run, print text or JSON."""
    import json
    import sys

    from ..commands import settings_from_flags

    model = args.model
    if args.bench_model:
        from .latency import bench_model_path

        model = str(bench_model_path())

    def progress(label: str, i: int, n: int) -> None:
        if i == n or i % max(1, n // 10) == 0:
            print(f"bench decode: {label}: {i}/{n}", file=sys.stderr, flush=True)

    report = run(model, settings_from_flags(args), args.sets or SETS, args.limit, args.draft_tokens, progress)
    print(json.dumps(report, indent=1) if args.json else table(report))
    return 0
