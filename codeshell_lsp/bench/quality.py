"""`codeshell-lsp bench quality`: HumanEval infilling through the server's own engine.

Every task goes through ``Engine.complete_once`` — the prompt budget, the FIM template,
generation and postprocessing exactly as an editor's request — once with the model's
FIM template (or ``--template``) and once prefix-only, the baseline that shows what the
text after the cursor is worth. Single-line tasks run with ``multiline=never``;
multi-line tasks with the server's default ``auto`` (the cursor sits on a blank line, so
a block). The completion cache is off so that every task is answered by the model.

Each answer is scored twice, from the same generation: with the postprocessing chain off
(the engine's answer with only stops, scope, suffix overlap and whitespace trim) and on
(``postprocess.Policy.finish`` over it; the chain's tests pin that this equals the chain
run on the raw text, and that stopping generation early never changes it).

Scores per set, mode and chain: exact match (completion equals the masked text,
surrounding whitespace ignored), pass@1 (the completed program passes the problem's
tests; greedy decoding, one sample), junk rate (``postprocess.junk``: a repeated 1–3-token
unit, or lines that mostly repeat) and empty rate (no suggestion).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import postprocess
from ..errors import BackendError
from ..options import Settings
from . import humaneval

MULTILINE = {"single-line": "never", "multi-line": "auto"}
MAX_TOKENS = {"single-line": 64, "multi-line": 128}
CHAINS = ("off", "on")


@dataclass
class Score:
    tasks: int = 0
    exact: int = 0
    passed: int = 0
    empty: int = 0
    junk: int = 0
    seconds: float = 0.0
    generated_tokens: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)  # first few, for a look
    texts: list[str] = field(default_factory=list, repr=False)  # every completion, in task order

    def to_json(self, texts: bool = False) -> dict[str, Any]:
        n = max(self.tasks, 1)
        extra = {"completions": self.texts} if texts else {}
        return {
            "tasks": self.tasks,
            "exact_match": round(self.exact / n, 4),
            "pass_at_1": round(self.passed / n, 4),
            "exact": self.exact,
            "passed": self.passed,
            "empty": self.empty,
            "junk": self.junk,
            "empty_rate": round(self.empty / n, 4),
            "junk_rate": round(self.junk / n, 4),
            "seconds": round(self.seconds, 1),
            "ms_per_task": round(1000 * self.seconds / n, 1),
            "generated_tokens": self.generated_tokens,
            "examples": self.failures,
            **extra,
        }


def exact(completion: str, reference: str) -> bool:
    return completion.strip() == reference.strip()


class Checker:
    """pass@1 of completed programs, with the answers that need no execution."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._seen: dict[str, bool] = {}

    def __call__(self, task: humaneval.Task, completion: str) -> bool:
        if completion == task.middle:
            return True  # the canonical solution: the package's own data passes its tests
        source = humaneval.program(task, completion)
        if source not in self._seen:
            try:
                compile(source, task.task_id, "exec")
            except (SyntaxError, ValueError):
                self._seen[source] = False  # cannot run, cannot pass
            else:
                self._seen[source] = humaneval.passes(source, self.timeout)
        return self._seen[source]


def settings_for(base: Settings, which: str, template: str, max_tokens: int | None, reuse: bool | None = None) -> Settings:
    return base.replace(
        model=dataclasses.replace(base.model, template=template),
        completion=dataclasses.replace(
            base.completion, multiline=MULTILINE[which], max_tokens=max_tokens or MAX_TOKENS[which], temperature=0.0,
            filters=False,  # the engine answers with the chain off; run_set applies it
        ),
        # persist off: no KV saved by an earlier run, so a run does not depend on the last one.
        cache=dataclasses.replace(
            base.cache, completion_cache_size=0, reuse=base.cache.reuse if reuse is None else reuse, persist=False
        ),
    )


def _add(score: Score, task: humaneval.Task, text: str, check: Callable[[humaneval.Task, str], bool]) -> None:
    score.texts.append(text)
    score.tasks += 1
    score.empty += not text
    score.junk += postprocess.junk(text)
    score.exact += exact(text, task.middle)
    ok = check(task, text)
    score.passed += ok
    if not ok and len(score.failures) < 3:
        score.failures.append({"task": task.task_id, "expected": task.middle, "got": text})


def run_set(
    engine: Any,
    tasks: Sequence[humaneval.Task],
    settings: Settings,
    check: Callable[[humaneval.Task, str], bool],
    progress: Callable[[int, int], None] | None = None,
    typed: bool = False,
    chains: Sequence[str] = CHAINS,
) -> dict[str, Score]:
    """Score ``tasks`` with the chain off and on (``chains``), from one generation each.
    ``typed``: first complete one keystroke earlier (the prefix minus its last character),
    so the scored prompt reuses a KV cache whose suffix was shifted."""
    scores = {chain: Score() for chain in chains}
    t0 = time.perf_counter()
    for i, task in enumerate(tasks, 1):
        if typed and task.prefix:
            engine.complete_once(task.prefix[:-1], task.suffix, settings, "python")
        result = engine.complete_once(task.prefix, task.suffix, settings, "python")
        if result.status == "error":
            raise BackendError(f"{task.task_id}: {result.error}")
        policy = postprocess.Policy(task.prefix, task.suffix, "python", settings.completion.multiline)
        for chain, score in scores.items():
            score.generated_tokens += result.generated_tokens
            _add(score, task, policy.finish(result.text).text if chain == "on" else result.text, check)
        if progress:
            progress(i, len(tasks))
    for score in scores.values():
        score.seconds = time.perf_counter() - t0
    return scores


