"""Our language server over real JSON-RPC, completing through remote backends."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from ..e2e.conftest import open_doc, running_server, stats
from .conftest import Misbehaving, free_port, serve

pytestmark = pytest.mark.model

SOURCE = "def add(a, b):\n    return a\n\nprint(add(1, 2))\n"


def _completion(uri: str, line: int, character: int) -> types.CompletionParams:
    return types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, character))


@pytest.mark.parametrize("profile", ["neovim", "visual_studio_code"])
async def test_completion_and_inline_completion_through_llama_cpp_server(llama_cpp_server, profile, tmp_path):
    opts = {"backend": {"kind": "openai", "url": llama_cpp_server.url}}
    async with running_server(profile, init_options=opts) as client:
        uri = open_doc(client, tmp_path / "a.py", SOURCE)
        items = await client.text_document_completion_async(_completion(uri, 1, 12))
        assert items is not None and len(items.items) == 1
        item = items.items[0]
        assert item.text_edit.new_text.startswith("a")  # the word before the cursor is kept
        assert item.text_edit.range == types.Range(types.Position(1, 11), types.Position(1, 12))
        inline = await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                text_document=types.TextDocumentIdentifier(uri),
                position=types.Position(1, 12),
            )
        )
        assert inline is not None and len(inline.items) == 1
        assert item.text_edit.new_text == "a" + inline.items[0].insert_text
        s = await stats(client)
        assert s["requests"] == 2 and s["completionCacheHits"] == 1 and s["completionsServed"] == 2
        assert s["model"] == f"OpenAI-compatible server at {llama_cpp_server.url}"
        assert not client.messages


async def test_unreachable_server_told_once_then_recovers_by_itself(tmp_path):
    port = free_port()
    opts = {"backend": {"kind": "llama-server", "url": f"http://127.0.0.1:{port}"}}
    async with running_server("neovim", init_options=opts) as client:
        uri = open_doc(client, tmp_path / "a.py", SOURCE)
        for col in (8, 9, 10):
            result = await client.text_document_completion_async(_completion(uri, 1, col))
            assert result is not None and not result.items
        told = [m.message for m in client.messages]
        assert len(told) == 1 and "connection refused" in told[0] and str(port) in told[0], told
        with serve(Misbehaving(), port):  # the server comes up
            for _ in range(40):
                result = await client.text_document_completion_async(_completion(uri, 1, 11))
                if result.items:
                    break
                await asyncio.sleep(0.1)
            assert result.items, "completions should resume once the server answers"
        assert len(client.messages) == 1
