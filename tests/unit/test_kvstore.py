"""KV snapshots on disk and parked in memory (no model: the state bytes are opaque here)."""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import subprocess
import sys
import time

import pytest

from codeshell_lsp.kvstore import MAGIC, BadSnapshot, DiskStore, Parked, Snapshot, cache_dir, decode, encode, model_identity
from codeshell_lsp.log import USER_NOTICE
from codeshell_lsp.prompt import Span

KEY = "model-a|kv f16|template codeshell"
SNAP = Snapshot(tuple(range(100, 140)), Span(30, 40), b"state of sequence 0" * 50, b"suffix copy" * 10)


def test_round_trip():
    assert decode(encode(KEY, "file:///a.py", SNAP), KEY, "file:///a.py") == SNAP


def test_snapshot_without_a_suffix_chunk_round_trips():
    snap = Snapshot((1, 2, 3), None, b"x" * 10, b"")
    assert decode(encode(KEY, "d", snap), KEY, "d") == snap


@pytest.mark.parametrize(
    "damage, why",
    [
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b[:5], "truncated"),
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "digest"),
        (lambda b: b + b"junk", "trailing"),
        (lambda b: b"NOTASNAP" + b[8:], "magic"),
        (lambda b: MAGIC + b"\xff\xff\xff\x7f" + b[12:], "corrupt header"),
        (lambda b: b"", "truncated"),
    ],
)
def test_damaged_bytes_are_refused_with_the_reason(damage, why):
    with pytest.raises(BadSnapshot, match=why):
        decode(damage(encode(KEY, "d", SNAP)), KEY, "d")


def test_another_model_or_document_is_foreign():
    data = encode(KEY, "d", SNAP)
    with pytest.raises(BadSnapshot, match="foreign"):
        decode(data, "model-b|kv f16|template codeshell", "d")
    with pytest.raises(BadSnapshot, match="foreign"):
        decode(data, KEY, "other")


def _rewrite_header(data: bytes, **changes) -> bytes:
    n = int.from_bytes(data[8:12], "little")
    header = json.loads(data[12 : 12 + n])
    header.update(changes)
    raw = json.dumps(header).encode()
    return MAGIC + len(raw).to_bytes(4, "little") + raw + data[12 + n :]


def test_an_older_format_is_stale():
    with pytest.raises(BadSnapshot, match="stale"):
        decode(_rewrite_header(encode(KEY, "d", SNAP), version=0), KEY, "d")


def test_a_chunk_outside_the_tokens_is_corrupt():
    with pytest.raises(BadSnapshot, match="chunk"):
        decode(_rewrite_header(encode(KEY, "d", SNAP), chunk=[30, 400]), KEY, "d")


def test_where_the_document_starts_round_trips_and_is_checked():
    snap = Snapshot((1, 2, 3, 4), None, b"x" * 10, b"", body=2)
    data = encode(KEY, "d", snap)
    assert decode(data, KEY, "d").body == 2
    assert decode(_rewrite_header(data, body=None), KEY, "d").body is None  # written before it was kept
    with pytest.raises(BadSnapshot, match="document start"):
        decode(_rewrite_header(data, body=9), KEY, "d")


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "codeshell-lsp" / "kv"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert str(cache_dir()).endswith(".cache/codeshell-lsp/kv")


def test_model_identity_follows_the_content_not_the_path(tmp_path):
    a, b, c = tmp_path / "a.gguf", tmp_path / "b.gguf", tmp_path / "c.gguf"
    a.write_bytes(b"GGUF" + bytes(range(256)) * 10_000)
    b.write_bytes(a.read_bytes())
    c.write_bytes(a.read_bytes()[:-1] + b"!")
    assert model_identity(a) == model_identity(b) != model_identity(c)


@pytest.fixture
def store(tmp_path):
    s = DiskStore(tmp_path / "kv", KEY, 1 << 30)
    yield s
    s.close()


def test_saved_snapshot_loads_back_and_leaves_no_temporary_file(store):
    store.save("file:///a.py", SNAP)
    store.flush()
    assert store.load("file:///a.py") == SNAP
    assert [p.name for p in store.root.iterdir()] == [store.path("file:///a.py").name]


def test_missing_snapshot_is_none(store):
    assert store.load("file:///never.py") is None


