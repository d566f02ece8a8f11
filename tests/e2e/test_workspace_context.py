"""Definitions from files that are not open, end to end: the server indexes the workspace
folder the editor sends, and what the current file imports reaches the prompt; a save
and a deletion on disk reach it too. The prompts are read where they arrive: at a small
stdlib server answering like an OpenAI-compatible one (no model needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import open_doc, running_server, stats
from .test_remote_context import Small, small_server

UTIL = "def parse_header(line):\n    return line.split(':', 1)\n\n\ndef format_header(name, value):\n    return name\n"
MAIN = "from . import util\n\n\ndef read(lines):\n    return [util.]\n"


def _remote(url: str, **context: object) -> dict[str, object]:
    return {"backend": {"kind": "openai", "url": url}, "cache": {"completionCacheSize": 0, "speculative": False},
            "context": context}


async def _indexed(client) -> str:
    """Waits for the end of the indexing progress; returns its message."""
    for _ in range(200):
        for reports in list(client.progress_reports.values()):
            for r in reports:
                if isinstance(r, types.WorkDoneProgressEnd) and "workspace files indexed" in (r.message or ""):
                    return r.message
        await asyncio.sleep(0.05)
    raise AssertionError("no end of the indexing progress in 10 s")


async def _prompt(client, server: Small, uri: str, line: int = 4, col: int = 17) -> str:
    before = len(server.posts)
    await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, col))
    )
    assert len(server.posts) == before + 1
    return server.posts[-1]["prompt"]


def _project(root: Path) -> None:
    (root / "pkg").mkdir()
    (root / "pkg/__init__.py").write_text("")
    (root / "pkg/util.py").write_text(UTIL)
    (root / "pkg/main.py").write_text(MAIN)


@pytest.mark.parametrize("profile", ["neovim", "visual_studio_code"])
async def test_an_unopened_workspace_file_reaches_the_prompt(tmp_path, profile):
    _project(tmp_path)
    with small_server(Small("vllm", n_ctx=8192)) as remote:
        async with running_server(profile, init_options=_remote(remote.url), workspace=tmp_path) as client:
            assert await _indexed(client) == "3 workspace files indexed"
            uri = open_doc(client, tmp_path / "pkg/main.py", MAIN)
            prompt = await _prompt(client, remote, uri)
            assert "util.parse_header(line)" in prompt and "util.format_header(name, value)" in prompt
            assert prompt.index("util.parse_header") < prompt.index("def read(lines)")

            # Saved with new text: the next prompt has it.
            (tmp_path / "pkg/util.py").write_text("def split_header(line):\n    return line\n")
            client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier((tmp_path / "pkg/util.py").as_uri())))
            for _ in range(100):
                prompt = await _prompt(client, remote, uri)
                if "util.split_header(line)" in prompt:
                    break
                await asyncio.sleep(0.05)
            assert "util.split_header(line)" in prompt and "parse_header" not in prompt

            # Deleted (a watched-file event): gone from the prompt.
            (tmp_path / "pkg/util.py").unlink()
            client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
                [types.FileEvent((tmp_path / "pkg/util.py").as_uri(), types.FileChangeType.Deleted)]
            ))
            for _ in range(100):
                prompt = await _prompt(client, remote, uri)
                if "split_header" not in prompt:
                    break
                await asyncio.sleep(0.05)
            assert "split_header" not in prompt


REPORT = "from . import util\n\n\ndef header_names(lines):\n    return [util.parse_header(line)[0] for line in lines]\n"
READER = (
    "from . import util\n\n\ndef read(lines):\n    # one header per line\n    # its name first\n    names = []\n"
    "    for line in lines:\n        names.append(line)\n    return [util.]\n"
)


async def test_an_unopened_file_using_the_same_module_gives_its_lines_and_its_open_text_wins(tmp_path):
    _project(tmp_path)
    (tmp_path / "pkg/report.py").write_text(REPORT)
    (tmp_path / "pkg/main.py").write_text(READER)
    with small_server(Small("vllm", n_ctx=8192)) as remote:
        async with running_server(init_options=_remote(remote.url), workspace=tmp_path) as client:
            await _indexed(client)
            uri = open_doc(client, tmp_path / "pkg/main.py", READER)
            prompt = await _prompt(client, remote, uri, line=9, col=17)
            assert "return [util.parse_header(line)[0] for line in lines]" in prompt  # report.py, not open
            assert prompt.index("def header_names(lines)") < prompt.index("def read(lines)")
            edited = REPORT.replace("header_names", "header_keys")
            open_doc(client, tmp_path / "pkg/report.py", edited)
            for _ in range(100):
                prompt = await _prompt(client, remote, uri, line=9, col=17)
                if "header_keys" in prompt:
                    break
                await asyncio.sleep(0.05)
            assert "def header_keys(lines)" in prompt and "header_names" not in prompt


async def test_workspace_files_zero_turns_the_index_off_and_a_low_cap_is_told(tmp_path):
    _project(tmp_path)
    with small_server(Small("vllm", n_ctx=8192)) as remote:
        async with running_server(init_options=_remote(remote.url, workspaceFiles=0), workspace=tmp_path) as client:
            uri = open_doc(client, tmp_path / "pkg/main.py", MAIN)
            await asyncio.sleep(0.5)
            assert "parse_header" not in await _prompt(client, remote, uri)
        async with running_server(init_options=_remote(remote.url, workspaceFiles=2), workspace=tmp_path) as client:
            await _indexed(client)
            told = [m.message for m in client.messages]
            assert any("more than 2 source files" in m and "context.workspaceFiles" in m for m in told), told


@pytest.mark.model
async def test_workspace_context_stays_in_the_kv_cache(tiny_model, tmp_path):
    _project(tmp_path)
    options = {"cache": {"completionCacheSize": 0, "speculative": False}}
    async with running_server("neovim", ("--model", str(tiny_model)), init_options=options, workspace=tmp_path) as client:
        await _indexed(client)
        uri = open_doc(client, tmp_path / "pkg/main.py", MAIN)
        await client.text_document_completion_async(types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(4, 17)))
        first = await stats(client)
        assert first["extraTokensEvaluated"] > 0  # only main.py is open: the context came from the index
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [types.TextDocumentContentChangePartial(range=types.Range(types.Position(4, 17), types.Position(4, 17)), text="p")],
        ))
        await client.text_document_completion_async(types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(4, 18)))
        second = await stats(client)
        assert second["extraTokensEvaluated"] == first["extraTokensEvaluated"]
        assert second["extraTokensReused"] == first["extraTokensEvaluated"]
