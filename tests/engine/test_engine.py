"""The engine on the tiny model: counters, KV reuse, cancel, completion cache."""

from __future__ import annotations

import threading

import pytest

from codeshell_lsp.context import Cursor
from codeshell_lsp.engine import Engine
from codeshell_lsp.options import Settings

pytestmark = pytest.mark.model

PREFIX = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(30)) + "def g(y):\n    return "
SUFFIX = "\n\n" + "".join(f"print(f{i}(1))\n" for i in range(30))


def settings(**completion) -> Settings:
    s, problems = Settings.from_dict({"model": {"threads": 1}, "completion": {"multiline": "always", "filters": False, **completion}})
    assert not problems
    return s


@pytest.fixture
def engine(tiny_model):
    e = Engine.open(tiny_model, settings())
    yield e
    e.close()


def fresh(tiny_model, prefix: str, suffix: str, s: Settings | None = None) -> str:
    e = Engine.open(tiny_model, s or settings())
    try:
        return e.complete_once(prefix, suffix).text
    finally:
        e.close()


def test_second_identical_prompt_reuses_cache(tiny_model):
    s = settings()
    s.cache.completion_cache_size = 0  # force the model to run twice
    e = Engine.open(tiny_model, s)
    try:
        first = e.complete_once(PREFIX, SUFFIX)
        second = e.complete_once(PREFIX, SUFFIX)
    finally:
        e.close()
    assert first.cached_tokens == 0 and first.evaluated_tokens == first.prompt_tokens
    assert second.cached_tokens == second.prompt_tokens - 1 and second.evaluated_tokens == 1
    assert second.text == first.text


def test_one_character_edit_evaluates_only_new_tokens(tiny_model):
    s = settings()
    s.cache.completion_cache_size = 0
    e = Engine.open(tiny_model, s)
    try:
        e.complete_once(PREFIX, SUFFIX)
        after = e.complete_once(PREFIX + "y", SUFFIX)
    finally:
        e.close()
    # The new character (at most a couple of tokens after retokenizing the word) and <fim_middle>.
    assert after.evaluated_tokens <= 4, after
    assert after.cached_tokens >= after.prompt_tokens - 4


def test_edit_before_cursor_still_reuses_suffix(tiny_model):
    s = settings()
    s.cache.completion_cache_size = 0
    e = Engine.open(tiny_model, s)
    try:
        e.complete_once(PREFIX, SUFFIX)
        edited = PREFIX.replace("def f3(x)", "def f3(x, z)")
        after = e.complete_once(edited, SUFFIX)
    finally:
        e.close()
    changed_tail = len(e_tokens(tiny_model, edited[edited.index("def f3") :]))
    assert after.evaluated_tokens <= changed_tail + 4
    assert after.cached_tokens >= len(e_tokens(tiny_model, SUFFIX))  # the shifted suffix


def e_tokens(tiny_model, text: str) -> list[int]:
    e = Engine.open(tiny_model, settings())
    try:
        return e.backend.tokenize(text)  # type: ignore[union-attr]
    finally:
        e.close()


def test_reuse_false_reevaluates_everything(tiny_model):
    s = settings()
    s.cache.reuse = False
    s.cache.completion_cache_size = 0
    e = Engine.open(tiny_model, s)
    try:
        e.complete_once(PREFIX, SUFFIX)
        again = e.complete_once(PREFIX + "y", SUFFIX)
    finally:
        e.close()
    assert again.cached_tokens == 0 and again.evaluated_tokens == again.prompt_tokens


def test_prefix_reuse_gives_same_text_as_fresh_engine(tiny_model):
    s = settings()
    s.cache.completion_cache_size = 0
    e = Engine.open(tiny_model, s)
    try:
        e.complete_once(PREFIX[:-20], SUFFIX)
        reused = e.complete_once(PREFIX, SUFFIX).text
    finally:
        e.close()
    assert reused == fresh(tiny_model, PREFIX, SUFFIX)


def test_cancelled_request_leaves_next_one_correct(tiny_model):
    s = settings(maxTokens=64)
    s.cache.completion_cache_size = 0
    e = Engine.open(tiny_model, s)
    try:
        job = e.submit("doc", Cursor(PREFIX + "long", SUFFIX))
        threading.Timer(0.005, lambda: e.cancel(job)).start()
        cancelled = job.future.result()
        after = e.complete_once(PREFIX, SUFFIX)
    finally:
        e.close()
    assert cancelled.status in ("cancelled", "ok")  # the tiny model may finish first
    assert after.text == fresh(tiny_model, PREFIX, SUFFIX)


