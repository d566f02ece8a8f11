"""Which model is used, and which level chose it.

First that applies: ``--model`` on the command line; the ``model.path`` setting (what
the editor sent); ``$CODESHELL_LSP_MODEL``; ``model.path`` in the user config; the
embedded default. Each value is a model name from the registry (``gemma``,
``embedded``) or a GGUF path. Nothing here opens the file (``model_file.check_file``
does).
"""

from __future__ import annotations

import os
from pathlib import Path

from . import registry, user_config
from .model_file import ENV_VAR, embedded_model_path

EMBEDDED_ORIGIN = "the embedded default: no model chosen at any level (`codeshell-lsp models install gemma --default` makes a real one the default)"


def resolve_model(explicit: str | os.PathLike[str] | None = None, setting: str | None = None) -> tuple[Path, str]:
    """(path, why: "chosen by" the level that chose it, in words). A named model that is not installed
    raises ModelNotFoundError saying how to install it."""
    levels = (
        (explicit, "chosen by --model"),
        (setting, "chosen by the model.path setting"),
        (os.environ.get(ENV_VAR), f"chosen by ${ENV_VAR}"),
    )
    for value, origin in levels:
        if value:
            return model_path(os.fspath(value), origin), origin
    configured = user_config.model_choice()
    if configured is not None:
        value, origin = configured
        path = model_path(value, origin)
        # A relative path in the config file is relative to the file's folder, not to
        # wherever the editor started the server.
        return (path if path.is_absolute() else user_config.config_path().parent / path), origin
    return embedded_model_path(), EMBEDDED_ORIGIN


def model_path(value: str, origin: str) -> Path:
    """A model name's file (an error if it is not installed) or the path as given, ``~`` expanded."""
    named = registry.named_path(value, origin)
    return named if named is not None else Path(os.path.expanduser(value))
