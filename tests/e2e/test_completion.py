"""textDocument/completion and inlineCompletion end to end on the tiny model."""

from __future__ import annotations

import pytest
from lsprotocol import types

from pytest_lsp import client_capabilities

from .conftest import open_doc, running_server, stats

pytestmark = pytest.mark.model

SOURCE = "def add(a, b):\n    return a\n\nprint(add(1, 2))\n"


async def test_capabilities_advertised(tiny_model, profile):
    async with running_server(profile, ("--model", str(tiny_model))) as client:
        caps = client.init_result.capabilities
        assert caps.completion_provider is not None
        assert caps.inline_completion_provider is not None
        assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental
        wanted = client_capabilities(profile).general
        preferred = wanted.position_encodings[0] if wanted and wanted.position_encodings else "utf-16"
        assert caps.position_encoding == preferred


async def test_completion_returns_engine_text(tiny_model, profile, tmp_path):
    async with running_server(profile, ("--model", str(tiny_model))) as client:
        uri = open_doc(client, tmp_path / "a.py", SOURCE)
        items = await client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(1, 12))
        )
        assert items is not None and len(items.items) == 1
        item = items.items[0]
        assert item.text_edit.new_text.startswith("a")  # the word before the cursor is kept
        assert item.text_edit.range.start == types.Position(1, 11)
        assert item.text_edit.range.end == types.Position(1, 12)
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
