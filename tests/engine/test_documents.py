"""KV kept per document, and across restarts, on the tiny model."""

from __future__ import annotations

import logging
import time

import pytest

from codeshell_lsp import engine as engine_module
from codeshell_lsp.context import Cursor
from codeshell_lsp.engine import Engine
from codeshell_lsp.kvstore import cache_dir
from codeshell_lsp.options import Settings

pytestmark = pytest.mark.model

A = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(30)) + "def g(y):\n    return "
B = "".join(f"class C{i}:\n    value = {i}\n\n" for i in range(30)) + "class D:\n    "
SUFFIX = "\n\n" + "".join(f"print(f{i}(1))\n" for i in range(20))


def settings(kv_type: str = "f16", **cache) -> Settings:
    s, problems = Settings.from_dict({
        "model": {"threads": 1, "kvType": kv_type},
        "completion": {"multiline": "always", "filters": False, "maxTokens": 8},
        "cache": {"completionCacheSize": 0, "speculative": False, **cache},
    })
    assert not problems
    return s


def ask(e: Engine, doc: str, prefix: str, suffix: str = SUFFIX):
    result = e.submit(doc, Cursor(prefix, suffix)).future.result()
    assert result.status == "ok", result.error
    return result


def session(model, *asks: tuple[str, str], **cache):
    """One server session: the completions asked in turn, then the shutdown (which saves)."""
    e = Engine.open(model, settings(**cache))
    try:
        return [ask(e, doc, prefix) for doc, prefix in asks]
    finally:
        e.close()


def kv_files() -> list:
    root = cache_dir()
    return sorted(root.glob("*.kv")) if root.exists() else []


def fresh_text(tiny_model, prefix: str) -> str:
    with_nothing = Engine.open(tiny_model, settings(persist=False))
    try:
        return ask(with_nothing, "fresh", prefix).text
    finally:
        with_nothing.close()


def test_switching_back_evaluates_only_what_changed(tiny_model):
    e = Engine.open(tiny_model, settings())
    try:
        ask(e, "a", A)
        ask(e, "b", B)
        back = ask(e, "a", A + "y")
        again = ask(e, "b", B + "z")
    finally:
        e.close()
    assert back.evaluated_tokens <= 4 and again.evaluated_tokens <= 4, (back, again)
    assert back.cached_tokens >= back.prompt_tokens - 4


def test_one_document_re_evaluates_on_every_switch(tiny_model):
    e = Engine.open(tiny_model, settings(documents=1, persist=False))
    try:
        first = ask(e, "a", A)
        ask(e, "b", B)
        back = ask(e, "a", A + "y")
    finally:
        e.close()
    assert back.cached_tokens == 0 and back.evaluated_tokens == back.prompt_tokens >= first.prompt_tokens


def test_least_recently_completed_document_goes_first(tiny_model):
    e = Engine.open(tiny_model, settings(documents=2, persist=False))
    try:
        ask(e, "a", A)
        ask(e, "b", B)
        ask(e, "c", A + B)
        b_back = ask(e, "b", B + "z")
        a_back = ask(e, "a", A + "y")
    finally:
        e.close()
    assert b_back.evaluated_tokens <= 4
    assert a_back.cached_tokens == 0


def test_kv_memory_cap_below_the_context_keeps_one_document(tiny_model):
    e = Engine.open(tiny_model, settings(kvMemoryMB=1, persist=False))  # the tiny context alone takes ~1 MB
    try:
        ask(e, "a", A)
        ask(e, "b", B)
        back = ask(e, "a", A + "y")
    finally:
        e.close()
    assert back.cached_tokens == 0


def test_switching_back_gives_the_same_text_as_a_fresh_evaluation(tiny_model):
    e = Engine.open(tiny_model, settings(persist=False))
    try:
        ask(e, "a", A[:-40])
        ask(e, "b", B)
        back = ask(e, "a", A).text
    finally:
        e.close()
    assert back == fresh_text(tiny_model, A)


def test_restart_restores_the_documents_saved_at_shutdown(tiny_model):
    session(tiny_model, ("a", A), ("b", B))
    assert len(kv_files()) == 2
    a, b = session(tiny_model, ("a", A + "y"), ("b", B))
    assert a.evaluated_tokens <= 4 and b.evaluated_tokens <= 2, (a, b)
    assert b.text == fresh_text(tiny_model, B)


