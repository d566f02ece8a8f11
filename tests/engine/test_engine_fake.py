"""The engine without a model: supersede, cancel, typed-through cache hits, speculation,
errors and counters, through a fake backend in milliseconds."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

import pytest

from codeshell_lsp.context import Cursor
from codeshell_lsp.engine import Engine, Status
from codeshell_lsp.options import Settings

from .fake_backend import FakeBackend

PREFIX = "def add(a, b):\n    return "
SUFFIX = "\n\nprint(add(1, 2))\n"


def settings(**cache) -> Settings:
    s, problems = Settings.from_dict({"completion": {"multiline": "never"}, "cache": {"speculative": False, **cache}})
    assert not problems
    return s


@contextmanager
def running(fake: FakeBackend, s: Settings | None = None) -> Iterator[Engine]:
    e = Engine.open(None, s or settings(), factory=lambda model, s: fake)
    try:
        yield e
    finally:
        e.close()


@pytest.fixture
def fake():
    return FakeBackend()


@pytest.fixture
def engine(fake):
    with running(fake) as e:
        yield e


def test_completion_passes_prompt_backend_and_postprocess(engine, fake):
    result = engine.complete_once(PREFIX, SUFFIX)
    assert (result.text, result.status, result.model) == ("a + b", Status.OK, "fake")
    assert fake.calls[0].prompt.key == (PREFIX, SUFFIX)
    assert result.to_json()["status"] == "ok"


def test_newer_request_supersedes_a_running_one_quickly():
    fake = FakeBackend(prompt_s=5.0)
    with running(fake) as e:
        old = e.submit("doc", Cursor(PREFIX, SUFFIX))
        assert fake.started.wait(2)
        t0 = time.perf_counter()
        fake.prompt_s = 0.0
        new = e.submit("doc", Cursor(PREFIX + "a", SUFFIX))
        assert old.future.result(2).status is Status.SUPERSEDED
        assert time.perf_counter() - t0 < 0.5
        assert new.future.result(2).status is Status.OK
        assert fake.calls[0].cancelled and e.stats.cancelled == 1


def test_queued_requests_for_one_document_collapse_to_the_newest():
    fake = FakeBackend(prompt_s=0.2)
    with running(fake) as e:
        jobs = [e.submit("doc", Cursor(PREFIX + "x" * i, SUFFIX)) for i in range(6)]
        results = [j.future.result(5) for j in jobs]
        assert [r.status for r in results[:-1]] == [Status.SUPERSEDED] * 5
        assert results[-1].status is Status.OK
        assert e.stats.requests == 6 and e.stats.cancelled == 5


def test_other_documents_are_not_superseded():
    fake = FakeBackend(prompt_s=0.05)
    with running(fake) as e:
        a, b = e.submit("a", Cursor(PREFIX, SUFFIX)), e.submit("b", Cursor(PREFIX, SUFFIX))
        assert a.future.result(2).status is Status.OK and b.future.result(2).status is Status.OK


def test_cancel_reaches_running_work_and_counts_its_tokens():
    fake = FakeBackend(prompt_s=5.0)
    with running(fake) as e:
        job = e.submit("doc", Cursor(PREFIX, SUFFIX))
        assert fake.started.wait(2)
        e.cancel(job)
        assert job.future.result(1).status is Status.CANCELLED
        assert fake.calls[0].cancelled
        assert e.stats.tokens_evaluated == fake.count_tokens(PREFIX + SUFFIX) // 2


def test_repeated_position_and_typed_through_come_from_the_cache(engine, fake):
    first = engine.complete_once(PREFIX, SUFFIX)
    again = engine.complete_once(PREFIX, SUFFIX)
    typed = engine.complete_once(PREFIX + "a +", SUFFIX)
    assert first.text == again.text == "a + b" and again.cache_hit
    assert typed.cache_hit and typed.text == " b"
    assert len(fake.calls) == 1 and engine.stats.completion_cache_hits == 2


def test_typing_something_else_asks_the_model_again(engine, fake):
    engine.complete_once(PREFIX, SUFFIX)
    other = engine.complete_once(PREFIX + "x", SUFFIX)
    assert not other.cache_hit and len(fake.calls) == 2


def test_completion_and_inline_completion_at_one_keystroke_share_one_run():
    fake = FakeBackend(prompt_s=0.1)
    with running(fake) as e:
        a = e.submit("doc", Cursor(PREFIX, SUFFIX))
        b = e.submit("doc", Cursor(PREFIX, SUFFIX))
        assert a.future.result(2).text == b.future.result(2).text == "a + b"
        assert len(fake.calls) == 1 and e.stats.cancelled == 0 and e.stats.completions_served == 2


def test_speculation_precomputes_the_next_suggestion():
    fake = FakeBackend(answer=lambda prefix, suffix: "b" if prefix.endswith("a + b") else "a + b")
    with running(fake, settings(speculative=True)) as e:
        e.complete_once(PREFIX, SUFFIX)
        deadline = time.monotonic() + 3
        while len(fake.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(fake.calls) == 2 and fake.calls[1].prompt.prefix == PREFIX + "a + b"
        accepted = e.complete_once(PREFIX + "a + b", SUFFIX)
        assert accepted.cache_hit and accepted.text == "b"
        assert e.stats.speculative_tokens > 0 and e.stats.requests == 2


def test_a_real_request_abandons_speculation():
    fake = FakeBackend()
    with running(fake, settings(speculative=True)) as e:
        e.complete_once(PREFIX, SUFFIX)
        fake.prompt_s = 5.0
        deadline = time.monotonic() + 3
        while len(fake.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        fake.prompt_s = 0.0
        t0 = time.perf_counter()
        result = e.complete_once(PREFIX + "zz", SUFFIX)
        assert result.status is Status.OK and time.perf_counter() - t0 < 0.5
        assert fake.calls[1].cancelled


def test_backend_failure_is_an_error_result_with_its_message(fake, engine):
    fake.fail = "the server at http://x answered HTTP 500"
    result = engine.complete_once(PREFIX, SUFFIX)
    assert result.status is Status.ERROR and "HTTP 500" in result.error and result.text == ""


def test_no_model_means_an_empty_answer():
    e = Engine(settings())
    assert e.submit("doc", Cursor(PREFIX, SUFFIX)).future.result(1).status is Status.NO_MODEL
    e.close()


def test_stats_are_snake_case_and_count_the_run(engine, fake):
    engine.complete_once(PREFIX, SUFFIX)
    stats = engine.stats.to_json()
    assert stats["completions_served"] == 1 and stats["tokens_generated"] == len("a + b")
    assert stats["tokens_evaluated"] == fake.count_tokens(PREFIX + SUFFIX)
    assert stats["model"] == "fake"


def test_a_filtered_completion_is_counted_by_reason(fake, engine):
    fake.answer = lambda prefix, suffix: "max(a, b, " + "1, " * 12
    result = engine.complete_once(PREFIX, SUFFIX)
    assert "1, 1, 1, 1" not in result.text
    assert sum(engine.stats.filtered.values()) >= 1 or fake.calls[0].stop_reason == "repetition"


def test_closing_cancels_what_is_queued():
    fake = FakeBackend(prompt_s=5.0)
    e = Engine.open(None, settings(), factory=lambda model, s: fake)
    working = e.submit("a", Cursor(PREFIX, SUFFIX))
    assert fake.started.wait(2)
    queued = e.submit("b", Cursor(PREFIX, SUFFIX))
    e.close()
    assert working.future.result(1).status is Status.CANCELLED
    assert queued.future.result(1).status is Status.CANCELLED
    assert fake.closed


def _type(e: Engine, n: int, gap_s: float) -> list:
    jobs = []
    for i in range(n):
        e.keystroke()
        jobs.append(e.submit("doc", Cursor(PREFIX + "x" * (i + 1), SUFFIX)))
        time.sleep(gap_s)
    return jobs


@pytest.mark.parametrize("debounce, most_runs", [("auto", 3), (0, None)])
def test_auto_debounce_starts_no_run_while_typing_faster_than_the_model(debounce, most_runs):
    fake = FakeBackend(prompt_s=0.6)  # far slower than the typing, even on a loaded machine
    s, _ = Settings.from_dict({"completion": {"multiline": "never", "debounceMs": debounce}, "cache": {"speculative": False}})
    with running(fake, s) as e:
        e.complete_once(PREFIX, SUFFIX)  # the model's latency is learned from a real run
        _type(e, 8, 0.05)[-1].future.result(3)  # and the typing rhythm from a first burst
        before = len(fake.calls)
        jobs = _type(e, 12, 0.05)
        assert jobs[-1].future.result(3).status is Status.OK
        runs = len(fake.calls) - before
        if most_runs is None:
            assert runs >= 6  # keystrokes start runs that the next one supersedes
        else:
            assert runs <= most_runs


def _extra(text: str = "def helper():\n    pass\n"):
    from codeshell_lsp.extra_context import Chunk, Extra

    return Extra((Chunk("util.py", "python", text, (0, 0)),), 512, 4, "main.py", "python")


def test_the_jobs_extra_context_reaches_the_prompt_and_keys_the_completion_cache(fake):
    with running(fake) as e:
        e.complete_once(PREFIX, SUFFIX)
        with_extra = e.complete_once(PREFIX, SUFFIX, extra=_extra())
        again = e.complete_once(PREFIX, SUFFIX, extra=_extra())
    assert [len(c.prompt.chunks) for c in fake.calls] == [0, 1]  # a new set is a new prompt
    assert fake.calls[1].prompt.chunks[0].path == "util.py"
    assert not with_extra.cache_hit and again.cache_hit


def test_prewarm_evaluates_a_new_set_while_idle_and_the_next_keystroke_finds_it(fake):
    s = settings(speculative=True)
    with running(fake, s) as e:
        job = e.submit("doc", Cursor(PREFIX, SUFFIX), s)
        first = job.future.result()
        e.prewarm(e.last, _extra())
        deadline = time.monotonic() + 5
        while not (any(c.prompt.chunks for c in fake.calls) and e._running is None) and time.monotonic() < deadline:
            time.sleep(0.01)
        served = e.submit("doc", Cursor(PREFIX, SUFFIX), s, extra=_extra()).future.result()
    assert first.text and sum(bool(c.prompt.chunks) for c in fake.calls) == 1
    assert served.cache_hit


def test_a_follower_runs_on_its_own_when_its_leaders_request_is_cancelled():
    fake = FakeBackend(prompt_s=0.3)
    with running(fake) as e:
        leader = e.submit("doc", Cursor(PREFIX, SUFFIX))
        follower = e.submit("doc", Cursor(PREFIX, SUFFIX))
        leader.future.cancel()  # what asyncio.wrap_future does when the editor cancels
        e.cancel(leader)
        result = follower.future.result(3)
        assert result.status is Status.OK and result.text == "a + b"


def test_spaces_typed_after_text_stay_out_of_the_prompt_and_the_completion(engine, fake):
    fake.answer = lambda prefix, suffix: " a + b"
    result = engine.complete_once("def add(a, b):\n    return ", SUFFIX)
    assert fake.calls[0].prompt.prefix.endswith("    return")
    assert result.text == "a + b"
    typed = engine.complete_once("def add(a, b):\n    return a", SUFFIX)  # typed through the healed space
    assert typed.cache_hit and typed.text == " + b"
