"""Typed settings with defaults and validation.

One tree, read from ``initializationOptions``, ``workspace/configuration`` (section
``codeshell``) and ``workspace/didChangeConfiguration``: camelCase keys, every key
optional. An invalid value is reported (``Settings.from_dict`` returns the problems)
and its default is used.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from dataclasses import dataclass, field
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from .fim import FAMILIES

TEMPLATES = ("auto", *FAMILIES)
BACKEND_KINDS = ("local", "llama-server", "openai")  # backends.factory builds each
MULTILINE = ("auto", "always", "never")
KV_TYPES = ("f16", "q8_0")
Template = Literal[TEMPLATES]  # type: ignore[valid-type]
Multiline = Literal[MULTILINE]  # type: ignore[valid-type]
BackendKind = Literal[BACKEND_KINDS]  # type: ignore[valid-type]
KVType = Literal[KV_TYPES]  # type: ignore[valid-type]


def _meta(doc: str, lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    return {"doc": doc, "min": lo, "max": hi}


@dataclass
class ModelSettings:
    path: str = field(default="", metadata=_meta("GGUF file or model name (gemma, embedded: `codeshell-lsp models list`); empty: $CODESHELL_LSP_MODEL, then the user config's, then the embedded default model"))
    context_length: int = field(default=4096, metadata=_meta("llama.cpp context size in tokens (capped at the model's)", 256, 131072))
    threads: int = field(default=0, metadata=_meta("CPU threads; 0: half the logical cores (max 8)", 0, 256))
    gpu_layers: int = field(default=0, metadata=_meta("layers offloaded to a GPU, if llama.cpp was built with one", 0, 1000))
    template: Template = field(default="auto", metadata=_meta("FIM template; auto: detected from the model's vocabulary"))
    kv_type: KVType = field(default="f16", metadata=_meta("KV cache element type; q8_0 halves KV memory (f16 where the model's head size does not allow it)"))


@dataclass
class CompletionSettings:
    max_tokens: int = field(default=64, metadata=_meta("tokens generated at most per completion", 1, 4096))
    temperature: float = field(default=0.0, metadata=_meta("sampling temperature; 0: greedy (deterministic)", 0.0, 2.0))
    top_k: int = field(default=10, metadata=_meta("top-k sampling (when temperature > 0)", 0, 100000))
    top_p: float = field(default=0.95, metadata=_meta("nucleus sampling (when temperature > 0)", 0.0, 1.0))
    prompt_tokens: int = field(default=1536, metadata=_meta("token budget of prefix + suffix", 16, 131072))
    suffix_ratio: float = field(default=0.25, metadata=_meta("share of the budget for text after the cursor", 0.0, 1.0))
    multiline: Multiline = field(default="auto", metadata=_meta("auto: one line if text follows the cursor, else a block"))
    stop: list[str] = field(default_factory=list, metadata=_meta("extra stop strings"))
    draft_tokens: int = field(default=0, metadata=_meta("greedy only (temperature 0): check up to this many tokens guessed from the prompt's own text (prompt lookup) in one forward pass, keeping those the model itself would generate; 0: off (slower on the CPUs measured, see bench decode)", 0, 64))
    filters: bool = field(default=True, metadata=_meta("postprocessing filters (repetition, indentation, duplicates, brackets); false shows what the model generated, cut to its scope"))
    debounce_ms: int | Literal["auto"] = field(default="auto", metadata=_meta("wait this long (ms) for newer keystrokes before starting work; auto: no wait while the model answers faster than you type, else a little longer than your typing rhythm", 0, 5000))
    load_timeout_ms: int = field(default=30000, metadata=_meta("how long a request waits for the model to load", 0, 600000))


@dataclass
class ContextSettings:
    other_files: bool = field(default=True, metadata=_meta("put chunks of other open documents, recent edits and the document just left before the prefix"))
    extra_tokens: int = field(default=1024, metadata=_meta("token budget of that extra context (on top of completion.promptTokens)", 0, 65536))
    max_chunks: int = field(default=8, metadata=_meta("extra-context chunks at most", 0, 64))
    workspace_files: int = field(default=5000, metadata=_meta("source files under the workspace folders indexed in the background, for the definitions of what the current file imports and uses (0: no index); past it the rest is left out and you are told", 0, 1000000))


@dataclass
class CacheSettings:
    reuse: bool = field(default=True, metadata=_meta("reuse the KV cache between requests; false re-evaluates every prompt"))
    completion_cache_size: int = field(default=256, metadata=_meta("completions remembered (0 disables the cache)", 0, 100000))
    speculative: bool = field(default=True, metadata=_meta("after a suggestion, precompute the next one while idle (given up when you type)"))
    documents: int = field(default=4, metadata=_meta("documents whose KV is kept (least recently completed goes first); switching back evaluates only what changed", 1, 64))
    kv_memory_mb: int = field(default=0, metadata=_meta("memory for the KV of those documents (MB); 0: cache.documents contexts of model.contextLength at the model's KV size per token", 0, 1048576))
    persist: bool = field(default=True, metadata=_meta("save each document's KV when idle and at shutdown under $XDG_CACHE_HOME/codeshell-lsp/kv/, restore it after a restart"))
    disk_mb: int = field(default=2048, metadata=_meta("disk used by saved KV at most (MB; least recently used goes first)", 0, 1048576))


@dataclass
class BackendSettings:
    kind: BackendKind = field(default="local", metadata=_meta("local: in-process llama.cpp; llama-server: /infill; openai: /v1/completions"))
    url: str = field(default="", metadata=_meta("base URL of the remote server"))
    model: str = field(default="", metadata=_meta("model name sent to the remote server"))
    api_key_env: str = field(default="", metadata=_meta("name of the environment variable holding the API key"))
    timeout_ms: int = field(default=10000, metadata=_meta("longest silence allowed from the server: to connect, for the first byte, between streamed tokens; a whole answer gets 3x this", 100, 600000))


@dataclass
class Settings:
    model: ModelSettings = field(default_factory=ModelSettings)
    completion: CompletionSettings = field(default_factory=CompletionSettings)
    context: ContextSettings = field(default_factory=ContextSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    backend: BackendSettings = field(default_factory=BackendSettings)

    @classmethod
    def from_dict(cls, data: Any, base: "Settings | None" = None) -> tuple["Settings", list[str]]:
        """Settings from a camelCase tree; unknown or invalid values are reported and skipped.

        ``base`` supplies values for keys the tree does not mention (defaults if None).
        """
        problems: list[str] = []
        result = _load(cls, data, base if base is not None else cls(), "", problems)
        return result, problems

    @classmethod
    def layered(cls, tree: Any, cli_tree: dict[str, Any], base: "Settings | None" = None) -> tuple["Settings", list[str]]:
        """Settings from what the editor sent over ``base`` (the user config's layer),
        with command-line flags winning; the problems are those of the editor's tree
        (flags were checked when parsed, the user config when read)."""
        settings, problems = cls.from_dict(tree, base)
        settings, _ = cls.from_dict(cli_tree, settings)
        return settings, problems

    def to_dict(self) -> dict[str, Any]:
        """The camelCase tree (what a client would send)."""
        return _dump(self)

    def load_key(self, model: str | None) -> tuple[Any, ...]:
        """What the loaded backend depends on: a change here means loading it again."""
        m, b, c = self.model, self.backend, self.cache
        return (model, m.path, m.context_length, m.threads, m.gpu_layers, m.template, m.kv_type,
                c.documents, c.kv_memory_mb, c.persist, c.disk_mb,
                b.kind, b.url, b.model, b.api_key_env, b.timeout_ms)

    def replace(self, **sections: Any) -> "Settings":
        return dataclasses.replace(self, **sections)


def merge(base: Any, over: Any) -> Any:
    """``over`` laid over ``base``, object by object (``None`` in ``over`` keeps ``base``)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base.get(k), v)
        return out
    return over if over is not None else base


