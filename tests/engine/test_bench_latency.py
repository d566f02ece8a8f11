"""`bench latency --quick` runs end to end and its counters say reuse works (behaviour, not timing)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from codeshell_lsp.bench.traces import load_all, replay, scripted

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