@pytest.mark.parametrize(
    "damage, why",
    [
        (lambda b: b[: len(b) // 3], "truncated"),
        (lambda b: b[:100] + bytes([b[100] ^ 0x55]) + b[101:], "corrupt"),
        (lambda b: _rewrite_header(b, key="another model"), "foreign"),
        (lambda b: _rewrite_header(b, version=0), "stale"),
    ],
)
def test_bad_file_is_ignored_with_one_log_line_and_deleted(store, caplog, damage, why):
    store.save("d", SNAP)
    store.flush()
    path = store.path("d")
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.INFO, logger="codeshell_lsp"):
        assert store.load("d") is None
    lines = [r for r in caplog.records if "KV snapshot" in r.getMessage()]
    assert len(lines) == 1 and why in lines[0].getMessage()
    assert not path.exists()


def test_disk_cap_evicts_the_least_recently_used(tmp_path):
    size = len(encode(KEY, "a", SNAP))
    store = DiskStore(tmp_path, KEY, int(size * 2.5))
    try:
        for i, doc in enumerate(("a", "b")):
            store.save(doc, SNAP)
            store.flush()
            os.utime(store.path(doc), (time.time() - 100 + i, time.time() - 100 + i))
        assert store.load("a") == SNAP  # used: now the most recent
        store.save("c", SNAP)
        store.flush()
        assert store.path("a").exists() and store.path("c").exists()
        assert not store.path("b").exists()
    finally:
        store.close()


def test_a_snapshot_larger_than_the_cap_is_not_written(tmp_path):
    store = DiskStore(tmp_path, KEY, 100)
    store.save("a", SNAP)
    store.close()
    assert not store.path("a").exists()


def test_temporary_files_of_writers_gone_are_cleaned_up(tmp_path):
    """A writer killed mid-save (SIGKILL) leaves its temporary file: deleted at the next
    start when its process is gone, or when it is older than an hour (a pid is reused);
    one a running process still writes is kept."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead, old, live = tmp_path / f"x.kv.tmp.{gone.pid}", tmp_path / "y.kv.tmp.1", tmp_path / "z.kv.tmp.1"
    for p in (dead, old, live):
        p.write_bytes(b"half")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    DiskStore(tmp_path, KEY, 1 << 20).close()
    assert not dead.exists() and not old.exists() and live.exists()


def test_temporary_files_count_in_the_disk_cap(tmp_path):
    size = len(encode(KEY, "a", SNAP))
    (tmp_path / "other.kv.tmp.1").write_bytes(b"\0" * size)  # pid 1 runs: kept, but it takes room
    store = DiskStore(tmp_path, KEY, int(size * 2.5))
    try:
        store.save("a", SNAP)
        store.flush()
        os.utime(store.path("a"), (time.time() - 100, time.time() - 100))
        store.save("b", SNAP)
        store.flush()
        assert not store.path("a").exists() and store.path("b").exists()
    finally:
        store.close()


def test_folders_and_files_are_private(tmp_path):
    root = tmp_path / "cache" / "codeshell-lsp" / "kv"
    root.parent.mkdir(parents=True, mode=0o755)
    os.chmod(root.parent, 0o755)  # made by an older version
    old = os.umask(0o022)
    try:
        store = DiskStore(root, KEY, 1 << 30)
        store.save("a", SNAP)
        store.close()
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(root) == mode(root.parent) == 0o700 and mode(store.path("a")) == 0o600


def _notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if getattr(r, USER_NOTICE, False)]


@pytest.mark.parametrize("where", ["the folder", "its parent"])
def test_a_file_in_the_folders_place_is_told_once_and_left_alone(tmp_path, caplog, where):
    root = tmp_path / "codeshell-lsp" / "kv"
    blocked = root if where == "the folder" else root.parent
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("not a folder")
    with caplog.at_level(logging.INFO, logger="codeshell_lsp"):
        store = DiskStore(root, KEY, 1 << 30)
        for doc in ("a", "b", "c"):
            store.save(doc, SNAP)
        store.flush()
        assert store.load("a") is None
        store.close()  # shutdown saves too: it must not raise
    told = _notices(caplog)
    assert len(told) == 1 and str(root) in told[0] and "cache.persist" in told[0]
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_a_full_disk_is_told_once_then_nothing_is_written(tmp_path, caplog, monkeypatch):
    store = DiskStore(tmp_path / "kv", KEY, 1 << 30)
    calls = []

    def full(fd: int) -> None:
        calls.append(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with caplog.at_level(logging.INFO, logger="codeshell_lsp"):
        for doc in ("a", "b", "c"):
            store.save(doc, SNAP)
        store.close()
    told = _notices(caplog)
    assert len(told) == 1 and "No space left on device" in told[0]
    assert len(calls) == 1 and list(store.root.iterdir()) == []


def _snap(n: int) -> Snapshot:
    return Snapshot(tuple(range(n)), None, b"s" * n, b"")


def test_parked_keeps_the_most_recent_documents():
    parked = Parked(max_documents=2, max_bytes=1 << 20)
    assert parked.put("a", _snap(10), True) == []
    assert parked.put("b", _snap(10), False) == []
    out = parked.put("c", _snap(10), False)
    assert [(doc, dirty) for doc, _, dirty in out] == [("a", True)]
    assert parked.pop("a") is None and parked.pop("b") is not None


def test_parked_stays_within_its_bytes():
    one = _snap(100).nbytes
    parked = Parked(max_documents=10, max_bytes=int(one * 2.5))
    for doc in "abc":
        evicted = parked.put(doc, _snap(100), False)
    assert [doc for doc, _, _ in evicted] == ["a"] and len(parked) == 2


def test_a_snapshot_too_big_to_park_comes_back_alone():
    parked = Parked(max_documents=4, max_bytes=50)
    parked.put("small", _snap(5), False)
    assert [doc for doc, _, _ in parked.put("big", _snap(100), True)] == ["big"]
    assert len(parked) == 1


def test_no_parking_with_one_document():
    assert [doc for doc, _, _ in Parked(0, 1 << 20).put("a", _snap(5), True)] == ["a"]


def test_dirty_and_clean():
    parked = Parked(4, 1 << 20)
    parked.put("a", _snap(5), True)
    parked.put("b", _snap(5), False)
    assert [doc for doc, _ in parked.dirty()] == ["a"]
    parked.mark_clean("a")
    assert parked.dirty() == []


def test_parking_a_document_again_makes_it_the_most_recent():
    parked = Parked(max_documents=2, max_bytes=1 << 20)
    parked.put("a", _snap(5), False)
    parked.put("b", _snap(5), False)
    parked.put("a", _snap(6), False)
    assert [doc for doc, _, _ in parked.put("c", _snap(5), False)] == ["b"]
