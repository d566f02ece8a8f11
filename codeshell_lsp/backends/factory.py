"""Choosing and building the backend the settings ask for: one entry per backend kind."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Callable

from ..errors import BackendError, ModelError, ModelLoadError
from ..log import get_logger
from ..model_choice import resolve_model
from ..model_file import check_file, read_layout
from ..options import BACKEND_KINDS, ModelSettings, Settings
from .base import Backend

log = get_logger(__name__)


def _local(model: str | Path | None, settings: Settings) -> Backend:
    """Load the model in-process (``model`` overrides ``model.path`` and the rest of the resolution)."""
    from .local import LocalBackend

    path, origin = resolve_model(model, settings.model.path)
    try:
        check_file(path)  # before llama.cpp: a FIFO or a truncated file fails here at once
    except ModelError as e:
        raise type(e)(f"{e} ({origin})") from None
    t0 = time.perf_counter()
    try:
        backend = LocalBackend(path, capped_threads(settings.model), settings.cache)
    except ModelLoadError:
        # llama.cpp says little; the header names what it holds (an architecture
        # llama.cpp may not know). Read from the tensor table only: fast, no memory.
        layout = read_layout(path)
        raise ModelLoadError(f"llama.cpp could not load {path} (architecture {layout.arch!r}, {layout.quant})") from None
    log.info(
        "model %s, %s: loaded in %.2f s, template %s (%s)",
        path, origin, time.perf_counter() - t0, backend.template_name, backend.template_note,
    )
    return backend


def capped_threads(m: ModelSettings) -> ModelSettings:
    """``model.threads`` at most the logical cores: llama.cpp's threads wait for each
    other at every graph node, so more threads than cores make every token far slower."""
    cores = os.cpu_count() or 1
    if m.threads <= cores:
        return m
    log.warning("model.threads %d is more than the %d logical cores: using %d", m.threads, cores, cores)
    return dataclasses.replace(m, threads=cores)


def _llama_server(model: str | Path | None, settings: Settings) -> Backend:
    from .llama_server import LlamaServerBackend

    return LlamaServerBackend(settings.backend)


def _openai(model: str | Path | None, settings: Settings) -> Backend:
    from .openai import OpenAIBackend

    return OpenAIBackend(settings.backend, settings.model.template)


BACKENDS: dict[str, Callable[[str | Path | None, Settings], Backend]] = {
    "local": _local,
    "llama-server": _llama_server,
    "openai": _openai,
}
assert tuple(BACKENDS) == BACKEND_KINDS, "options.BACKEND_KINDS and the backends built here must agree"


def make_backend(model: str | Path | None, settings: Settings) -> Backend:
    """The backend ``backend.kind`` names. A remote backend loads nothing and does not
    touch the network until the first completion, so a server that is down now is
    picked up when it comes back."""
    kind = settings.backend.kind
    build = BACKENDS.get(kind)
    if build is None:
        raise BackendError(f"unknown backend.kind {kind!r}; choose one of {', '.join(BACKENDS)}")
    backend = build(model, settings)
    if kind != "local":
        if model:
            log.info("backend.kind is %s: the model file %s is not loaded", kind, model)
        log.info("completions from %s (%s)", backend.model_name, backend.template_note)
    return backend
