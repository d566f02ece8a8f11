"""Token budget: which lines of the text around the cursor go into the prompt.

The budget (``completion.promptTokens``) is split between the text before the cursor
and after it by ``completion.suffixRatio``; cuts fall on line boundaries, the lines
nearest the cursor are kept, and budget one side does not use goes to the other.

The prefix window's start moves in steps of ``anchor_lines`` lines rather than with
every new line, so consecutive keystrokes keep the same leading prompt tokens (and
the KV cache that holds them). Pure and deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Lines with their terminators (\\n, \\r\\n or \\r, as LSP counts them)."""
    return _LINE.findall(text)


@dataclass(frozen=True)
class Window:
    prefix: str
    suffix: str
    prefix_tokens: int  # estimated from per-line counts
    suffix_tokens: int


def _tail_fit(text: str, count: Callable[[str], int], budget: int) -> str:
    """The longest tail of one over-long line that fits (characters nearest the cursor)."""
    lo, hi = 0, len(text)
    while lo < hi:  # smallest start index that fits
        mid = (lo + hi) // 2
        if count(text[mid:]) <= budget:
            hi = mid
        else:
            lo = mid + 1
    return text[lo:]


def _head_fit(text: str, count: Callable[[str], int], budget: int) -> str:
    lo, hi = 0, len(text)
    while lo < hi:  # largest end index that fits
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def _take_suffix(lines: list[str], costs: list[int], count: Callable[[str], int], budget: int) -> tuple[str, int]:
    used, n = 0, 0
    while n < len(lines) and used + costs[n] <= budget:
        used += costs[n]
        n += 1
    text = "".join(lines[:n])
    if n == 0 and lines and budget > 0:
        text = _head_fit(lines[0], count, budget)
        used = count(text)
    return text, used


def _take_prefix(
    lines: list[str], costs: list[int], count: Callable[[str], int], budget: int, anchor_lines: int
) -> tuple[str, int]:
    total = sum(costs)
    if total <= budget:
        return "".join(lines), total
    # Earliest start that fits, then rounded up to an anchor so the start stays put
    # while the user types below it.
    start, used = len(lines), 0
    while start > 0 and used + costs[start - 1] <= budget:
        start -= 1
        used += costs[start]
    if anchor_lines > 1 and 0 < start < len(lines):
        anchored = -(-start // anchor_lines) * anchor_lines
        if anchored < len(lines):
            used -= sum(costs[start:anchored])
            start = anchored
    if start == len(lines):
        # Not even the cursor line fits: keep its characters nearest the cursor.
        text = _tail_fit(lines[-1], count, budget) if lines and budget > 0 else ""
        return text, count(text)
    return "".join(lines[start:]), used


def fit(
    prefix: str,
    suffix: str,
    count: Callable[[str], int],
    total: int,
    suffix_ratio: float,
    anchor_lines: int = 1,
) -> Window:
    """Cut ``prefix``/``suffix`` to ``total`` tokens as described in the module docstring.

    ``count`` returns the token count of a piece of text (cache it: it is called per line).
    """
    pre_lines, suf_lines = split_lines(prefix), split_lines(suffix)
    pre_costs = [count(line) for line in pre_lines]
    suf_costs = [count(line) for line in suf_lines]
    suf_budget = int(total * suffix_ratio)
    pre_budget = total - suf_budget
    # Unused suffix budget goes to the prefix and unused prefix budget to the suffix.
    suf_need = sum(suf_costs)
    pre_need = sum(pre_costs)
    if suf_need < suf_budget:
        pre_budget = total - suf_need
    elif pre_need < pre_budget:
        suf_budget = total - pre_need
    pre_text, pre_used = _take_prefix(pre_lines, pre_costs, count, pre_budget, anchor_lines)
    suf_text, suf_used = _take_suffix(suf_lines, suf_costs, count, suf_budget)
    return Window(pre_text, suf_text, pre_used, suf_used)