def test_restore_uses_only_the_common_prefix(tiny_model):
    session(tiny_model, ("a", A))
    edited = A[:200] + "# a comment the saved prompt does not have\n" + A[200:]
    e = Engine.open(tiny_model, settings())
    try:
        after = ask(e, "a", edited)
        common = 1 + len(e.backend.tokenize(A[:200]))  # type: ignore[union-attr]  # <fim_prefix> and the text before the edit
        suffix_chunk = 1 + len(e.backend.tokenize(SUFFIX))  # type: ignore[union-attr]  # <fim_suffix> and the suffix, shifted
    finally:
        e.close()
    assert abs(after.cached_tokens - (common + suffix_chunk)) <= 2, (after, common, suffix_chunk)
    assert after.text == fresh_text(tiny_model, edited)


def test_a_prompt_sharing_nothing_with_the_saved_one_starts_cold(tiny_model):
    session(tiny_model, ("a", A))
    (other,) = session(tiny_model, ("a", B))
    assert other.cached_tokens == 0


def test_persist_off_writes_nothing(tiny_model):
    session(tiny_model, ("a", A), persist=False)
    assert kv_files() == []


def test_idle_engine_saves_without_waiting_for_shutdown(tiny_model, monkeypatch):
    monkeypatch.setattr(engine_module, "IDLE_SAVE_S", 0.05)
    e = Engine.open(tiny_model, settings())
    try:
        ask(e, "a", A)
        for _ in range(100):
            if kv_files():
                break
            time.sleep(0.05)
        assert len(kv_files()) == 1
    finally:
        e.close()


def _damage_truncate(path, data):
    path.write_bytes(data[: len(data) // 2])


def _damage_flip(path, data):
    path.write_bytes(data[:-100] + bytes([data[-100] ^ 0x40]) + data[-99:])


def _damage_garbage(path, data):
    path.write_bytes(b"\x00" * len(data))


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_flip, _damage_garbage], ids=["truncated", "corrupt", "garbage"])
def test_a_damaged_file_is_ignored_logged_once_and_deleted(tiny_model, caplog, damage):
    session(tiny_model, ("a", A))
    (path,) = kv_files()
    damage(path, path.read_bytes())
    with caplog.at_level(logging.INFO, logger="codeshell_lsp"):
        (after,) = session(tiny_model, ("a", A))
    assert after.cached_tokens == 0 and after.text == fresh_text(tiny_model, A)
    assert len([r for r in caplog.records if "ignored and deleted" in r.getMessage()]) == 1
    assert not path.exists() or path.read_bytes()[:8] == b"CSLSPKV\x00"  # deleted, or written anew at shutdown


def test_another_documents_file_is_foreign(tiny_model, caplog):
    session(tiny_model, ("a", A))
    (saved,) = kv_files()
    e = Engine.open(tiny_model, settings())
    victim = e.backend._disk.path("b")  # type: ignore[union-attr]
    victim.write_bytes(saved.read_bytes())
    try:
        with caplog.at_level(logging.INFO, logger="codeshell_lsp"):
            b = ask(e, "b", A)
    finally:
        e.close()
    assert b.cached_tokens == 0
    assert any("foreign" in r.getMessage() for r in caplog.records)


def test_another_models_file_is_never_used(tiny_model, slow_model):
    session(tiny_model, ("a", A))
    (after,) = session(slow_model, ("a", A))
    assert after.cached_tokens == 0


def test_q8_0_kv_halves_the_kv_and_still_reuses(slow_model):
    e = Engine.open(slow_model, settings("q8_0", persist=False))
    try:
        assert e.backend.rt.kv_type == "q8_0"  # type: ignore[union-attr]
        assert e.backend.rt.kv_bytes_per_token() < e.backend.rt.kv_bytes_per_token("f16") * 0.6  # type: ignore[union-attr]
        ask(e, "a", A)
        ask(e, "b", B)
        back = ask(e, "a", A + "y")
    finally:
        e.close()
    assert back.evaluated_tokens <= 4


def test_q8_0_falls_back_to_f16_where_the_head_size_does_not_allow_it(tiny_model, caplog):
    with caplog.at_level(logging.WARNING, logger="codeshell_lsp"):
        e = Engine.open(tiny_model, settings("q8_0", persist=False))
    try:
        assert e.backend.rt.kv_type == "f16"  # type: ignore[union-attr]
        assert ask(e, "a", A).text is not None
    finally:
        e.close()
    assert any("kvType q8_0" in r.getMessage() for r in caplog.records)


def test_a_request_without_reuse_keeps_the_other_documents(tiny_model):
    e = Engine.open(tiny_model, settings(persist=False))
    try:
        ask(e, "a", A)
        fresh = e.submit("b", Cursor(B, SUFFIX), settings(persist=False, reuse=False)).future.result()
        back = ask(e, "a", A + "y")
    finally:
        e.close()
    assert fresh.cached_tokens == 0 and back.evaluated_tokens <= 4
