"""KV reuse planning from the prompt layout (pure)."""

from __future__ import annotations

from codeshell_lsp.kvplan import Plan, common_prefix, plan, restorable
from codeshell_lsp.prompt import Span

P, S, M = 900, 901, 902  # prefix, suffix, middle markers


def fim(prefix: list[int], suffix: list[int]) -> tuple[list[int], Span]:
    tokens = [P, *prefix, S, *suffix, M]
    start = 1 + len(prefix)
    return tokens, Span(start, start + 1 + len(suffix))


SUFFIX = list(range(100, 140))


def test_common_prefix():
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([1, 2], [1, 2]) == 2


def test_identical_prompt_reuses_all_but_the_last_token():
    tokens, chunk = fim([1, 2, 3], SUFFIX)
    p = plan(tokens, chunk, tokens, chunk)
    assert (p.keep, p.moved, p.evaluated) == (len(tokens) - 1, None, 1)


def test_typing_at_the_cursor_shifts_the_suffix_instead_of_evaluating_it():
    old, old_chunk = fim([1, 2, 3], SUFFIX)
    new, new_chunk = fim([1, 2, 3, 4, 5], SUFFIX)
    p = plan(old, old_chunk, new, new_chunk)
    assert p.keep == 4  # <P> 1 2 3
    assert p.shift == 2 and p.moved == Span(new_chunk.start, new_chunk.end)
    assert p.evaluated == 2 + 1  # the two typed tokens and <fim_middle>
    assert p.save == new_chunk


def test_a_changed_suffix_is_reused_only_up_to_where_it_differs():
    old, old_chunk = fim([1, 2], SUFFIX)
    new, new_chunk = fim([1, 2, 3], SUFFIX[:10] + [7] + SUFFIX[11:])
    p = plan(old, old_chunk, new, new_chunk)
    assert p.moved == Span(new_chunk.start, new_chunk.start + 11)  # marker + 10 tokens


def test_a_short_common_suffix_is_not_worth_moving():
    old, old_chunk = fim([1, 2], SUFFIX)
    new, new_chunk = fim([1, 2, 3], SUFFIX[:3] + [7] * 37)
    assert plan(old, old_chunk, new, new_chunk).moved is None


def test_reuse_off_plans_a_fresh_evaluation_that_keeps_nothing():
    tokens, chunk = fim([1, 2, 3], SUFFIX)
    assert plan(tokens, chunk, tokens, chunk, reuse=False) == Plan(0, None, 0, len(tokens))


def test_a_model_that_cannot_shift_reuses_only_the_prefix():
    old, old_chunk = fim([1, 2, 3], SUFFIX)
    new, new_chunk = fim([1, 2, 3, 4], SUFFIX)
    p = plan(old, old_chunk, new, new_chunk, can_shift=False)
    assert (p.keep, p.moved, p.save) == (4, None, None)


def test_prefix_only_prompts_have_no_chunk_and_reuse_their_common_prefix():
    p = plan([1, 2, 3, 4], None, [1, 2, 3, 4, 5, 6], None)
    assert (p.keep, p.moved, p.evaluated, p.save) == (4, None, 2, None)


def test_an_edit_after_the_suffix_start_keeps_the_prefix_only():
    old, old_chunk = fim([1, 2], SUFFIX)
    new, new_chunk = fim([1, 2], SUFFIX[:-1] + [9])
    p = plan(old, old_chunk, new, new_chunk)
    assert p.moved is None and p.keep == len(new) - 2


def test_a_saved_state_is_restored_only_when_the_prompt_reuses_enough_of_it():
    def worth(saved: list[int], prompt: list[int], **kw) -> bool:
        return restorable(plan(saved, None, prompt, None, **kw))

    saved = [P, *range(1, 100)]
    assert worth(saved, [P, *range(1, 50), 7, 8])  # 50 leading tokens in common
    assert not worth(saved, [P, *range(1, 10), 7, 8])  # too few to be worth the copy
    assert not worth(saved, [S, *range(1, 100)])  # differs from the first token
    assert worth([P, 1, 2], [P, 1, 2, 3])  # a prompt shorter than the threshold: all but its last token
    # Another first chunk of extra context: the rest of it and the document still move.
    chunk, body = list(range(300, 340)), list(range(400, 480))
    assert worth([*range(500, 540), *chunk, *body], [*range(600, 620), *chunk, *body],
                 cached_body=80, body=60, pieces=(Span(0, 20), Span(20, 60)))


BODY = list(range(200, 260))  # the document's own tokens, after the extra context


def test_a_new_extra_context_moves_the_document_body_out_of_sequence_0():
    old = [1, *range(10, 15), *BODY]  # BOS, 5 extra-context tokens, the body
    new = [1, *range(20, 28), *BODY, 7]  # a longer set of chunks; one token typed at the end
    p = plan(old, None, new, None, cached_body=6, body=9)
    assert p.from_prompt and p.keep == 1
    assert p.moved == Span(9, 9 + len(BODY)) and p.shift == 3
    assert p.evaluated == 8 + 1  # the new chunks and the typed token


def test_the_body_moves_only_from_past_what_sequence_0_keeps():
    old = [1, 5, *BODY]
    new = [1, 5, 6, *BODY]
    p = plan(old, None, new, None, cached_body=1, body=3)  # kept [1, 5] overlaps the old body
    assert p.moved is None and p.keep == 2


