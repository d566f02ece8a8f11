"""Reading a Hugging Face CodeShell checkpoint directory without loading it.

Owns the three things a conversion needs from ``HF_DIR``: the hyper-parameters
(``config.json``), the tokenizer (``tokenizer.json`` or ``vocab.json`` + ``merges.txt``)
and the weights, as lazy tensors that read row blocks straight from the files —
safetensors (single or sharded) and PyTorch ``.bin`` zip archives (single or sharded),
both parsed here so neither the whole model nor torch is ever needed. Only the legacy
pre-1.6 ``.bin`` format falls back to torch (optional extra), one shard at a time.
"""

from __future__ import annotations

import json
import pickle
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import ConversionError

# What HF model_type CodeShell checkpoints carry: "codeshell" on the Hub, "kclgpt" in
# the first releases of WisdomShell/codeshell.
CODESHELL_MODEL_TYPES = ("codeshell", "kclgpt")
CODESHELL_ARCHITECTURES = ("CodeShellForCausalLM",)


@dataclass(frozen=True)
class HParams:
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_ctx: int
    norm_eps: float
    rope_base: float
    rope_linear_factor: float | None  # linear RoPE scaling, when the checkpoint asks for it
    name: str

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def qkv_rows(self) -> int:
        return self.n_embd + 2 * self.n_head_kv * self.head_dim


def read_hparams(hf_dir: Path) -> HParams:
    path = hf_dir / "config.json"
    if not hf_dir.is_dir():
        raise ConversionError(f"{hf_dir}: not a directory")
    if not path.is_file():
        raise ConversionError(f"{path}: missing (not a Hugging Face checkpoint directory?)")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConversionError(f"{path}: unreadable: {e}") from e
    if not isinstance(cfg, dict):
        raise ConversionError(f"{path}: not a JSON object")
    model_type = cfg.get("model_type")
    archs = cfg.get("architectures") or []
    if model_type not in CODESHELL_MODEL_TYPES and not any(a in CODESHELL_ARCHITECTURES for a in archs):
        raise ConversionError(
            f"{path}: model_type {model_type!r} (architectures {archs}) is not CodeShell; "
            f"expected model_type in {list(CODESHELL_MODEL_TYPES)}"
        )
    if cfg.get("position_embedding_type", "rope") != "rope":
        raise ConversionError(
            f"{path}: position_embedding_type {cfg['position_embedding_type']!r} is not supported "
            "(llama.cpp's codeshell architecture uses RoPE)"
        )

    def need(key: str) -> int:
        v = cfg.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ConversionError(f"{path}: {key!r} missing or not a positive integer (got {v!r})")
        return v

    n_embd, n_head, n_layer = need("n_embd"), need("n_head"), need("n_layer")
    n_head_kv = need("num_query_groups") if cfg.get("group_query_attention") else n_head
    if n_embd % n_head or n_head % n_head_kv:
        raise ConversionError(f"{path}: n_embd {n_embd}, n_head {n_head}, num_query_groups {n_head_kv} do not divide")
    n_ff = cfg.get("n_inner") or 4 * n_embd
    linear = None
    scaling = cfg.get("rope_scaling")
    if isinstance(scaling, dict):
        kind = scaling.get("type") or scaling.get("rope_type")
        if kind != "linear":
            raise ConversionError(f"{path}: rope_scaling type {kind!r} is not supported (only 'linear')")
        linear = float(scaling.get("factor", 1.0))
    name = str(cfg.get("_name_or_path") or hf_dir.resolve().name).rstrip("/").rsplit("/", 1)[-1]
    return HParams(
        n_vocab=need("vocab_size"),
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_ff=int(n_ff),
        n_ctx=need("n_positions"),
        norm_eps=float(cfg.get("layer_norm_epsilon", 1e-5)),
        rope_base=float(cfg.get("rope_theta", 10000.0)),
        rope_linear_factor=linear,
        name=name,
    )


# ---------------------------------------------------------------------------- tokenizer

# CodeShell-Chat's turn format (its modeling_codeshell.build_chat_input), for checkpoints
# whose tokenizer_config.json carries no chat_template; lets OpenAI-style servers format chats.
CODESHELL_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '## human:' + message['content'] + '|<end>|' }}"
    "{% elif message['role'] == 'assistant' %}{{ '## assistant: ' + message['content'] + '|<end>|' }}"
    "{% else %}{{ message['content'] + '|<end>|' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '## assistant:' }}{% endif %}"
)


