"""Logging setup: quiet by default, -v for debug, optional log file (private to the
user: it holds their code); llama.cpp's own log routed here. A warning the user must
act on is marked (``tell_user``) so the server can also show it."""

from __future__ import annotations

import logging
import os
import sys

from .errors import LogFileError

LOGGER_NAME = "codeshell_lsp"
USER_NOTICE = "codeshell_user_notice"  # LogRecord attribute: the user must act on this one


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
        try:
            # Created 0600: completions and prompts in the log are the user's code.
            os.close(os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
            fh = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as e:
            raise LogFileError(f"cannot write the log file {log_file}: {e.strerror or e}") from None
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


def tell_user(logger: logging.Logger, message: str) -> None:
    """Log a warning the user must act on; the server also shows it (window/showMessage)."""
    logger.warning("%s", message, extra={USER_NOTICE: True})
