"""Supersede, $/cancelRequest and shutdown while the model is busy (real JSON-RPC)."""

from __future__ import annotations

import asyncio
import time

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from ..conftest import long_python
from .conftest import open_doc, running_server, stats

pytestmark = pytest.mark.model

# Long prompts and long generations on the slow fixture: a request runs for seconds.
BUSY = {"model": {"contextLength": 8192}, "completion": {"promptTokens": 4000, "maxTokens": 400, "multiline": "always"}}


def completion_params(uri: str, line: int, character: int) -> types.CompletionParams:
    return types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, character))


async def test_newer_request_supersedes_older_ones(slow_model, profile, tmp_path):
    opts = {**BUSY, "completion": {**BUSY["completion"], "maxTokens": 8, "debounceMs": 150}}
    async with running_server(profile, ("--model", str(slow_model)), init_options=opts) as client:
        text = long_python(40) + "def tail():\n    return "
        uri = open_doc(client, tmp_path / "a.py", text)
        last = text.count("\n")
        col = len(text.rsplit("\n", 1)[1])
        futures = [client.text_document_completion_async(completion_params(uri, last, col - 9 + i)) for i in range(10)]
        results = await asyncio.wait_for(asyncio.gather(*futures), 120)
        assert all(r is not None for r in results)  # every request answered
        assert all(not r.items for r in results[:-1])  # superseded ones answer empty
        s = await stats(client)
        assert s["requests"] == 10 and s["cancelled"] == 9
        assert s["completionsServed"] == (1 if results[-1].items else 0)
        # Only the newest evaluated a prompt: its tokens are all the model did.
        newest_prompt = s["tokensEvaluated"] + s["tokensReused"]
        assert s["tokensReused"] == 0 and newest_prompt > 1000


async def test_running_request_superseded_stops_early(slow_model, tmp_path):
    async with running_server("neovim", ("--model", str(slow_model)), init_options=BUSY) as client:
        text = long_python(200)
        uri = open_doc(client, tmp_path / "a.py", text)
        first = asyncio.ensure_future(client.text_document_completion_async(completion_params(uri, 500, 0)))
        await asyncio.sleep(1.0)  # the first is now evaluating its prompt
        t0 = time.monotonic()
        second = asyncio.ensure_future(client.text_document_completion_async(completion_params(uri, 500, 4)))
        r1 = await asyncio.wait_for(first, 60)
        superseded_after = time.monotonic() - t0
        await asyncio.wait_for(second, 120)
        assert not r1.items
        assert superseded_after < 1.0, superseded_after
        s = await stats(client)
        assert s["cancelled"] == 1


async def test_cancel_request_of_running_completion(slow_model, tmp_path):
    async with running_server("visual_studio_code", ("--model", str(slow_model)), init_options=BUSY) as client:
        uri = open_doc(client, tmp_path / "a.py", long_python(200))
        fut = asyncio.ensure_future(
            client.protocol.send_request_async("textDocument/completion", completion_params(uri, 500, 0), msg_id="busy-1")
        )
        await asyncio.sleep(1.0)
        t0 = time.monotonic()
        client.protocol.notify("$/cancelRequest", types.CancelParams(id="busy-1"))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wait_for(fut, 30)
        elapsed = time.monotonic() - t0
        assert elapsed < 0.5, elapsed
        # The server keeps working after the abort (and has finished aborting by then).
        again = await client.text_document_completion_async(completion_params(uri, 3, 0))
        assert again is not None
        s = await stats(client)
        assert s["cancelled"] == 1 and s["requests"] == 2


async def test_shutdown_and_exit_while_completion_runs(slow_model, tmp_path):
    async with running_server("neovim", ("--model", str(slow_model)), init_options=BUSY) as client:
        uri = open_doc(client, tmp_path / "a.py", long_python(200))
        pending = asyncio.ensure_future(client.text_document_completion_async(completion_params(uri, 500, 0)))
        await asyncio.sleep(1.0)
        t0 = time.monotonic()
        await asyncio.wait_for(client.shutdown_async(None), 5)
        client.exit(None)
        proc = client._server  # the server subprocess
        code = await asyncio.wait_for(proc.wait(), 5)
        assert time.monotonic() - t0 < 2.0
        assert code == 0
        pending.cancel()