@dataclass
class Tokenizer:
    tokens: list[str]
    types: list[int]  # gguf.TokenType values
    merges: list[str]
    bos_id: int | None
    eos_id: int | None
    chat_template: str
    source: str  # file it came from, for messages


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConversionError(f"{path}: unreadable: {e}") from e


def read_tokenizer(hf_dir: Path, n_vocab: int) -> Tokenizer:
    """The BPE vocabulary padded to the model's ``n_vocab`` rows, with token types."""
    import gguf

    tok_cfg_path = hf_dir / "tokenizer_config.json"
    tok_cfg = _read_json(tok_cfg_path) if tok_cfg_path.is_file() else {}
    added: dict[int, tuple[str, bool]] = {}  # id -> (text, special)
    tj = hf_dir / "tokenizer.json"
    if tj.is_file():
        data = _read_json(tj)
        model = data.get("model") if isinstance(data, dict) else None
        if not isinstance(model, dict) or model.get("type") != "BPE":
            raise ConversionError(f"{tj}: not a BPE tokenizer (model.type {model and model.get('type')!r})")
        vocab = model.get("vocab") or {}
        merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
        for t in data.get("added_tokens") or []:
            added[int(t["id"])] = (t["content"], bool(t.get("special")))
        source = str(tj)
    elif (hf_dir / "vocab.json").is_file() and (hf_dir / "merges.txt").is_file():
        vocab = _read_json(hf_dir / "vocab.json")
        lines = (hf_dir / "merges.txt").read_text(encoding="utf-8").splitlines()
        merges = [ln for ln in lines if ln and not ln.startswith("#version")]
        for i, t in (tok_cfg.get("added_tokens_decoder") or {}).items():
            added[int(i)] = (t["content"], bool(t.get("special")))
        source = str(hf_dir / "vocab.json")
    else:
        raise ConversionError(f"{hf_dir}: no tokenizer (need tokenizer.json, or vocab.json + merges.txt)")

    by_id: dict[int, str] = {int(i): t for t, i in vocab.items()}
    for i, (text, _) in added.items():
        by_id[i] = text
    top = max(by_id, default=-1) + 1
    if top > n_vocab:
        raise ConversionError(f"{source}: token id {top - 1} does not fit the model's vocab_size {n_vocab} (config.json)")
    tokens, types = [], []
    for i in range(n_vocab):
        if i not in by_id:
            # Embedding rows past the tokenizer (70144 rows for 70020 tokens in CodeShell-7B).
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if added[i][1] else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)

    ids = {t: i for i, t in enumerate(tokens)}

    def special_id(key: str) -> int | None:
        v = tok_cfg.get(key)
        if isinstance(v, dict):
            v = v.get("content")
        return ids.get(v) if isinstance(v, str) else None

    cfg = _read_json(hf_dir / "config.json")
    bos = cfg.get("bos_token_id", special_id("bos_token"))
    eos = cfg.get("eos_token_id", special_id("eos_token"))
    if eos is None:
        eos = ids.get("<|endoftext|>")
    if bos is None:
        bos = eos
    template = tok_cfg.get("chat_template")
    return Tokenizer(
        tokens=tokens,
        types=[int(t) for t in types],
        merges=merges,
        bos_id=bos,
        eos_id=eos,
        chat_template=template if isinstance(template, str) and template else CODESHELL_CHAT_TEMPLATE,
        source=source,
    )


# ---------------------------------------------------------------------------- tensors

_NP_DTYPES = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # read as raw bits, widened to f32 in _to_f32
    "F64": np.dtype("<f8"),
}


