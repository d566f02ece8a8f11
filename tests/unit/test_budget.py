"""Token budget: line-boundary cuts, nearest lines kept, the split and its leftovers."""

from __future__ import annotations

from codeshell_lsp.budget import fit, split_lines


def count(text: str) -> int:
    """One token per word-ish piece: deterministic and easy to reason about."""
    return max(1, len(text.split())) if text else 0


PREFIX = "".join(f"p{i} x\n" for i in range(100)) + "cur"
SUFFIX = "rest\n" + "".join(f"s{i} y\n" for i in range(100))


def test_cuts_on_line_boundaries_and_keeps_nearest_lines():
    w = fit(PREFIX, SUFFIX, count, total=40, suffix_ratio=0.25)
    assert PREFIX.endswith(w.prefix) and w.prefix.startswith("p")  # starts on a whole line
    assert w.prefix.endswith("p99 x\ncur")
    assert SUFFIX.startswith(w.suffix) and w.suffix.endswith("\n")
    assert w.prefix_tokens <= 30 and w.suffix_tokens <= 10


def test_respects_the_split():
    w = fit(PREFIX, SUFFIX, count, total=100, suffix_ratio=0.5)
    assert 45 <= w.prefix_tokens <= 50 and 45 <= w.suffix_tokens <= 50


def test_unused_suffix_budget_goes_to_prefix():
    w = fit(PREFIX, "end\n", count, total=60, suffix_ratio=0.5)
    assert w.suffix == "end\n"
    assert w.prefix_tokens > 50


def test_unused_prefix_budget_goes_to_suffix():
    w = fit("x = 1\ncur", SUFFIX, count, total=60, suffix_ratio=0.25)
    assert w.prefix == "x = 1\ncur"
    assert w.suffix_tokens > 50


def test_deterministic():
    assert fit(PREFIX, SUFFIX, count, 50, 0.25) == fit(PREFIX, SUFFIX, count, 50, 0.25)


def test_anchor_keeps_window_start_while_typing():
    starts = set()
    text = PREFIX
    for ch in "abcdefghij":
        text += f" {ch}"
        starts.add(fit(text, SUFFIX, count, 60, 0.25, anchor_lines=32).prefix.split("\n", 1)[0])
    assert len(starts) == 1


def test_overlong_cursor_line_keeps_characters_nearest_cursor():
    line = " ".join(f"w{i}" for i in range(1000))
    w = fit(line, "", count, total=10, suffix_ratio=0.0)
    assert line.endswith(w.prefix) and count(w.prefix) <= 10 and w.prefix.endswith("w999")


def test_split_lines_counts_all_terminators():
    assert split_lines("a\r\nb\rc\nd") == ["a\r\n", "b\r", "c\n", "d"]
