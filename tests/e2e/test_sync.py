"""Document sync and position encodings: the prompt is built from the synchronized text."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from .conftest import open_doc, running_server, stats

pytestmark = pytest.mark.model

# Each test compares a document's prompt with that of a second document holding the
# same text; with other files' context on, the second prompt would also carry the first.
ALONE = {"context": {"otherFiles": False}}
FINAL = "import os\n\ndef size(path):\n    return os.path.getsize(path)\n\n\ndef exists(path):\n    return "


def completion(uri: str, line: int, character: int) -> types.CompletionParams:
    return types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, character))


def change(uri: str, version: int, *edits: tuple[tuple[int, int, int, int], str]) -> types.DidChangeTextDocumentParams:
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[
            types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(a, b), types.Position(c, d)), text=text
            )
            for (a, b, c, d), text in edits
        ],
    )


async def test_incremental_edits_then_completion_match_full_text(tiny_model, profile, tmp_path):
    async with running_server(profile, ("--model", str(tiny_model)), init_options=ALONE) as client:
        uri = open_doc(client, tmp_path / "a.py", "import os\n\ndef size(path):\n    pass\n")
        client.text_document_did_change(change(uri, 2, ((3, 4, 3, 8), "return os.path.getsize(path)")))
        client.text_document_did_change(change(uri, 3, ((4, 0, 4, 0), "\n\ndef exists(path):\n    return ")))
        edited = await client.text_document_completion_async(completion(uri, 7, 11))
        # The same final text opened whole gives the same prompt: served from the cache.
        whole = open_doc(client, tmp_path / "b.py", FINAL)
        reference = await client.text_document_completion_async(completion(whole, 7, 11))
        assert [i.text_edit.new_text for i in edited.items] == [i.text_edit.new_text for i in reference.items]
        assert (await stats(client))["completionCacheHits"] == 1


async def test_full_document_change(tiny_model, tmp_path):
    async with running_server("neovim", ("--model", str(tiny_model)), init_options=ALONE) as client:
        uri = open_doc(client, tmp_path / "a.py", "x = 1\n")
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=FINAL)],
            )
        )
        first = await client.text_document_completion_async(completion(uri, 7, 11))
        whole = open_doc(client, tmp_path / "b.py", FINAL)
        second = await client.text_document_completion_async(completion(whole, 7, 11))
        assert [i.text_edit.new_text for i in first.items] == [i.text_edit.new_text for i in second.items]


@pytest.mark.parametrize("encoding, column", [("utf-8", 28), ("utf-16", 20), ("utf-32", 19)])
async def test_position_encodings(tiny_model, tmp_path, encoding, column):
    text = "label = '日本語🎉' + na\n"  # the cursor goes after "na"
    async with running_server("neovim", ("--model", str(tiny_model)), encodings=[encoding]) as client:
        assert client.init_result.capabilities.position_encoding == encoding
        uri = open_doc(client, tmp_path / "a.py", text)
        result = await client.text_document_completion_async(completion(uri, 0, column))
        assert result.items
        for item in result.items:
            assert item.text_edit.new_text.startswith("na")
            assert item.text_edit.range.start.character == column - 2
            assert item.text_edit.range.end.character == column


async def test_progress_reported_while_loading(tiny_model):
    async with running_server("visual_studio_code", ("--model", str(tiny_model))) as client:
        await client.text_document_completion_async(completion("file:///none.py", 0, 0))
        for _ in range(20):
            kinds = [getattr(p, "kind", None) for reports in client.progress_reports.values() for p in reports]
            if "end" in kinds:
                break
            await asyncio.sleep(0.05)
        assert "begin" in kinds and "end" in kinds
