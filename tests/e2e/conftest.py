"""Starting the real server over stdio and speaking real JSON-RPC to it (pytest-lsp)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

# The two client capability profiles the suite runs with.
PROFILES = ("neovim", "visual_studio_code")


def server_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "codeshell_lsp", "serve", "--stdio", "--threads", "1", *args]


@contextlib.asynccontextmanager
async def running_server(
    profile: str = "neovim",
    args: tuple[str, ...] = (),
    init_options: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    encodings: list[str] | None = None,
    workspace: Path | None = None,
) -> AsyncIterator[LanguageClient]:
    full_env = {**os.environ, **(env or {})}
    config = ClientServerConfig(server_command=server_command(*args), server_env=full_env)
    client: LanguageClient = await config.start()  # type: ignore[assignment]
    if configuration is not None:
        client.set_configuration(configuration, section="codeshell")
    caps = client_capabilities(profile)
    if encodings is not None:
        caps.general = types.GeneralClientCapabilities(position_encodings=encodings)
    folders = [types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)] if workspace else None
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=caps, initialization_options=init_options, process_id=os.getpid(),
            root_uri=workspace.as_uri() if workspace else None, workspace_folders=folders,
        )
    )
    client.init_result = result  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.shutdown_session()


def open_doc(client: LanguageClient, path: Path | str, text: str, version: int = 1) -> str:
    uri = Path(path).resolve().as_uri() if not str(path).startswith("file:") else str(path)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text))
    )
    return uri


async def stats(client: LanguageClient) -> dict[str, Any]:
    result = await client.protocol.send_request_async("codeshell/stats", {})
    # pygls hands unknown result objects back as namedtuples.
    return result._asdict() if hasattr(result, "_asdict") else dict(result)


@pytest.fixture(params=PROFILES)
def profile(request: pytest.FixtureRequest) -> str:
    return request.param


def write_raw(client: LanguageClient, body: bytes) -> None:
    """Bytes straight onto the server's stdin, framed but otherwise unchecked."""
    client.protocol.writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


async def raw_request(client: LanguageClient, msg_id: int, method: str, params: Any) -> Any:
    """A request the client library would refuse to build (bad params); returns the answer."""
    import json
    from concurrent.futures import Future

    future: Future[Any] = Future()
    client.protocol._request_futures[msg_id] = future
    write_raw(client, json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}).encode())
    return await asyncio.wait_for(asyncio.wrap_future(future), 10)
