"""Bad input never takes the server down: every request still gets one answer."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcMethodNotFound

from .conftest import open_doc, raw_request, running_server, stats, write_raw

pytestmark = pytest.mark.model


def params(uri: str, line: int, character: int) -> types.CompletionParams:
    return types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, character))


async def still_alive(client, uri: str) -> None:
    result = await asyncio.wait_for(client.text_document_completion_async(params(uri, 0, 0)), 30)
    assert result is not None


async def test_malformed_json_and_unknown_methods(tiny_model, tmp_path):
    async with running_server("neovim", ("--model", str(tiny_model))) as client:
        uri = open_doc(client, tmp_path / "a.py", "x = 1\n")
        write_raw(client, b'{"jsonrpc": "2.0", "id": 5, "method": ')
        with pytest.raises(JsonRpcMethodNotFound):
            await asyncio.wait_for(client.protocol.send_request_async("codeshell/noSuchMethod", {}), 10)
        client.protocol.notify("codeshell/noSuchNotification", {})
        await still_alive(client, uri)


async def test_request_with_invalid_params_gets_invalid_params_error(tiny_model, tmp_path):
    async with running_server("neovim", ("--model", str(tiny_model))) as client:
        uri = open_doc(client, tmp_path / "a.py", "x = 1\n")
        bads = ({}, {"textDocument": {"uri": uri}, "position": {"line": -1, "character": 0}}, [1, 2])
        for i, bad in enumerate(bads):
            with pytest.raises(JsonRpcInvalidParams):
                await raw_request(client, 100 + i, "textDocument/completion", bad)
        await still_alive(client, uri)


async def test_unknown_document_gets_empty_result(tiny_model):
    async with running_server("neovim", ("--model", str(tiny_model))) as client:
        result = await client.text_document_completion_async(params("file:///no/such/file.py", 0, 0))
        assert result is not None and not result.items
        inline = await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
                text_document=types.TextDocumentIdentifier("file:///no/such/file.py"),
                position=types.Position(0, 0),
            )
        )
        assert inline is not None and not inline.items


async def test_positions_out_of_range_and_inside_surrogate_pair(tiny_model, tmp_path):
    async with running_server("visual_studio_code", ("--model", str(tiny_model))) as client:
        uri = open_doc(client, tmp_path / "a.py", "s = '😀😀'\nprint(s)\n")
        for line, char in ((0, 200), (50, 3), (0, 6), (2, 0)):  # (0, 6) splits the first emoji
            result = await client.text_document_completion_async(params(uri, line, char))
            assert result is not None
            for item in result.items:
                end = item.text_edit.range.end
                assert (end.line, end.character) in {(0, 10), (2, 0), (0, 5)}


async def test_huge_document_and_binary_junk(tiny_model, tmp_path):
    async with running_server("neovim", ("--model", str(tiny_model))) as client:
        line = "value = compute(alpha, beta, gamma)  # a line of ordinary code\n"
        huge = line * (10_000_000 // len(line))
        uri = open_doc(client, tmp_path / "huge.py", huge)
        t0 = time.monotonic()
        result = await asyncio.wait_for(client.text_document_completion_async(params(uri, 80_000, 10)), 60)
        assert result is not None
        assert time.monotonic() - t0 < 30
        rng = random.Random(0)
        junk = "".join(chr(rng.choice([0, 1, 7, 0xFFFE, 0xD800, rng.randrange(32, 0x10FFFF)])) for _ in range(20_000))
        junk_uri = open_doc(client, tmp_path / "junk.bin", junk)
        result = await asyncio.wait_for(client.text_document_completion_async(params(junk_uri, 0, 500)), 60)
        assert result is not None
        await still_alive(client, uri)


async def test_missing_model_told_once_then_fixed_by_configuration(tiny_model, tmp_path):
    missing = tmp_path / "missing.gguf"
    async with running_server("neovim", init_options={"model": {"path": str(missing)}}) as client:
        uri = open_doc(client, tmp_path / "a.py", "def f():\n    return 1\n")
        for _ in range(3):
            result = await client.text_document_completion_async(params(uri, 1, 4))
            assert result is not None and not result.items
        errors = [m for m in client.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1 and str(missing) in errors[0].message and "does not exist" in errors[0].message
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"codeshell": {"model": {"path": str(tiny_model)}}})
        )
        for _ in range(50):  # the reload runs in the background
            result = await client.text_document_completion_async(params(uri, 1, 10))
            if result.items:
                break
            await asyncio.sleep(0.1)
        assert result.items, "completions should work once a good model path arrives"
        assert (await stats(client))["model"] == "codeshell-random-0M"


async def test_corrupt_model_told_once(tiny_model, tmp_path):
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(tiny_model.read_bytes()[:5000])
    async with running_server("visual_studio_code", ("--model", str(corrupt))) as client:
        uri = open_doc(client, tmp_path / "a.py", "x = 1\n")
        result = await client.text_document_completion_async(params(uri, 0, 5))
        assert not result.items
        errors = [m for m in client.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1 and "truncated" in errors[0].message


async def test_invalid_setting_reported_and_default_used(tiny_model, tmp_path):
    opts = {"completion": {"maxTokens": "lots", "suffixRatio": 3}}
    async with running_server("neovim", ("--model", str(tiny_model)), init_options=opts) as client:
        uri = open_doc(client, tmp_path / "a.py", "x = 1\n")
        result = await client.text_document_completion_async(params(uri, 0, 5))
        assert result is not None
        warned = [m.message for m in client.messages if m.type == types.MessageType.Warning]
        assert any("completion.maxTokens" in m and "64" in m for m in warned)
        assert any("completion.suffixRatio" in m for m in warned)


def test_verbose_log_lines_reach_the_client_once(tiny_model, tmp_path):
    """With -v, what the client is sent as window/logMessage is not also on stderr (VS
    Code shows both in one output, so each line showed twice); what comes after shutdown
    goes to stderr."""
    from .raw import Server, completion_params

    err = tmp_path / "stderr.txt"
    with Server("--model", str(tiny_model), "-v", stderr=err) as s:
        s.initialize()
        s.open("file:///a.py", "def f(x):\n    return x\n")
        assert "result" in s.ask("textDocument/completion", completion_params("file:///a.py", 1, 11), timeout=60)
        s.ask("codeshell/stats", {})
        logged = [m["params"]["message"] for m in s.frames.seen if m.get("method") == "window/logMessage"]
    stderr = err.read_text(encoding="utf-8")
    assert logged, "no window/logMessage at all"
    assert not [m for m in logged if m in stderr], stderr[-2000:]
    assert "exit after shutdown" in stderr and "exit after shutdown" not in "".join(logged)
