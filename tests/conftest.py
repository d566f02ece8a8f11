"""Shared fixtures: the tiny random-weight CodeShell GGUF every model test runs on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codeshell_lsp import realmodel
from codeshell_lsp.synthetic import Shape, write_codeshell_gguf


@pytest.fixture(autouse=True)
def _kv_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test saves KV snapshots (cache.persist) in a directory of its own, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(autouse=True)
def _user_config_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's own config file (~/.config/codeshell-lsp/config.toml): the
    README's `models install gemma --default` may have written one on this machine."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.delenv("CODESHELL_LSP_MODEL", raising=False)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~0.6 MB random-weight model of the real codeshell architecture (plumbing, not quality)."""
    return write_codeshell_gguf(tmp_path_factory.mktemp("models") / "tiny-codeshell.gguf")


@pytest.fixture(scope="session")
def gemma() -> Path:
    """Gemma-3-270M (the `gemma` extra), the real trained model: skipped with the install
    hint when it is not installed, a failure instead when CODESHELL_REQUIRE_MODELS=1 (CI)."""
    found = realmodel.installed()
    if found is not None:
        return found
    try:
        return realmodel.install()  # the package is there: assembling needs no network
    except realmodel.ModelNotInstalled as e:
        if os.environ.get("CODESHELL_REQUIRE_MODELS") == "1":
            pytest.fail(f"CODESHELL_REQUIRE_MODELS=1 but {e}")
        pytest.skip(str(e))


# ~3M parameters: slow enough on one thread (~1k tokens/s prompt, ~13 ms/token decode)
# that a request is still running when the test cancels or supersedes it.
SLOW_SHAPE = Shape(n_embd=256, n_layer=4, n_head=4, n_head_kv=2, n_ff=1024)


@pytest.fixture(scope="session")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_codeshell_gguf(tmp_path_factory.mktemp("models") / "slow-codeshell.gguf", SLOW_SHAPE)


def long_python(n_functions: int = 200) -> str:
    """A long, plausible Python file (a few thousand tokens on the fixture vocabulary)."""
    return "".join(f"def function_{i}(x, y):\n    total = x * {i} + y\n    return total\n\n\n" for i in range(n_functions))