def run(
    model: str | Path | None,
    base: Settings,
    sets: Sequence[str] = humaneval.SETS,
    limit: int | None = None,
    template: str | None = None,
    baseline: bool = True,
    max_tokens: int | None = None,
    timeout: float = 10.0,
    progress: Callable[[str, int, int], None] | None = None,
    reuse_check: bool = False,
    chains: Sequence[str] = CHAINS,
    texts: bool = False,
) -> dict[str, Any]:
    """Scores of every set in the model's FIM mode and (``baseline``) prefix-only.

    ``reuse_check`` adds two FIM runs that tell what KV reuse costs in quality:
    ``fim-fresh`` (cache.reuse=false: every prompt evaluated whole) and ``fim-typed``
    (cache.reuse=true, each task reached by one more keystroke, so its suffix cells
    were shifted rather than evaluated).
    """
    from ..engine import Engine

    problems = humaneval.load_problems()
    chosen = {which: humaneval.spread(humaneval.tasks(problems, which), limit) for which in sets}
    fim = template or base.model.template
    modes: list[tuple[str, str, bool | None, bool]] = [("fim", fim, None, False)]
    if reuse_check:
        modes += [("fim-fresh", fim, False, False), ("fim-typed", fim, True, True)]
    if baseline:
        modes.append(("prefix-only", "prefix-only", None, False))
    check = Checker(timeout)
    report: dict[str, Any] = {"benchmark": "humaneval-infilling", "model": "", "template": "", "limit": limit, "sets": {}}
    answers: dict[tuple[str, str], list[str]] = {}
    for mode, tmpl, reuse, typed in modes:
        engine = Engine.open(model, settings_for(base, sets[0], tmpl, max_tokens, reuse))
        try:
            if mode == "fim":
                report["model"], report["template"] = engine.backend.model_name, engine.backend.template_name
            for which, items in chosen.items():
                def tick(i: int, n: int, label: str = f"{which} {mode}") -> None:
                    if progress:
                        progress(label, i, n)

                scores = run_set(
                    engine, items, settings_for(base, which, tmpl, max_tokens, reuse), check, tick, typed, chains
                )
                for chain, score in scores.items():
                    report["sets"].setdefault(which, {})[f"{mode} chain-{chain}"] = score.to_json(texts)
                answers[(which, mode)] = scores[chains[-1]].texts
        finally:
            engine.close()
    if reuse_check:
        for which in chosen:
            fresh, shifted = answers[(which, "fim-fresh")], answers[(which, "fim-typed")]
            same = sum(a == b for a, b in zip(fresh, shifted))
            report["sets"][which]["typed_vs_fresh_identical"] = round(same / max(len(fresh), 1), 4)
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"HumanEval infilling, model {report.get('model', '?')} (FIM template {report.get('template', '?')})"]
    lines.append(
        f"{'set':<12} {'mode':<22} {'tasks':>6} {'exact':>7} {'pass@1':>7} {'junk':>6} {'empty':>6} {'ms/task':>8}"
    )
    for which, modes in report["sets"].items():
        for mode, s in modes.items():
            if not isinstance(s, dict):
                lines.append(f"{which:<12} completions identical with shifted KV reuse and without: {100 * s:.1f}%")
                continue
            lines.append(
                f"{which:<12} {mode:<22} {s['tasks']:>6} {100 * s['exact_match']:>6.1f}% {100 * s['pass_at_1']:>6.1f}% "
                f"{100 * s['junk_rate']:>5.1f}% {100 * s['empty_rate']:>5.1f}% {s['ms_per_task']:>8.0f}"
            )
    return "\n".join(lines)


def stderr_progress(label: str, i: int, n: int) -> None:
    step = max(1, n // 10)
    if i == n or i % step == 0:
        print(f"bench quality: {label}: {i}/{n}", file=sys.stderr, flush=True)


def run_command(args: Any) -> int:
    """The CLI entry: flags to settings, run, print text or JSON."""
    import json

    from ..commands import settings_from_flags

    sets = args.sets or humaneval.SETS
    infilling = [s for s in sets if s in humaneval.SETS]
    report = {"benchmark": "humaneval-infilling", "sets": {}} if not infilling else run(
        args.model,
        settings_from_flags(args),
        sets=infilling,
        limit=args.limit,
        template=args.template,
        baseline=not args.no_baseline,
        max_tokens=args.max_tokens,
        timeout=args.timeout,
        progress=stderr_progress,
        reuse_check=args.reuse_check,
        chains=CHAINS if args.chain == "both" else (args.chain,),
        texts=args.completions,
    )
    text = format_report(report) if infilling else ""
    if "cross-file" in sets:
        from . import crossfile

        modes = args.cross_file_modes or crossfile.MODES
        report["cross_file"] = crossfile.run(
            args.model, settings_from_flags(args), args.limit, stderr_progress, modes=modes, per_hole=args.completions
        )
        text = "\n".join(filter(None, (text, crossfile.format_report(report["cross_file"]))))
    print(json.dumps(report, indent=1, ensure_ascii=False) if args.json else text)
    return 0