def _to_f32(raw: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "BF16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    return raw.astype(np.float32, copy=False)


@dataclass
class LazyTensor:
    """One checkpoint tensor: shape and dtype now, rows read from disk on demand."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # F32 | F16 | BF16 | F64
    file: Path
    _read: Callable[[int, int], np.ndarray] = field(repr=False)  # (first byte, n elements) -> raw array

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of the first axis (the whole tensor for 0-d/1-d), as float32."""
        inner = int(np.prod(self.shape[1:], dtype=np.int64)) if len(self.shape) > 1 else 1
        if len(self.shape) <= 1:
            start, stop, inner = 0, 1, int(np.prod(self.shape, dtype=np.int64))
        itemsize = _NP_DTYPES[self.dtype].itemsize
        raw = self._read(start * inner * itemsize, (stop - start) * inner)
        out = _to_f32(raw, self.dtype)
        return out.reshape(self.shape if len(self.shape) <= 1 else (stop - start, *self.shape[1:]))


def _read_range(path: Path, offset: int, dtype: np.dtype, count: int) -> np.ndarray:
    out = np.empty(count, dtype=dtype)
    with open(path, "rb") as f:
        f.seek(offset)
        n = f.readinto(memoryview(out).cast("B"))
    if n != out.nbytes:
        raise ConversionError(f"{path}: truncated (wanted {out.nbytes} bytes at offset {offset}, got {n})")
    return out


def _safetensors(path: Path) -> Iterator[LazyTensor]:
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise ValueError("file shorter than its header")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise ValueError(f"header length {n} exceeds the file")
            header = json.loads(f.read(n))
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise ConversionError(f"{path}: not a readable safetensors file: {e}") from e
    base = 8 + n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info.get("dtype")
        if dtype not in _NP_DTYPES:
            raise ConversionError(f"{path}: tensor {name} has dtype {dtype}, expected one of {sorted(_NP_DTYPES)}")
        shape = tuple(int(d) for d in info["shape"])
        begin, end = (int(x) for x in info["data_offsets"])
        np_dtype = _NP_DTYPES[dtype]
        if end - begin != int(np.prod(shape, dtype=np.int64)) * np_dtype.itemsize or base + end > size:
            raise ConversionError(f"{path}: tensor {name} data range [{begin}, {end}) does not match its shape {shape}")

        def read(off: int, count: int, _b: int = base + begin, _d: np.dtype = np_dtype) -> np.ndarray:
            return _read_range(path, _b + off, _d, count)

        yield LazyTensor(name, shape, dtype, path, read)


# PyTorch's zip checkpoint: data.pkl names storages by key; their bytes are the
# uncompressed members <archive>/data/<key>. A restricted unpickler maps the few
# globals a state dict uses to plain records, so no code from the file ever runs.
_TORCH_STORAGES = {"FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16", "DoubleStorage": "F64"}


@dataclass
class _Storage:
    key: str
    dtype: str


@dataclass
class _TensorRecord:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple, stride: tuple, *_: Any) -> _TensorRecord:
    return _TensorRecord(storage, int(offset), tuple(size), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return lambda data, *_: data
        if module == "torch" and name in _TORCH_STORAGES:
            return _TORCH_STORAGES[name]
        if module == "torch" and name == "Size":
            return tuple
        raise pickle.UnpicklingError(f"unsupported object {module}.{name} in a weights file")

    def persistent_load(self, pid: Any) -> _Storage:
        # ('storage', storage_type, key, location, numel)
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        kind = pid[1]
        if kind not in _TORCH_STORAGES.values():
            raise pickle.UnpicklingError(f"unsupported storage type {kind!r}")
        return _Storage(str(pid[2]), kind)


def _torch_bin(path: Path) -> Iterator[LazyTensor]:
    if not zipfile.is_zipfile(path):
        yield from _torch_bin_legacy(path)
        return
    try:
        with zipfile.ZipFile(path) as zf:
            pkl = next((n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"), None)
            if pkl is None:
                raise ValueError("no data.pkl inside")
            prefix = pkl[: -len("data.pkl")]
            state = _StateDictUnpickler(zf.open(pkl)).load()
            infos = {i.filename: i for i in zf.infolist()}
    except (OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError) as e:
        raise ConversionError(f"{path}: not a readable PyTorch weights file: {e}") from e
    if not isinstance(state, dict):
        raise ConversionError(f"{path}: holds a {type(state).__name__}, not a state dict")
    for name, rec in state.items():
        if not isinstance(rec, _TensorRecord):
            raise ConversionError(f"{path}: entry {name} is not a tensor")
        contiguous = tuple(int(np.prod(rec.shape[i + 1 :], dtype=np.int64)) for i in range(len(rec.shape)))
        if any(s != c for s, c, d in zip(rec.stride, contiguous, rec.shape) if d > 1):
            raise ConversionError(f"{path}: tensor {name} is not contiguous (stride {rec.stride}); re-save it with .contiguous()")
        member = infos.get(f"{prefix}data/{rec.storage.key}")
        if member is None or member.compress_type != zipfile.ZIP_STORED:
            raise ConversionError(f"{path}: storage of tensor {name} missing or compressed")
        np_dtype = _NP_DTYPES[rec.storage.dtype]
        start = _member_data_offset(path, member) + rec.offset * np_dtype.itemsize

        def read(off: int, count: int, _s: int = start, _d: np.dtype = np_dtype) -> np.ndarray:
            return _read_range(path, _s + off, _d, count)

        yield LazyTensor(name, rec.shape, rec.storage.dtype, path, read)


def _member_data_offset(path: Path, member: zipfile.ZipInfo) -> int:
    """Where a stored zip member's bytes start, so they can be read with a plain seek."""
    with open(path, "rb") as f:
        f.seek(member.header_offset)
        local = f.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise ConversionError(f"{path}: corrupt zip entry {member.filename}")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    return member.header_offset + 30 + name_len + extra_len


def _torch_bin_legacy(path: Path) -> Iterator[LazyTensor]:
    """Pre-1.6 (non-zip) .bin: only torch can read it, and only whole."""
    try:
        import torch
    except ImportError as e:
        raise ConversionError(
            f"{path}: legacy PyTorch format; reading it needs torch (pip install 'codeshell-lsp[torch]')"
        ) from e
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a bad file
        raise ConversionError(f"{path}: not a readable PyTorch weights file: {e}") from e
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "F32", torch.float64: "F64"}
    for name, t in state.items():
        if t.dtype not in names:
            raise ConversionError(f"{path}: tensor {name} has dtype {t.dtype}")
        arr = t.float().numpy() if t.dtype == torch.bfloat16 else t.contiguous().numpy()
        flat = arr.reshape(-1)

        def read(off: int, count: int, _f: np.ndarray = flat) -> np.ndarray:
            start = off // _f.itemsize
            return _f[start : start + count]

        yield LazyTensor(name, tuple(t.shape), names[t.dtype], path, read)


def weight_files(hf_dir: Path) -> tuple[str, list[Path]]:
    """Which weights to read: safetensors first, then PyTorch .bin; sharded via their index."""
    for kind, single, index in (
        ("safetensors", "model.safetensors", "model.safetensors.index.json"),
        ("bin", "pytorch_model.bin", "pytorch_model.bin.index.json"),
    ):
        idx = hf_dir / index
        if idx.is_file():
            data = _read_json(idx)
            weight_map = data.get("weight_map") if isinstance(data, dict) else None
            if not isinstance(weight_map, dict) or not weight_map:
                raise ConversionError(f"{idx}: no weight_map")
            files = sorted(set(weight_map.values()))
            missing = [f for f in files if not (hf_dir / f).is_file()]
            if missing:
                raise ConversionError(f"{idx}: shard {missing[0]} is missing from {hf_dir}")
            return kind, [hf_dir / f for f in files]
        if (hf_dir / single).is_file():
            return kind, [hf_dir / single]
    loose = sorted(hf_dir.glob("*.safetensors")) or sorted(hf_dir.glob("pytorch_model*.bin"))
    if loose:
        return ("safetensors" if loose[0].suffix == ".safetensors" else "bin"), loose
    raise ConversionError(f"{hf_dir}: no weights (model.safetensors, pytorch_model.bin, or their sharded index)")


def read_tensors(hf_dir: Path) -> tuple[str, dict[str, LazyTensor]]:
    kind, files = weight_files(hf_dir)
    reader = _safetensors if kind == "safetensors" else _torch_bin
    tensors: dict[str, LazyTensor] = {}
    for path in files:
        for t in reader(path):
            if t.name in tensors:
                raise ConversionError(f"{path}: tensor {t.name} also in {tensors[t.name].file.name}")
            tensors[t.name] = t
    return kind, tensors
