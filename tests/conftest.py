"""Shared fixtures: the tiny random-weight CodeShell GGUF every model test runs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from codeshell_lsp.synthetic import write_codeshell_gguf


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~0.6 MB random-weight model of the real codeshell architecture (plumbing, not quality)."""
    return write_codeshell_gguf(tmp_path_factory.mktemp("models") / "tiny-codeshell.gguf")