def test_newer_request_supersedes_queued_ones(engine):
    jobs = [engine.submit("doc", Cursor(PREFIX + "x" * i, SUFFIX)) for i in range(10)]
    results = [j.future.result() for j in jobs]
    assert results[-1].status == "ok"
    assert all(r.status == "superseded" for r in results[1:-1])
    assert engine.stats.requests == 10 and engine.stats.cancelled >= 8


def test_completion_cache_and_typed_through(engine):
    first = engine.complete_once(PREFIX, SUFFIX)
    assert first.text, "the tiny model should produce some text here"
    again = engine.complete_once(PREFIX, SUFFIX)
    assert again.cache_hit and again.text == first.text and again.evaluated_tokens == 0
    typed = first.text[:2]
    through = engine.complete_once(PREFIX + typed, SUFFIX)
    assert through.cache_hit and through.text == first.text[2:]
    assert engine.stats.completion_cache_hits == 2


def test_same_position_twice_is_one_model_run(tiny_model):
    s = settings()
    s.cache.completion_cache_size = 0
    e = Engine.open(tiny_model, s)
    try:
        blocker = e.submit("other", Cursor(PREFIX, SUFFIX))  # keeps the worker busy
        a = e.submit("doc", Cursor(PREFIX + "z", SUFFIX))
        b = e.submit("doc", Cursor(PREFIX + "z", SUFFIX))  # e.g. inline + popup completion at one keystroke
        ra, rb = a.future.result(), b.future.result()
        blocker.future.result()
    finally:
        e.close()
    assert ra.status == rb.status == "ok" and ra.text == rb.text
    assert e.stats.requests == 3 and e.stats.cancelled == 0


def test_speculative_next_completion_served_from_cache(engine):
    first = engine.complete_once(PREFIX, SUFFIX)
    assert first.text
    import time

    for _ in range(100):  # the speculation starts after a short idle time
        time.sleep(0.05)
        if engine.stats.speculative_tokens:
            break
    time.sleep(0.3)
    evaluated = engine.stats.tokens_evaluated
    accepted = engine.complete_once(PREFIX + first.text, SUFFIX)
    assert accepted.cache_hit and engine.stats.tokens_evaluated == evaluated
    assert engine.stats.speculative_tokens > 0


def test_real_request_abandons_speculation(tiny_model):
    e = Engine.open(tiny_model, settings())
    try:
        first = e.complete_once(PREFIX, SUFFIX)
        nxt = e.complete_once(PREFIX + "q", SUFFIX)  # arrives before the idle time is up
    finally:
        e.close()
    assert first.status == nxt.status == "ok"
    assert e.stats.speculative_tokens == 0


def test_new_prompt_filling_the_context_after_a_suffix_was_cached(tiny_model):
    """The suffix copy of the last prompt must not hold cells a different prompt needs."""
    s, _ = Settings.from_dict(
        {"model": {"threads": 1, "contextLength": 256}, "completion": {"maxTokens": 8, "promptTokens": 200, "suffixRatio": 0.5},
         "cache": {"completionCacheSize": 0}}
    )
    e = Engine.open(tiny_model, s)
    try:
        first = e.complete_once("x = 1\n", SUFFIX)
        other = e.complete_once("".join(f"value_{i} = compute({i})\n" for i in range(60)), "")
    finally:
        e.close()
    assert first.status == other.status == "ok", (first.error, other.error)
    assert other.prompt_tokens > 150


def test_keystroke_with_the_same_extra_context_evaluates_none_of_it(tiny_model):
    from codeshell_lsp.extra_context import Chunk, Extra

    s = settings()
    s.cache.completion_cache_size = 0
    extra = Extra((Chunk("util.py", "python", "def helper(x):\n    return x * 2\n", (0, -1), "outline"),), 512, 4, "main.py", "python")
    e = Engine.open(tiny_model, s)
    try:
        first = e.complete_once(PREFIX, SUFFIX, extra=extra)
        after = e.complete_once(PREFIX + "y", SUFFIX, extra=extra)
    finally:
        e.close()
    n_extra = e.stats.extra_tokens_evaluated
    assert n_extra > 0 and first.prompt_tokens > first.evaluated_tokens - n_extra
    assert e.stats.extra_tokens_reused == n_extra  # the second request kept every extra token
    assert after.evaluated_tokens < 10


