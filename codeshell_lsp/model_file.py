"""Finding and checking GGUF model files before llama.cpp sees them.

llama.cpp answers a bad file with a log dump and a NULL; here every failure is one
error naming the file and the cause: missing, a directory, not a regular file, not
GGUF, truncated, or far longer than its tensors. The checks never block: anything but a regular file (a FIFO, a
device) is refused before it is opened, and truncation is found from the header and
tensor table alone (``read_layout``), without mapping the weights.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import ModelFormatError, ModelNotFoundError

ENV_VAR = "CODESHELL_LSP_MODEL"
DEFAULT_MODEL_NAME = "codeshell-mini.q8_0.gguf"
GGUF_MAGIC = b"GGUF"
TRAILING_SLACK = 1 << 20  # bytes a model file may have after its tensor data (padding)


def embedded_model_path() -> Path:
    """The default model shipped inside the package (also from an installed wheel)."""
    return Path(__file__).resolve().parent / "data" / DEFAULT_MODEL_NAME


def check_file(path: Path) -> None:
    """Raise a clear error unless ``path`` is a readable, complete GGUF file: a regular
    file (checked before opening it: a FIFO would block the open), with the GGUF magic,
    as long as its tensor table says (up to ``TRAILING_SLACK`` bytes of padding)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if path == embedded_model_path():
            raise ModelNotFoundError(
                f"the embedded default model {path} is missing from this installation; "
                f"pass --model or set {ENV_VAR} to a GGUF file"
            ) from None
        raise ModelNotFoundError(f"model file {path} does not exist") from None
    except OSError as e:
        raise ModelFormatError(f"cannot read model file {path}: {e.strerror}") from e
    if stat.S_ISDIR(mode):
        raise ModelFormatError(f"model path {path} is a directory, not a GGUF file")
    if not stat.S_ISREG(mode):
        raise ModelFormatError(f"model path {path} is {_kind(mode)}, not a regular GGUF file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise ModelFormatError(f"cannot read model file {path}: {e.strerror}") from e
    if head != GGUF_MAGIC:
        raise ModelFormatError(f"{path} is not a GGUF file (it starts with {head!r}, not b'GGUF')")
    layout = read_layout(path)
    if layout.data_end > layout.file_size:
        raise ModelFormatError(
            f"{path} is truncated: its tensors need {layout.data_end} bytes but the file has {layout.file_size}"
        )
    if layout.file_size - layout.data_end > TRAILING_SLACK:
        # llama.cpp maps and reads the whole file: a model stretched to GBs (a wrong
        # `truncate`, files joined together) would cost that much time and memory.
        raise ModelFormatError(
            f"{path} is damaged: its tensors end at {layout.data_end} bytes but the file has {layout.file_size} "
            f"({layout.file_size - layout.data_end} bytes more); it is not one whole GGUF model"
        )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


@dataclass
class Layout:
    """What a GGUF's header and tensor table say, read without touching the weights."""

    file_size: int
    version: int
    arch: str
    n_tensors: int
    data_end: int  # where the last tensor's data ends
    quant: str  # the tensor type holding the most elements of 2-D+ tensors


# GGUF value types: struct format of the scalars; 8 is a string, 9 an array.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


class _Cursor:
    """Reads little-endian GGUF fields from a buffer; running off its end is truncation."""

    def __init__(self, buf: Any, path: Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def need(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise ModelFormatError(
                f"{self.path} is truncated or corrupt: its GGUF header ends after {len(self.buf)} bytes, inside the metadata"
            )

    def scalar(self, fmt: str) -> Any:
        size = struct.calcsize("<" + fmt)
        self.need(size)
        value = struct.unpack_from("<" + fmt, self.buf, self.pos)[0]
        self.pos += size
        return value

    def string(self) -> bytes:
        n = self.scalar("Q")
        self.need(n)
        value = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return value

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.scalar(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item, count = self.scalar("I"), self.scalar("Q")
            if item in _SCALARS:  # skipped whole: only strings need walking
                self.need(count * struct.calcsize("<" + _SCALARS[item]))
                self.pos += count * struct.calcsize("<" + _SCALARS[item])
                return None
            for _ in range(count):
                self.value(item)
            return None
        raise ModelFormatError(f"{self.path} is corrupt: unknown GGUF value type {kind} in its metadata")


def read_layout(path: Path) -> Layout:
    """Header, metadata and tensor table of a GGUF file, checked for consistency.

    Reads only the metadata pages (through mmap), so a multi-GB model costs
    milliseconds and no memory; the tensor data is never touched."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    size = path.stat().st_size
    if size < 24:
        raise ModelFormatError(f"{path} is truncated: {size} bytes is shorter than a GGUF header")
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        c = _Cursor(buf, path)
        c.pos = 4
        version = c.scalar("I")
        if version not in (2, 3):
            raise ModelFormatError(f"{path} is GGUF version {version}; only versions 2 and 3 are supported")
        n_tensors, n_kv = c.scalar("Q"), c.scalar("Q")
        if n_tensors > size // 16 or n_kv > size // 16:  # each entry takes more bytes than that
            raise ModelFormatError(f"{path} is corrupt: its header counts {n_tensors} tensors and {n_kv} metadata keys")
        arch, alignment = "unknown", 32
        for _ in range(n_kv):
            key = c.string()
            kind = c.scalar("I")
            value = c.value(kind)
            if key == b"general.architecture" and isinstance(value, bytes):
                arch = value.decode("utf-8", "replace")
            elif key == b"general.alignment" and isinstance(value, int) and value > 0:
                alignment = value
        tensors: list[tuple[int, int, int]] = []  # (type, elements, offset)
        for _ in range(n_tensors):
            c.string()
            n_dims = c.scalar("I")
            if n_dims > 8:
                raise ModelFormatError(f"{path} is corrupt: a tensor with {n_dims} dimensions")
            elements = 1
            for _ in range(n_dims):
                elements *= c.scalar("Q")
            kind, offset = c.scalar("I"), c.scalar("Q")
            tensors.append((kind, elements if n_dims else 1, offset, n_dims))  # type: ignore[arg-type]
        data_start = -(-c.pos // alignment) * alignment
    data_end, counts = data_start, {}
    for kind, elements, offset, n_dims in tensors:  # type: ignore[misc]
        try:
            qtype = GGMLQuantizationType(kind)
            block, type_size = GGML_QUANT_SIZES[qtype]
        except (ValueError, KeyError):
            raise ModelFormatError(f"{path} has a tensor of unknown type {kind} (newer than this gguf package?)") from None
        data_end = max(data_end, data_start + offset + elements // block * type_size)
        if n_dims >= 2:
            counts[qtype.name] = counts.get(qtype.name, 0) + elements
    quant = max(counts, key=counts.__getitem__) if counts else "unknown"
    return Layout(size, version, arch, n_tensors, data_end, quant)


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


def _file_type(value: Any) -> str | None:
    """The quantization the file says it has (``general.file_type``: Q4_K_M keeps some
    tensors at Q8_0 or Q6_K, so the most common tensor type does not name it)."""
    import gguf

    try:
        return gguf.LlamaFileType(int(value)).name.removeprefix("MOSTLY_").removeprefix("ALL_")
    except (TypeError, ValueError):
        return None


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
    arch = _field(reader, "general.architecture") or "unknown"
    tokens = _field(reader, "tokenizer.ggml.tokens") or []
    vocab = {t: i for i, t in enumerate(tokens)}
    counts: dict[str, int] = {}
    for t in reader.tensors:
        if len(t.shape) >= 2:
            counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + int(t.n_elements)
    quant = _file_type(_field(reader, "general.file_type")) or (max(counts, key=counts.__getitem__) if counts else "unknown")
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
