"""Logging setup: quiet by default, -v for debug, optional log file; llama.cpp's own log routed here."""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "codeshell_lsp"


def setup_logging(verbose: int = 0, log_file: str | None = None, stderr: bool = True) -> None:
    """Configure the package logger.

    The server speaks LSP on stdout, so logs never go there; on stderr only warnings
    unless -v. ``verbose >= 2`` also forwards llama.cpp's own log lines.
    """
    root = logging.getLogger(LOGGER_NAME)
    root.handlers.clear()
    level = logging.DEBUG if verbose else logging.INFO
    root.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_file:
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setFormatter(fmt)
        root.addHandler(fh)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(fmt)
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    if stderr or verbose:
        root.addHandler(handler)
    root.propagate = False
    global _LLAMA_VERBOSE
    _LLAMA_VERBOSE = verbose >= 2


_LLAMA_VERBOSE = False


def llama_verbose() -> bool:
    return _LLAMA_VERBOSE


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name.rsplit('.', 1)[-1]}")
