"""Every bad input is one clear error line, exit 1, and no OUT (or OUT.part) left behind."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from codeshell_lsp.cli import main

from .hf_codeshell import random_weights, write_checkpoint


@pytest.fixture
def ckpt(hf_ckpt, tmp_path) -> Path:
    path = tmp_path / "ckpt"
    shutil.copytree(hf_ckpt.path, path)
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    return rc, err[-1] if err else ""


def assert_no_output(out: Path) -> None:
    assert not out.exists()
    assert not out.with_name(out.name + ".part").exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(out.name)]


def convert_fails(capsys, ckpt: Path, out: Path, *words: str, outtype: str = "f16") -> str:
    rc, line = run_cli(capsys, "convert", str(ckpt), str(out), "--outtype", outtype, "--no-progress")
    assert rc == 1
    assert line.startswith("codeshell-lsp: error: ")
    for w in words:
        assert w in line, line
    assert_no_output(out)
    return line


def test_missing_config_json(capsys, ckpt, tmp_path):
    (ckpt / "config.json").unlink()
    convert_fails(capsys, ckpt, tmp_path / "o.gguf", "config.json", "missing")


def test_not_a_directory(capsys, tmp_path):
    convert_fails(capsys, tmp_path / "nowhere", tmp_path / "o.gguf", "nowhere", "not a directory")


def test_model_type_not_codeshell(capsys, ckpt, tmp_path):
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg.update(model_type="llama", architectures=["LlamaForCausalLM"])
    (ckpt / "config.json").write_text(json.dumps(cfg))
    convert_fails(capsys, ckpt, tmp_path / "o.gguf", "config.json", "'llama'", "not CodeShell")


def test_missing_tensor(capsys, hf_ckpt, tmp_path):
    w = dict(hf_ckpt.weights)
    del w["transformer.h.1.mlp.c_proj.bias"]
    ckpt = tmp_path / "ckpt"
    write_checkpoint(ckpt, weights=w)
    convert_fails(capsys, ckpt, tmp_path / "o.gguf", "missing tensor transformer.h.1.mlp.c_proj.bias")


def test_shape_mismatch(capsys, hf_ckpt, tmp_path):
    w = dict(hf_ckpt.weights)
    w["transformer.h.0.attn.c_attn.weight"] = w["transformer.h.0.attn.c_attn.weight"][:-16]
    ckpt = tmp_path / "ckpt"
    write_checkpoint(ckpt, weights=w)
    convert_fails(capsys, ckpt, tmp_path / "o.gguf", "model.safetensors", "transformer.h.0.attn.c_attn.weight", "shape")


def test_config_with_more_layers_than_weights(capsys, ckpt, tmp_path):
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["n_layer"] = 3
    (ckpt / "config.json").write_text(json.dumps(cfg))
    convert_fails(capsys, ckpt, tmp_path / "o.gguf", "missing tensor transformer.h.2.")


def test_unexpected_tensor(capsys, hf_ckpt, tmp_path):
    w = {**hf_ckpt.weights, "transformer.wpe.weight": np.zeros((4, 64), np.float32)}
    ckpt = tmp_path / "ckpt"
    write_checkpoint(ckpt, weights=w)
    convert_fails(capsys, ckpt, tmp_path / "o.gguf", "unexpected tensor transformer.wpe.weight")


def test_truncated_safetensors(capsys, ckpt, tmp_path):
    f = ckpt / "model.safetensors"
    f.write_bytes(f.read_bytes()[:-100])
    convert_fails(capsys, ckpt, tmp_path / "o.gguf", "model.safetensors")


def test_missing_shard(capsys, tmp_path):
    ckpt = tmp_path / "ckpt"
    write_checkpoint(ckpt, shards=2)
    (ckpt / "model-00002-of-00002.safetensors").unlink()
    convert_fails(capsys, ckpt, tmp_path / "o.gguf", "model-00002-of-00002.safetensors", "missing")


def test_no_weights(capsys, ckpt, tmp_path):
    (ckpt / "model.safetensors").unlink()
    convert_fails(capsys, ckpt, tmp_path / "o.gguf", "no weights")


def test_failure_while_writing_removes_the_part_file(capsys, hf_ckpt, tmp_path):
    w = dict(hf_ckpt.weights)
    # Last tensor written: the failure comes after most of OUT.part is on disk.
    w["transformer.h.1.mlp.c_proj.bias"] = np.full_like(w["transformer.h.1.mlp.c_proj.bias"], np.nan)
    ckpt = tmp_path / "ckpt"
    write_checkpoint(ckpt, weights=w)
    convert_fails(capsys, ckpt, tmp_path / "o.gguf", "NaN", "transformer.h.1.mlp.c_proj.bias")


def test_out_under_a_file_is_not_writable(capsys, ckpt, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc, line = run_cli(capsys, "convert", str(ckpt), str(blocker / "o.gguf"), "--no-progress")
    assert rc == 1 and "cannot write" in line and "o.gguf" in line
    assert blocker.read_text() == "x"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_out_in_read_only_directory(capsys, ckpt, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rc, line = run_cli(capsys, "convert", str(ckpt), str(ro / "o.gguf"), "--no-progress")
        assert rc == 1 and "not writable" in line
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_unknown_outtype_is_a_usage_error(capsys, ckpt, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["convert", str(ckpt), str(tmp_path / "o.gguf"), "--outtype", "q4_0"])
    assert e.value.code == 2
    assert_no_output(tmp_path / "o.gguf")


@pytest.mark.model
def test_unknown_quant_type(capsys, converted, tmp_path):
    out = tmp_path / "q.gguf"
    rc, line = run_cli(capsys, "quantize", str(converted["f16"]), str(out), "Q9_9")
    assert rc == 1 and "unknown quantization type 'Q9_9'" in line and "Q4_0" in line
    assert_no_output(out)


@pytest.mark.model
def test_quantize_refuses_quantized_input(capsys, converted, tmp_path):
    out = tmp_path / "q.gguf"
    rc, line = run_cli(capsys, "quantize", str(converted["q8_0"]), str(out), "Q4_0")
    assert rc == 1 and "already quantized" in line and "tiny-q8_0.gguf" in line
    assert_no_output(out)


@pytest.mark.model
@pytest.mark.parametrize("content", [b"", b"not a gguf at all", b"GGUF\x03\x00\x00\x00trunc"], ids=["empty", "garbage", "truncated"])
def test_quantize_bad_input_file(capsys, tmp_path, content):
    src, out = tmp_path / "in.gguf", tmp_path / "q.gguf"
    src.write_bytes(content)
    rc, line = run_cli(capsys, "quantize", str(src), str(out), "Q4_0")
    assert rc == 1 and "in.gguf" in line
    assert_no_output(out)


@pytest.mark.model
def test_quantize_out_not_writable(capsys, converted, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc, line = run_cli(capsys, "quantize", str(converted["f16"]), str(blocker / "q.gguf"), "Q4_0")
    assert rc == 1 and "cannot write" in line


def test_generate_missing_model(capsys, tmp_path):
    rc, line = run_cli(capsys, "generate", "-m", str(tmp_path / "none.gguf"), "-p", "x")
    assert rc == 1 and "none.gguf" in line


def test_random_weights_are_deterministic():
    from .hf_codeshell import config

    a, b = random_weights(config(100), seed=3), random_weights(config(100), seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.model
def test_generate_truncated_model(capsys, converted, tmp_path):
    bad = tmp_path / "cut.gguf"
    bad.write_bytes(converted["f16"].read_bytes()[:200])
    rc, line = run_cli(capsys, "generate", "-m", str(bad), "-p", "x")
    assert rc == 1 and "cut.gguf" in line