# Command-line flags -> settings keys, for whichever of them a command has.
_FLAGS = (
    ("threads", "model.threads"),
    ("ctx", "model.contextLength"),
    ("template", "model.template"),
    ("max_tokens", "completion.maxTokens"),
    ("temperature", "completion.temperature"),
    ("multiline", "completion.multiline"),
    ("backend", "backend.kind"),
    ("url", "backend.url"),
)


def flags_tree(args: argparse.Namespace) -> dict[str, Any]:
    """The settings tree the command-line flags in ``args`` set (server, CLI commands and
    benchmarks all turn flags into settings here)."""
    tree: dict[str, Any] = {}
    pairs = [(key, getattr(args, flag, None)) for flag, key in _FLAGS]
    if getattr(args, "no_cache_reuse", False):
        pairs.append(("cache.reuse", False))
    for key, value in pairs:
        if value is None or value == "" or (key in ("model.threads", "model.contextLength", "completion.maxTokens") and not value):
            continue
        section, name = key.split(".")
        tree.setdefault(section, {})[name] = value
    return tree


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join("MB" if p == "mb" else p.title() for p in rest)  # kvMemoryMB, diskMB


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _load(cls: type, data: Any, base: Any, where: str, problems: list[str]) -> Any:
    if data is None:
        return base
    if not isinstance(data, dict):
        problems.append(f"{where or 'settings'}: expected an object, got {type(data).__name__}; using defaults")
        return base
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    known = {camel(f.name): f for f in dataclasses.fields(cls)}
    for key, raw in data.items():
        f = known.get(camel(snake(key))) if isinstance(key, str) else None
        if f is None:
            problems.append(f"{where}{key}: unknown setting (ignored)")
            continue
        path = f"{where}{camel(f.name)}"
        current = getattr(base, f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            values[f.name] = _load(hints[f.name], raw, current, path + ".", problems)
            continue
        ok, value, why = _coerce(hints[f.name], raw, f.metadata)
        if ok:
            values[f.name] = value
        else:
            default = getattr(cls(), f.name)
            problems.append(f"{path}: {why}; using the default {default!r}")
            values[f.name] = default
    return dataclasses.replace(base, **values)


def _coerce(tp: Any, raw: Any, meta: Any) -> tuple[bool, Any, str]:
    origin = get_origin(tp)
    if origin in (Union, UnionType):
        whys = []
        for option in get_args(tp):
            ok, value, why = _coerce(option, raw, meta)
            if ok:
                return ok, value, why
            whys.append(why)
        return False, None, " or ".join(whys)
    if origin is Literal:
        choices = get_args(tp)
        if raw in choices:
            return True, raw, ""
        return False, None, f"{raw!r} is not one of {', '.join(choices)}"
    if origin is list:
        if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
            return True, list(raw), ""
        return False, None, f"expected a list of strings, got {raw!r}"
    if tp is bool:
        if isinstance(raw, bool):
            return True, raw, ""
        return False, None, f"expected true or false, got {raw!r}"
    if tp is str:
        if isinstance(raw, str):
            return True, raw, ""
        return False, None, f"expected a string, got {raw!r}"
    if tp in (int, float):
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            return False, None, f"expected a number, got {raw!r}"
        # JSON's 1e400 arrives as inf, and NaN passes every comparison: neither is a value.
        if isinstance(raw, float) and not math.isfinite(raw):
            return False, None, f"expected a finite number, got {raw!r}"
        if tp is int and raw != int(raw):
            return False, None, f"expected a whole number, got {raw!r}"
        lo, hi = meta.get("min"), meta.get("max")
        # Compared before converting: float() of a 400-digit integer overflows.
        if (lo is not None and raw < lo) or (hi is not None and raw > hi):
            return False, None, f"{_short(raw)} is outside {lo}..{hi}"
        return True, tp(raw), ""
    return False, None, f"unsupported value {raw!r}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} characters)"


def _dump(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {camel(f.name): _dump(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return list(obj)
    return obj


def describe() -> list[tuple[str, Any, str]]:
    """(camelCase key, default, description) for every setting: the README table's source."""
    rows: list[tuple[str, Any, str]] = []

    def walk(obj: Any, prefix: str) -> None:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            key = prefix + camel(f.name)
            if dataclasses.is_dataclass(value):
                walk(value, key + ".")
            else:
                rows.append((key, value, f.metadata.get("doc", "")))

    walk(Settings(), "")
    return rows
