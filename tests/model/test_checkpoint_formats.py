"""Every supported checkpoint layout converts to the same GGUF tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codeshell_lsp.pipeline.convert import convert

from .hf_codeshell import write_checkpoint


def gguf_tensors(path: Path) -> dict[str, np.ndarray]:
    import gguf

    return {t.name: np.array(t.data) for t in gguf.GGUFReader(path).tensors}


@pytest.fixture(scope="module")
def reference_tensors(converted) -> dict[str, np.ndarray]:
    return gguf_tensors(converted["f32"])


def assert_same_tensors(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


@pytest.mark.parametrize(
    "fmt,shards",
    [("safetensors", 3), ("bin", 1), ("bin", 2)],
    ids=["safetensors-sharded", "bin", "bin-sharded"],
)
def test_layout_converts_to_identical_f32_tensors(tmp_path, fmt, shards, reference_tensors):
    if fmt == "bin":
        pytest.importorskip("torch")
    ckpt = tmp_path / "ckpt"
    write_checkpoint(ckpt, fmt=fmt, shards=shards)
    summary = convert(ckpt, tmp_path / "out.gguf", "f32")
    assert summary.source_kind == fmt
    assert_same_tensors(gguf_tensors(summary.out), reference_tensors)


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_bf16_checkpoint_widens_exactly_to_f32(tmp_path, fmt):
    pytest.importorskip("torch")
    ckpt = tmp_path / "ckpt"
    stored = write_checkpoint(ckpt, fmt=fmt, dtype="bf16")
    tensors = gguf_tensors(convert(ckpt, tmp_path / "out.gguf", "f32").out)
    np.testing.assert_array_equal(tensors["blk.1.attn_qkv.weight"], stored["transformer.h.1.attn.c_attn.weight"])
    np.testing.assert_array_equal(tensors["token_embd.weight"], stored["transformer.wte.weight"])


def test_f16_checkpoint_converts(tmp_path):
    ckpt = tmp_path / "ckpt"
    stored = write_checkpoint(ckpt, dtype="f16")
    tensors = gguf_tensors(convert(ckpt, tmp_path / "out.gguf", "f16").out)
    np.testing.assert_array_equal(
        tensors["blk.0.ffn_up.weight"].astype(np.float32), stored["transformer.h.0.mlp.c_fc.weight"]
    )


def test_legacy_bin_format_is_read_through_torch(tmp_path, reference_tensors, hf_ckpt):
    torch = pytest.importorskip("torch")
    ckpt = tmp_path / "ckpt"
    write_checkpoint(ckpt, fmt="bin")
    sd = {k: torch.from_numpy(v) for k, v in hf_ckpt.weights.items()}
    torch.save(sd, ckpt / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    assert_same_tensors(gguf_tensors(convert(ckpt, tmp_path / "out.gguf", "f32").out), reference_tensors)


def test_tied_embeddings_become_output_weight(tmp_path):
    ckpt = tmp_path / "ckpt"
    stored = write_checkpoint(ckpt, tied=True)
    assert "lm_head.weight" not in stored
    tensors = gguf_tensors(convert(ckpt, tmp_path / "out.gguf", "f32").out)
    np.testing.assert_array_equal(tensors["output.weight"], stored["transformer.wte.weight"])


def test_vocab_json_and_merges_txt_tokenizer(tmp_path, reference_tensors, converted):
    import json

    import gguf

    ckpt = tmp_path / "ckpt"
    write_checkpoint(ckpt)
    tj = json.loads((ckpt / "tokenizer.json").read_text())
    (ckpt / "vocab.json").write_text(json.dumps(tj["model"]["vocab"]))
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    (ckpt / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    cfg = json.loads((ckpt / "tokenizer_config.json").read_text())
    cfg["added_tokens_decoder"] = {str(t["id"]): {"content": t["content"], "special": t["special"]} for t in tj["added_tokens"]}
    (ckpt / "tokenizer_config.json").write_text(json.dumps(cfg))
    (ckpt / "tokenizer.json").unlink()
    out = convert(ckpt, tmp_path / "out.gguf", "f32").out

    def vocab(path):
        r = gguf.GGUFReader(path)
        return r.get_field("tokenizer.ggml.tokens").contents(), r.get_field("tokenizer.ggml.token_type").contents()

    assert vocab(out) == vocab(converted["f32"])


def test_metadata_is_what_llama_cpp_needs(converted, hf_ckpt):
    import gguf

    r = gguf.GGUFReader(converted["f16"])
    f = {k: r.get_field(k).contents() for k in r.fields if not k.startswith("tokenizer.ggml.t") and k != "tokenizer.ggml.merges"}
    cfg = hf_ckpt.config
    assert f["general.architecture"] == "codeshell"
    assert f["codeshell.block_count"] == cfg["n_layer"]
    assert f["codeshell.embedding_length"] == cfg["n_embd"]
    assert f["codeshell.feed_forward_length"] == cfg["n_inner"]
    assert f["codeshell.attention.head_count"] == cfg["n_head"]
    assert f["codeshell.attention.head_count_kv"] == cfg["num_query_groups"]
    assert f["codeshell.context_length"] == cfg["n_positions"]
    assert f["tokenizer.ggml.model"] == "gpt2" and f["tokenizer.ggml.pre"] == "codeshell"
    assert f["tokenizer.ggml.bos_token_id"] == f["tokenizer.ggml.eos_token_id"] == cfg["eos_token_id"]
    assert f["tokenizer.ggml.add_bos_token"] is False
    assert "## human:" in f["tokenizer.chat_template"]
    types = r.get_field("tokenizer.ggml.token_type").contents()
    tokens = r.get_field("tokenizer.ggml.tokens").contents()
    assert len(tokens) == cfg["vocab_size"]
    assert types[tokens.index("<fim_prefix>")] == gguf.TokenType.CONTROL
    assert types[-1] == gguf.TokenType.UNUSED  # padding rows past the tokenizer
