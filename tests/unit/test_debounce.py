"""Adaptive debounce: the delay follows typing rhythm and model latency (no model, no clock)."""

from __future__ import annotations

import pytest

from codeshell_lsp.debounce import Debounce


def typed(debounce: Debounce, gaps: list[float], start: float = 100.0) -> float:
    """Feed keystrokes separated by ``gaps`` seconds; return the time of the last one."""
    now = start
    debounce.observe_keystroke(now)
    for gap in gaps:
        now += gap
        debounce.observe_keystroke(now)
    return now


def test_no_delay_before_anything_is_known():
    assert Debounce().delay_s() == 0.0


def test_no_delay_until_enough_keystrokes_were_seen():
    d = Debounce(min_samples=4)
    d.observe_latency(800)
    typed(d, [0.1, 0.1, 0.1])
    assert d.delay_s() == 0.0
    d.observe_keystroke(200.0)  # after a pause: no interval
    assert d.delay_s() == 0.0
    d.observe_keystroke(200.1)
    assert d.delay_s() > 0.0


def test_no_delay_before_the_models_first_run():
    d = Debounce()
    typed(d, [0.1] * 10)
    assert d.latency_s() is None
    assert d.delay_s() == 0.0


def test_fast_typing_on_a_slow_model_waits_longer_than_a_keystroke_gap():
    d = Debounce()
    typed(d, [0.12] * 10)
    d.observe_latency(700)
    delay = d.delay_s()
    assert delay == pytest.approx(1.5 * 0.12)
    assert delay > d.typing_interval_s()  # the next keystroke usually comes first


def test_model_faster_than_typing_means_no_delay():
    d = Debounce()
    typed(d, [0.2] * 10)
    d.observe_latency(150)
    assert d.delay_s() == 0.0


def test_delay_is_capped_at_a_share_of_the_latency():
    d = Debounce(latency_share=0.5)
    typed(d, [0.3] * 10)
    d.observe_latency(400)  # typing (0.3 s) is faster than the model, 1.5 * 0.3 > 0.5 * 0.4
    assert d.delay_s() == pytest.approx(0.2)


def test_delay_never_exceeds_max_s():
    d = Debounce(max_s=0.25, latency_share=1.0)
    typed(d, [0.5] * 10)
    d.observe_latency(5000)
    assert d.delay_s() == pytest.approx(0.25)


def test_pauses_are_not_part_of_the_rhythm():
    d = Debounce(pause_s=0.6, min_samples=4)
    t = typed(d, [0.1, 3.0, 0.1, 45.0, 0.7, 0.1])
    assert d.typing_interval_s() is None  # three gaps of typing, three pauses
    d.observe_keystroke(t + 0.1)
    assert d.typing_interval_s() == pytest.approx(0.1)


def test_rhythm_is_the_median_of_a_sliding_window():
    d = Debounce(window=5)
    t = typed(d, [0.5] * 10)
    assert d.typing_interval_s() == pytest.approx(0.5)
    typed(d, [0.1] * 3, start=t + 0.1)  # the first of these is 0.1 after the last 0.5
    assert d.typing_interval_s() == pytest.approx(0.1)  # 0.5, 0.1, 0.1, 0.1, 0.1


def test_one_slow_outlier_does_not_move_the_latency():
    d = Debounce()
    for ms in (300, 320, 310, 9000):
        d.observe_latency(ms)
    assert d.latency_s() == pytest.approx(0.315)


def test_clock_going_backwards_is_ignored():
    d = Debounce(min_samples=4)
    typed(d, [0.1] * 3)
    d.observe_keystroke(50.0)
    assert d.typing_interval_s() is None


def test_invalid_parameters_are_refused():
    with pytest.raises(ValueError):
        Debounce(rate=0)
    with pytest.raises(ValueError):
        Debounce(window=0)


@pytest.mark.parametrize(
    ("gap", "latency_ms", "runs_saved"),
    [(0.12, 700, True), (0.25, 700, True), (0.4, 300, False)],
)
def test_runs_started_during_a_burst(gap: float, latency_ms: float, runs_saved: bool):
    # Simulate a burst of 20 keystrokes: a run starts when no keystroke arrives within
    # the delay after the previous one. Auto must start fewer runs than no debounce when
    # typing outpaces the model, and add at most half the latency after the last key.
    d = Debounce()
    d.observe_latency(latency_ms)
    t = typed(d, [gap] * 8)
    started = 0
    for _ in range(20):
        delay = d.delay_s()
        if gap > delay:
            started += 1
        t += gap
        d.observe_keystroke(t)
    assert (started < 20) is runs_saved
    assert d.delay_s() <= 0.5 * latency_ms / 1000 + 1e-9
