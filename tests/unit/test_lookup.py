"""Prompt-lookup drafting (lookup.py): where drafts come from and how their length adapts."""

from __future__ import annotations

import numpy as np

from codeshell_lsp.lookup import MAX_NGRAM, Drafter, continuation


def test_the_continuation_of_the_last_tokens_earlier_occurrence_is_drafted():
    prompt = [1, 2, 3, 4, 5, 6, 9, 9, 2, 3]
    assert Drafter(prompt, 8, 4).draft([], 8) == [4, 5, 6, 9]


def test_the_longest_matching_ngram_wins_over_a_more_recent_shorter_one():
    # "2 3" occurs twice; only the first occurrence is preceded by 1 as the text's end is.
    tokens = np.array([1, 2, 3, 7, 8, 2, 3, 5, 1, 2, 3])
    assert continuation(tokens) == 3


def test_the_most_recent_occurrence_wins_among_equally_long_matches():
    tokens = np.array([2, 3, 7, 2, 3, 8, 2, 3])
    assert continuation(tokens) == 5


def test_a_single_matching_token_is_no_draft():
    assert continuation(np.array([5, 1, 6, 7, 1])) is None
    assert Drafter([5, 1, 6, 7], 8, 4).draft([1], 8) == []


def test_matches_longer_than_the_longest_ngram_still_match():
    seq = list(range(10, 10 + MAX_NGRAM + 3))
    assert continuation(np.array(seq + [99] + seq[:-1])) == len(seq) - 1


def test_generated_tokens_are_searched_too():
    d = Drafter([1, 2], 16, 4)
    assert d.draft([7, 8, 9, 4, 7, 8], 16) == [9, 4, 7, 8]


def test_the_draft_stops_at_the_limit_and_at_the_text_end():
    d = Drafter([1, 2, 3, 4, 5, 1, 2], 8, 8)
    assert d.draft([], 2) == [3, 4]
    assert d.draft([], 0) == []
    assert Drafter([1, 2, 3, 1, 2], 8, 8).draft([], 8) == [3, 1, 2]


def test_draft_length_grows_after_full_acceptance_and_shrinks_after_a_miss():
    d = Drafter([], 8, 8)
    start = d.length
    d.accepted(start, start)
    assert d.length == start + 2
    d.accepted(d.length, 0)
    assert d.length == start + 1
    for _ in range(20):
        d.accepted(d.length, d.length)
    assert d.length == 8
    for _ in range(20):
        d.accepted(d.length, 0)
    assert d.length == 1
