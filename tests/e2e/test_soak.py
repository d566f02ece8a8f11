"""A long mixed session with several real files open and every default on (context
from other files, per-document and saved KV, speculation): every request answered
exactly once, and memory flat once the caches are warm."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from codeshell_lsp.bench.traces import data_dir

from .raw import Server, answers_to, completion_params, frame, notification, request

pytestmark = [pytest.mark.model, pytest.mark.slow]

WARMUP = 2_000  # messages before memory is first read: the bounded caches (completions, token counts, chosen context) fill up
MESSAGES = 6_000


def _files() -> list[tuple[str, str]]:
    root = Path(str(data_dir()))
    picked = sorted(root.glob("files/*.py")) + sorted(root.glob("crossfile/jinja2/jinja2/*.py"))[:5]
    return [(f"file:///soak/{p.relative_to(root).as_posix()}", p.read_text(encoding="utf-8")) for p in picked]


def _session(s: Server, rng: random.Random, docs: list[tuple[str, str]], n: int, first_id: int) -> list[int]:
    """``n`` seeded messages over ``docs``: completions in one document after another,
    edits, cancels, stats, a document closed and opened again now and then."""
    ids: list[int] = []
    out = bytearray()
    versions = {uri: 1 for uri, _ in docs}
    lines = {uri: text.count("\n") for uri, text in docs}
    for i in range(n):
        uri = docs[(i // 40) % len(docs)][0]  # work in one file for a while, then the next
        kind = rng.random()
        msg_id = first_id + i
        if kind < 0.3:
            ids.append(msg_id)
            out += frame(request(msg_id, "textDocument/completion", completion_params(uri, rng.randrange(lines[uri]), 0)))
        elif kind < 0.4:
            ids.append(msg_id)
            out += frame(request(msg_id, "codeshell/stats", {}))
        elif kind < 0.8:
            versions[uri] += 1
            line = rng.randrange(lines[uri])
            text = rng.choice(["x", "y = 1\n", "", "# note\n"])
            lines[uri] += text.count("\n")
            change = {"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": text}
            out += frame(notification("textDocument/didChange", {"textDocument": {"uri": uri, "version": versions[uri]}, "contentChanges": [change]}))
        elif kind < 0.97 and ids:
            out += frame(notification("$/cancelRequest", {"id": rng.choice(ids[-20:])}))
        else:
            other, text = docs[rng.randrange(len(docs))]
            if other != uri:  # reopened as it was first: the server forgets its edits
                out += frame(notification("textDocument/didClose", {"textDocument": {"uri": other}}))
                doc = {"uri": other, "languageId": "python", "version": 1, "text": text}
                out += frame(notification("textDocument/didOpen", {"textDocument": doc}))
                versions[other], lines[other] = 1, text.count("\n")
        if len(out) > 50_000:
            s.send(bytes(out))
            out.clear()
    s.send(bytes(out))
    return ids


def test_a_long_session_over_several_files_answers_everything_with_flat_memory(tiny_model, tmp_path):
    docs = _files()
    rng = random.Random(21)
    with Server("--model", str(tiny_model), env={"XDG_CACHE_HOME": str(tmp_path)}) as s:
        s.initialize({})  # every default, context from other files included
        for uri, text in docs:
            s.open(uri, text)
        for uri, text in docs:
            assert "result" in s.ask("textDocument/completion", completion_params(uri, text.count("\n") // 2, 0), 120)
        warm = _session(s, rng, docs, WARMUP, 100_000)
        warm_counts = answers_to(s, warm)
        assert [i for i in warm if warm_counts[i] != 1] == []
        rss0 = s.rss_kb()
        ids = _session(s, rng, docs, MESSAGES, 200_000)
        counts = answers_to(s, ids)
        rss = s.rss_kb()
        stats = s.ask("codeshell/stats", {})["result"]
        print(f"soak: {len(docs)} documents, {len(ids)} requests of {MESSAGES} messages, RSS {rss0} -> {rss} kB "
              f"({(rss / rss0 - 1) * 100:+.1f} %), {stats['modelRuns']} model runs, {stats['extraTokensReused']} extra tokens reused")
        assert [i for i in ids if counts[i] != 1] == []
        assert stats["extraTokensEvaluated"] > 0  # context from the other files was in the prompts
        assert rss <= rss0 * 1.05
        assert s.alive()
