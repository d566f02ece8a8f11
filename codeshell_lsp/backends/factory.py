"""Choosing and building the backend the settings ask for."""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendError, ModelLoadError
from ..log import get_logger
from ..model_file import check_file, inspect, resolve_model
from ..options import Settings
from .base import Backend

log = get_logger(__name__)


def make_backend(model: str | Path | None, settings: Settings) -> Backend:
    """The backend ``backend.kind`` names. For ``local``, load the model (``model``
    overrides ``model.path`` and the rest of the resolution); a remote backend loads
    nothing and does not touch the network until the first completion, so a server
    that is down now is picked up when it comes back."""
    if settings.backend.kind != "local":
        return _remote(model, settings)
    import time

    from .local import LocalBackend

    path, origin = resolve_model(model, settings.model.path)
    check_file(path)
    t0 = time.perf_counter()
    try:
        backend = LocalBackend(path, settings)
    except ModelLoadError:
        # llama.cpp says little; reading the file ourselves usually names the cause
        # (truncation, an architecture it does not know).
        info = inspect(path)
        raise ModelLoadError(f"llama.cpp could not load {path} (architecture {info.arch!r}, {info.quant})") from None
    log.info(
        "loaded %s (%s) in %.2f s: template %s (%s)",
        path, origin, time.perf_counter() - t0, backend.template_name, backend.template_note,
    )
    return backend


def _remote(model: str | Path | None, settings: Settings) -> Backend:
    kind = settings.backend.kind
    backend: Backend
    if kind == "llama-server":
        from .llama_server import LlamaServerBackend

        backend = LlamaServerBackend(settings)
    elif kind == "openai":
        from .openai import OpenAIBackend

        backend = OpenAIBackend(settings)
    else:
        raise BackendError(f"unknown backend.kind {kind!r}; choose local, llama-server or openai")
    if model:
        log.info("backend.kind is %s: the model file %s is not loaded", kind, model)
    log.info("completions from %s (%s)", backend.model_name, backend.template_note)
    return backend
