"""A bare server and the user config: which model it uses and why, and a broken file."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import open_doc, running_server, stats
from .test_robustness import params

pytestmark = pytest.mark.model


def user_config(text: str) -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "codeshell-lsp" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


async def completes(client, uri: str) -> types.CompletionList:
    result = await asyncio.wait_for(client.text_document_completion_async(params(uri, 1, 10)), 30)
    assert result is not None
    return result


async def logged(client, needle: str) -> str:
    for _ in range(100):  # the load runs in the background
        found = [m.message for m in client.log_messages if needle in m.message]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no log message with {needle!r}: {[m.message for m in client.log_messages]}")


async def test_a_bare_server_uses_the_user_configs_model_and_says_why(tiny_model, tmp_path):
    config = user_config(f'[model]\npath = "{tiny_model}"\n\n[completion]\nmaxTokens = 3\n')
    async with running_server("neovim") as client:
        uri = open_doc(client, tmp_path / "a.py", "def f():\n    return 1\n")
        await completes(client, uri)
        message = await logged(client, "chosen by")
        assert str(tiny_model) in message and f"chosen by the user config {config}, line 2" in message
        s = await stats(client)
        assert s["model"] == "codeshell-random-0M"
        assert s["tokensGenerated"] <= 3  # the file's other settings count too
        assert not [m for m in client.messages if m.type == types.MessageType.Error]


async def test_the_editors_model_setting_wins_over_the_user_config(tiny_model, tmp_path):
    user_config('[model]\npath = "/nowhere/missing.gguf"\n')
    async with running_server("neovim", init_options={"model": {"path": str(tiny_model)}}) as client:
        uri = open_doc(client, tmp_path / "a.py", "def f():\n    return 1\n")
        await completes(client, uri)
        assert "chosen by the model.path setting" in await logged(client, "chosen by")


async def test_a_broken_user_config_is_shown_with_its_line_and_the_server_works_on(tmp_path):
    config = user_config('[completion]\nmaxTokens = 8\n[model\n')
    async with running_server("visual_studio_code") as client:
        uri = open_doc(client, tmp_path / "a.py", "def f():\n    return 1\n")
        await completes(client, uri)
        shown = [m.message for m in client.messages if str(config) in m.message]
        assert len(shown) == 1 and f"{config}, line 3: not valid TOML" in shown[0], client.messages
        assert "no model chosen at any level" in await logged(client, "embedded default")
        await completes(client, uri)


async def test_a_named_model_not_installed_is_an_error_saying_how_to_install_it(tmp_path):
    config = user_config('[model]\npath = "gemma"\n')  # the test's fresh cache has no Gemma
    async with running_server("neovim") as client:
        uri = open_doc(client, tmp_path / "a.py", "def f():\n    return 1\n")
        assert not (await completes(client, uri)).items
        errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1, errors
        assert f"'gemma' (chosen by the user config {config}, line 2) is not installed" in errors[0]
        assert "codeshell-lsp models install gemma" in errors[0]