def test_a_new_extra_context_evaluates_its_own_tokens_not_the_file_again(tiny_model):
    from codeshell_lsp.extra_context import Chunk, Extra

    def extra(*texts: str) -> Extra:
        chunks = tuple(Chunk(f"m{i}.py", "python", t, (i, -1), "outline") for i, t in enumerate(texts))
        return Extra(chunks, 512, 4, "main.py", "python")

    a = extra("def helper(x):\n    return x * 2\n")
    b = extra("class Thing:\n    size = 3\n    name = 'thing'\n", "def other():\n    pass\n")
    s = settings()
    s.cache.completion_cache_size = 0
    e = Engine.open(tiny_model, s)
    try:
        first = e.complete_once(PREFIX, SUFFIX, extra=a)
        before = e.stats.extra_tokens_evaluated
        second = e.complete_once(PREFIX, SUFFIX, extra=b)  # another set of chunks: the file's KV moves
        new_extra = e.stats.extra_tokens_evaluated - before
        typed = e.complete_once(PREFIX + "y", SUFFIX, extra=b)  # and typing goes on from there
        same = e.complete_once(PREFIX + "y", SUFFIX, extra=b)
    finally:
        e.close()
    assert first.status == second.status == typed.status == same.status == "ok"
    assert second.prompt_tokens > 300 and new_extra > 20
    assert second.evaluated_tokens <= new_extra + 1  # the chunks and the last prompt token
    assert typed.evaluated_tokens < 10 and same.evaluated_tokens == 1


def test_a_changed_extra_context_evaluates_only_the_chunks_that_are_new(tiny_model):
    from codeshell_lsp.extra_context import Chunk, Extra

    texts = {
        "m0": "def helper(x):\n    return x * 2\n",
        "m1": "class Thing:\n    size = 3\n    name = 'thing'\n",
        "m2": "def other(a, b):\n    return a - b\n",
        "m3": "LIMIT = 100\nNAMES = ['a', 'b', 'c']\n",
    }

    def extra(*names: str, changed: str = "") -> Extra:
        chunks = tuple(
            Chunk(f"{n}.py", "python", texts[n] + ("# edited\n" if n == changed else ""), (f"{n}.py", -1), "outline")
            for n in names
        )
        return Extra(chunks, 1024, 8, "main.py", "python")

    s = settings()
    s.cache.completion_cache_size = 0
    e = Engine.open(tiny_model, s)
    try:
        full = e.complete_once(PREFIX, SUFFIX, extra=extra("m0", "m1", "m2", "m3"))
        dropped = e.complete_once(PREFIX, SUFFIX, extra=extra("m0", "m2", "m3"))  # one chunk left the set
        before = e.stats.extra_tokens_evaluated
        edited = e.complete_once(PREFIX, SUFFIX, extra=extra("m0", "m2", "m3", changed="m0"))  # the first one changed
        edited_cost = e.stats.extra_tokens_evaluated - before
        back = e.complete_once(PREFIX, SUFFIX, extra=extra("m0", "m2", "m3", changed="m0"))
    finally:
        e.close()
    assert {full.status, dropped.status, edited.status, back.status} == {"ok"}
    assert full.prompt_tokens > 300
    # The chunks after the one that left, the heading and the file all move: only the last prompt token is evaluated.
    assert dropped.evaluated_tokens == 1
    # A chunk changed at its end costs the tokens from the change on; the chunks after it and the file move.
    assert 0 < edited_cost <= 12 and edited.evaluated_tokens <= edited_cost + 1
    assert back.evaluated_tokens == 1


def test_a_keystroke_that_comes_with_another_set_of_chunks_evaluates_the_new_chunks_and_the_key(tiny_model):
    from codeshell_lsp.extra_context import Chunk, Extra

    def extra(text: str) -> Extra:
        return Extra((Chunk("m.py", "python", text, ("m.py", -1), "outline"),), 512, 4, "main.py", "python")

    s = settings()
    s.cache.completion_cache_size = 0
    e = Engine.open(tiny_model, s)
    try:
        e.complete_once(PREFIX, SUFFIX, extra=extra("def helper(x):\n    return x * 2\n"))
        before = e.stats.extra_tokens_evaluated
        typed = e.complete_once(PREFIX + "y", SUFFIX, extra=extra("class Thing:\n    size = 3\n"))
        new_extra = e.stats.extra_tokens_evaluated - before
        again = e.complete_once(PREFIX + "yz", SUFFIX, extra=extra("class Thing:\n    size = 3\n"))
    finally:
        e.close()
    assert typed.status == again.status == "ok"
    # The file's prefix (up to the typed key) and its suffix both move: the new chunk, the key and the last token.
    assert typed.evaluated_tokens <= new_extra + 3 and typed.cached_tokens > 300
    assert again.evaluated_tokens < 5
