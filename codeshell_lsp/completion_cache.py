"""Completions remembered by prompt: repeated positions and typed-through suggestions
are answered without the model.

Typed-through: the user typed the first characters of a recent suggestion, so the
rest of it is still the suggestion.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Hashable

from cachetools import LRUCache

_RECENT = 16  # suggestions remembered for typed-through matching


@dataclass(frozen=True)
class _Shown:
    prefix: str
    suffix: str
    text: str


class CompletionCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._exact: LRUCache[tuple[str, str, Hashable], str] = LRUCache(maxsize=max(1, size))
        self._recent: deque[_Shown] = deque(maxlen=_RECENT)

    def get(self, prefix: str, suffix: str, gen: Hashable) -> str | None:
        if self.size <= 0:
            return None
        hit = self._exact.get((prefix, suffix, gen))
        if hit is not None:
            return hit
        for shown in self._recent:
            if shown.suffix != suffix or not prefix.startswith(shown.prefix):
                continue
            typed = prefix[len(shown.prefix) :]
            if typed and len(typed) < len(shown.text) and shown.text.startswith(typed):
                return shown.text[len(typed) :]
        return None

    def put(self, prefix: str, suffix: str, gen: Hashable, text: str) -> None:
        if self.size <= 0:
            return
        self._exact[(prefix, suffix, gen)] = text
        if text:
            self._recent.appendleft(_Shown(prefix, suffix, text))
