"""Other open documents in the prompt, end to end: didOpen/didChange/didClose feed the
extra context, a keystroke keeps it in the KV cache, and context.otherFiles turns it off."""

from __future__ import annotations

import pytest
from lsprotocol import types

from .conftest import open_doc, running_server, stats

pytestmark = pytest.mark.model

UTIL = "def parse_header(line):\n    return line.split(':', 1)\n\n\ndef format_header(name, value):\n    return f'{name}: {value}'\n"
MAIN = "from . import util\n\n\ndef read(lines):\n    return [util.]\n"


def _complete(client, uri: str, line: int, col: int):
    return client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, col))
    )


def _type(client, uri: str, version: int, line: int, col: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(line, col), types.Position(line, col)), text=text
            )],
        )
    )


async def test_other_open_documents_go_into_the_prompt_and_stay_in_the_kv_cache(tiny_model, tmp_path):
    options = {"cache": {"completionCacheSize": 0, "speculative": False}}
    async with running_server("neovim", ("--model", str(tiny_model)), init_options=options) as client:
        open_doc(client, tmp_path / "util.py", UTIL)
        uri = open_doc(client, tmp_path / "main.py", MAIN)
        await _complete(client, uri, 4, 17)
        first = await stats(client)
        assert first["extraTokensEvaluated"] > 0 and first["extraTokensReused"] == 0
        _type(client, uri, 2, 4, 17, "p")
        await _complete(client, uri, 4, 18)
        second = await stats(client)
        assert second["extraTokensEvaluated"] == first["extraTokensEvaluated"]  # not one extra token again
        assert second["extraTokensReused"] == first["extraTokensEvaluated"]
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier((tmp_path / "util.py").as_uri())))
        await _complete(client, uri, 4, 18)
        third = await stats(client)
        assert third["extraTokensEvaluated"] == second["extraTokensEvaluated"]
        assert third["extraTokensReused"] == second["extraTokensReused"]  # no extra context left


async def test_other_files_off_keeps_the_file_only_prompt(tiny_model, tmp_path):
    options = {"context": {"otherFiles": False}, "cache": {"completionCacheSize": 0}}
    async with running_server("neovim", ("--model", str(tiny_model)), init_options=options) as client:
        open_doc(client, tmp_path / "util.py", UTIL)
        uri = open_doc(client, tmp_path / "main.py", MAIN)
        await _complete(client, uri, 4, 17)
        s = await stats(client)
        assert s["requests"] == 1 and s["extraTokensEvaluated"] == 0 and s["extraTokensReused"] == 0
