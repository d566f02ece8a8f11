"""Adaptive debounce (``completion.debounceMs: "auto"``): how long to wait after a
keystroke before starting model work, from the user's typing rhythm and the model's
recent latency (pure: the caller passes the clock).

While the user types faster than the model answers, a run started at each keystroke is
superseded by the next one: CPU spent for nothing. So when the typical gap between
keystrokes is shorter than the model's latency, wait a little longer than that gap
(``rate`` times it): the next keystroke usually comes first and the run is never
started. The wait is capped at a share of the model's latency, so the time from the
last keystroke to the suggestion grows by at most that share; when the model answers
faster than the user types, there is no wait at all.

After Tabby's adaptive debounce (a sliding average of keystroke intervals, pauses left
out, scaled by a rate), with the model's latency as the bound instead of a fixed window.
One instance per server is enough: a gap longer than ``pause_s`` (switching documents,
thinking) is a pause, not part of the rhythm, and is left out.
"""

from __future__ import annotations

from collections import deque
from statistics import median


class Debounce:
    """Typing rhythm and model latency in, a delay in seconds out.

    ``observe_keystroke(now)`` at each didChange (``now`` from a monotonic clock, in
    seconds); ``observe_latency(ms)`` after each model run that finished (not cache
    hits: they say nothing about the model); ``delay_s()`` before starting model work.
    """

    def __init__(
        self,
        *,
        rate: float = 1.5,
        latency_share: float = 0.5,
        max_s: float = 1.0,
        pause_s: float = 0.6,
        window: int = 20,
        min_samples: int = 4,
    ) -> None:
        if rate <= 0 or latency_share < 0 or max_s < 0 or pause_s <= 0 or window < 1 or min_samples < 1:
            raise ValueError("Debounce: rate, pause_s and window must be positive; shares and limits not negative")
        self.rate = rate
        self.latency_share = latency_share
        self.max_s = max_s
        self.pause_s = pause_s
        self.min_samples = min_samples
        self._intervals: deque[float] = deque(maxlen=window)
        self._latencies: deque[float] = deque(maxlen=window)
        self._last: float | None = None

    def observe_keystroke(self, now: float) -> None:
        """A document changed at ``now`` (seconds, monotonic)."""
        if self._last is not None:
            gap = now - self._last
            if 0 <= gap <= self.pause_s:
                self._intervals.append(gap)
        self._last = now

    def observe_latency(self, ms: float) -> None:
        """A model run took ``ms`` milliseconds from its start to its answer."""
        if ms >= 0:
            self._latencies.append(ms / 1000.0)

    def typing_interval_s(self) -> float | None:
        """The user's typical gap between keystrokes, or None until enough were seen."""
        if len(self._intervals) < self.min_samples:
            return None
        return median(self._intervals)

    def latency_s(self) -> float | None:
        """The model's typical latency, or None before its first run."""
        return median(self._latencies) if self._latencies else None

    def delay_s(self) -> float:
        """Seconds to wait for another keystroke before starting model work."""
        interval = self.typing_interval_s()
        latency = self.latency_s()
        if interval is None or latency is None or interval >= latency:
            return 0.0
        return min(self.rate * interval, self.latency_share * latency, self.max_s)
