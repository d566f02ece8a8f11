"""`bench latency --quick` runs end to end and its counters say reuse works (behaviour, not timing)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from codeshell_lsp.bench.traces import load_all, replay, scripted, scripted_multi_file

pytestmark = pytest.mark.model


def test_shipped_traces_match_their_script():
    assert [t.to_json() for t in load_all()] == [t.to_json() for t in scripted()]


def test_traces_are_real_files_of_300_to_2000_lines():
    for trace in load_all():
        assert 300 <= trace.source().count("\n") <= 2000
        steps = list(replay(trace))
        assert len(steps) == len(trace.events) >= 60


def test_quick_bench_reports_both_modes_and_floor(tiny_model):
    r = subprocess.run(
        [sys.executable, "-m", "codeshell_lsp", "bench", "latency", "--quick", "--json", "--threads", "1", "--model", str(tiny_model)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout)
    off, on = report["modes"]["reuse=false"], report["modes"]["reuse=true"]
    assert off["requests"] == 9 and on["requests"] == 18
    # reuse=false re-evaluates whole prompts; reuse=true only what changed.
    assert on["evaluated_per_request_mean"] < off["evaluated_per_request_mean"] / 2
    assert all(s["reused"] == 0 for s in report["samples"]["reuse=false"])
    assert report["floor"]["requests"] == on["requests"] - on["cache_hits"]
    assert report["abort_ms"] is not None


def test_quick_bench_probes_hit_the_completion_cache(tiny_model):
    r = subprocess.run(
        [sys.executable, "-m", "codeshell_lsp", "bench", "latency", "--quick", "--json", "--threads", "1", "--model", str(tiny_model)],
        capture_output=True, text=True, timeout=300,
    )
    probes = [s for s in json.loads(r.stdout)["samples"]["reuse=true"] if s["index"] == -1]
    assert probes and all(s["cache_hit"] and s["evaluated"] == 0 for s in probes)


def test_shipped_multi_file_trace_matches_its_script():
    (multi,) = load_all("traces/multi-file")
    assert multi.to_json() == scripted_multi_file().to_json()
    assert multi.files == ["fractions.py", "statistics.py", "textwrap.py"]
    assert [s.file for s in replay(multi)][:13] == ["fractions.py"] * 6 + ["statistics.py"] * 6 + ["textwrap.py"]


@pytest.mark.slow
def test_quick_multi_file_bench_counts_per_document_reuse_and_restores(tiny_model):
    r = subprocess.run(
        [sys.executable, "-m", "codeshell_lsp", "bench", "latency", "--documents", "--quick", "--json", "--threads", "1",
         "--no-peer", "--limit", "25", "--model", str(tiny_model)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout)
    one, default = report["modes"]["documents=1"], report["modes"]["documents=4"]
    assert one["switch_back_requests"] == default["switch_back_requests"] == 2
    # Coming back to a file: the whole prompt with one document, only the change with four.
    assert default["evaluated_per_switch_back_mean"] * 10 <= one["evaluated_per_switch_back_mean"]
    restart = report["restart"]
    assert restart["saved_files"] >= 3
    assert all(n <= 4 for n in restart["restored_evaluated"])
    assert all(n > 500 for n in restart["cold_evaluated"])


def test_quick_extra_context_bench_keeps_the_other_files_in_the_kv_cache(tiny_model):
    r = subprocess.run(
        [sys.executable, "-m", "codeshell_lsp", "bench", "latency", "--quick", "--extra-context", "--json", "--threads", "1",
         "--model", str(tiny_model)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    off, on = (json.loads(r.stdout)["modes"][m] for m in ("otherFiles=false", "otherFiles=true"))
    assert off["answered_with_text"] > 0 and on["answered_with_text"] > 0
    assert off["extra_reused_per_request_mean"] == 0 < on["extra_reused_per_request_mean"]
    assert on["model_evaluated_p50"] <= off["model_evaluated_p50"] + 1  # a keystroke evaluates no extra token


def test_typing_bench_counts_model_runs_per_keystroke_for_both_debounce_settings(tiny_model):
    from codeshell_lsp.bench import typing

    report = typing.run(tiny_model, 1, 8, 512, load_all()[:1], limit=10, gap_ms=50, burst=5)
    for mode in ("debounceMs=0", "debounceMs=auto"):
        m = report["modes"][mode]
        assert m["keystrokes"] == 10 and m["bursts"] == 2
        assert 1 <= m["model_runs"] <= 10
        assert m["last_keystroke_to_answer_p50_ms"] > 0 and m["cpu_s_per_typing_minute"] > 0
    assert set(report["ratios"]) == {"runs_0_over_auto", "latency_auto_over_0"}