def test_the_body_up_to_the_edit_and_the_suffix_chunk_both_move():
    prefix = list(range(300, 360))  # longer than the suffix chunk: the body reuses more
    old_tokens, old_chunk = fim(prefix, SUFFIX)
    old = [1, 50, 51, *old_tokens]  # BOS and two extra tokens before the FIM prompt
    new_tokens, new_chunk = fim(prefix + [9], SUFFIX)
    new = [1, 60, *new_tokens]  # a new set of chunks, one token shorter; one token typed
    cached_chunk = Span(old_chunk.start + 3, old_chunk.end + 3)
    chunk = Span(new_chunk.start + 2, new_chunk.end + 2)
    p = plan(old, cached_chunk, new, chunk, cached_body=3, body=2)
    assert [(b.old, b.new, b.length) for b in p.blocks] == [(3, 2, 1 + len(prefix))]  # <P> and the prefix
    assert not p.from_prompt and p.moved == chunk  # and the suffix copy
    assert p.evaluated == 3  # the new extra token, the typed one and <fim_middle>
    p = plan(old, cached_chunk, new, chunk)  # without body positions: the suffix chunk only
    assert not p.from_prompt and p.moved == chunk


def test_a_model_that_cannot_shift_does_not_move_the_body():
    old = [1, *range(10, 15), *BODY]
    new = [1, *range(20, 28), *BODY]
    assert plan(old, None, new, None, cached_body=6, body=9, can_shift=False).moved is None


def test_extra_pieces_that_the_cache_holds_move_to_their_new_places():
    a, b, c, head = list(range(10, 30)), list(range(30, 50)), list(range(50, 70)), [7] * 9
    body = [P, 1, 2, 3, S, *SUFFIX, M]
    old = a + b + c + head + body
    new = a + c + head + body  # b left the set
    pieces = (Span(0, 20), Span(20, 40), Span(40, 49))
    p = plan(old, None, new, None, cached_body=69, body=49, pieces=pieces)
    assert p.keep == 20
    assert [(blk.old, blk.new, blk.length) for blk in p.blocks] == [(40, 20, 20), (60, 40, 9)]
    assert p.from_prompt and p.moved == Span(49, len(new) - 1)
    assert p.evaluated == 1


def test_a_piece_the_common_prefix_ends_inside_moves_whole():
    a, b, c = [10, 11, 12] + list(range(20, 37)), [10, 11, 12] + list(range(40, 57)), list(range(60, 80))
    body = [P, 1, 2, S, *SUFFIX, M]
    old = a + b + c + body
    new = b + c + body  # a left; b starts like it
    p = plan(old, None, new, None, cached_body=60, body=40, pieces=(Span(0, 20), Span(20, 40)))
    assert p.keep == 0 and [(blk.old, blk.new) for blk in p.blocks] == [(20, 0), (40, 20)]
    assert p.evaluated == 1


def test_blocks_never_come_from_the_suffix_copy_or_overlap():
    piece = list(range(10, 30))
    old = piece + piece + [P, 1, S, *SUFFIX, M]
    new = [5] + piece + piece + [P, 1, S, *SUFFIX, M]
    pieces = (Span(0, 1), Span(1, 21), Span(21, 41))
    p = plan(old, None, new, None, cached_body=40, body=41, pieces=pieces)
    olds = sorted((blk.old, blk.old + blk.length) for blk in p.blocks)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(olds, olds[1:]))
    assert all(e <= 40 for _, e in olds)


def test_a_keystroke_with_another_set_of_chunks_moves_the_body_and_the_suffix():
    head_old, head_new = list(range(10, 30)), list(range(40, 70))
    prefix = list(range(300, 340))
    old = [*head_old, P, *prefix, S, *SUFFIX, M]
    new = [*head_new, P, *prefix, 7, S, *SUFFIX, M]  # one token typed at the cursor
    old_chunk = Span(20 + 1 + len(prefix), 20 + 1 + len(prefix) + 1 + len(SUFFIX))
    new_chunk = Span(30 + 1 + len(prefix) + 1, 30 + 1 + len(prefix) + 2 + len(SUFFIX))
    p = plan(old, old_chunk, new, new_chunk, cached_body=20, body=30, pieces=(Span(0, 30),))
    assert [(b.old, b.new, b.length) for b in p.blocks] == [(20, 30, 1 + len(prefix))]  # <P> and the prefix
    assert p.moved == Span(new_chunk.start, new_chunk.end) and not p.from_prompt  # the suffix copy
    assert p.evaluated == 30 + 1 + 1  # the new chunks, the typed token and <fim_middle>


def test_a_saved_state_sharing_only_the_suffix_is_not_restored():
    old, old_chunk = fim(list(range(1, 60)), SUFFIX)
    new, new_chunk = fim(list(range(500, 560)), SUFFIX)  # another document with the same tail
    p = plan(old, old_chunk, new, new_chunk)
    assert p.moved is not None and not restorable(p)


def test_a_sliding_window_cache_moves_no_blocks():
    a, b, c = list(range(10, 30)), list(range(30, 50)), list(range(50, 70))
    body = [P, 1, 2, 3, S, *SUFFIX, M]
    p = plan(a + b + c + body, None, a + c + body, None, cached_body=60, body=40,
             pieces=(Span(0, 20), Span(20, 40)), move_blocks=False)
    assert p.blocks == () and p.from_prompt  # the document still moves
