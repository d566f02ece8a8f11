"""Finding and checking GGUF model files before llama.cpp sees them.

llama.cpp answers a bad file with a log dump and a NULL; here every failure is one
error naming the file and the cause: missing, a directory, not GGUF, truncated.
"""

from __future__ import annotations

import os
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import ModelFormatError, ModelNotFoundError

ENV_VAR = "CODESHELL_LSP_MODEL"
DEFAULT_MODEL_NAME = "codeshell-mini.q8_0.gguf"
GGUF_MAGIC = b"GGUF"


def embedded_model_path() -> Path:
    """The default model shipped inside the package (also from an installed wheel)."""
    return Path(__file__).resolve().parent / "data" / DEFAULT_MODEL_NAME


def resolve_model(explicit: str | os.PathLike[str] | None = None, setting: str | None = None) -> tuple[Path, str]:
    """(path, where it came from): --model, then the model.path setting, then
    $CODESHELL_LSP_MODEL, then the embedded default. Does not check the file."""
    for value, origin in ((explicit, "--model"), (setting, "model.path"), (os.environ.get(ENV_VAR), f"${ENV_VAR}")):
        if value:
            return Path(os.path.expanduser(os.fspath(value))), origin
    return embedded_model_path(), "embedded default"


def check_file(path: Path) -> None:
    """Raise a clear error unless ``path`` is a readable file starting with the GGUF magic."""
    if not path.exists():
        if path == embedded_model_path():
            raise ModelNotFoundError(
                f"the embedded default model {path} is missing from this installation; "
                f"pass --model or set {ENV_VAR} to a GGUF file"
            )
        raise ModelNotFoundError(f"model file {path} does not exist")
    if path.is_dir():
        raise ModelFormatError(f"model path {path} is a directory, not a GGUF file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise ModelFormatError(f"cannot read model file {path}: {e.strerror}") from e
    if head != GGUF_MAGIC:
        raise ModelFormatError(f"{path} is not a GGUF file (it starts with {head!r}, not b'GGUF')")


@dataclass
class ModelInfo:
    path: str
    file_size: int
    arch: str
    name: str
    n_params: int
    quant: str
    context_length: int | None
    n_layers: int | None
    n_embd: int | None
    n_vocab: int
    fim_template: str = ""
    fim_note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _field(reader: Any, key: str) -> Any:
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def inspect(path: Path) -> ModelInfo:
    """Read a GGUF's metadata without loading its weights; detects truncation."""
    import gguf

    from . import fim

    check_file(path)
    try:
        reader = gguf.GGUFReader(str(path), "r")
    except (ValueError, struct.error, IndexError, OSError, UnicodeDecodeError, KeyError) as e:
        raise ModelFormatError(
            f"{path} is truncated or corrupt: its GGUF metadata cannot be read ({type(e).__name__}: {e})"
        ) from e
    size = path.stat().st_size
    end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    if end > size:
        raise ModelFormatError(f"{path} is truncated: its tensors need {end} bytes but the file has {size}")
    arch = _field(reader, "general.architecture") or "unknown"
    tokens = _field(reader, "tokenizer.ggml.tokens") or []
    vocab = {t: i for i, t in enumerate(tokens)}
    counts: dict[str, int] = {}
    for t in reader.tensors:
        if len(t.shape) >= 2:
            counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + int(t.n_elements)
    quant = max(counts, key=counts.__getitem__) if counts else "unknown"
    name, note = fim.detect_family(vocab, arch)
    return ModelInfo(
        path=str(path),
        file_size=size,
        arch=arch,
        name=_field(reader, "general.name") or path.stem,
        n_params=sum(int(t.n_elements) for t in reader.tensors),
        quant=quant,
        context_length=_field(reader, f"{arch}.context_length"),
        n_layers=_field(reader, f"{arch}.block_count"),
        n_embd=_field(reader, f"{arch}.embedding_length"),
        n_vocab=len(tokens),
        fim_template=name,
        fim_note=note,
    )
