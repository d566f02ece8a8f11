"""`codeshell-lsp complete` and `info` as a user runs them, on the tiny model; every bad input."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.model

SOURCE = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codeshell_lsp", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CODESHELL_LSP_MODEL": "", **(env or {})},
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    p = tmp_path / "a.py"
    p.write_text(SOURCE)
    return p


def test_complete_json_fields_consistent(tiny_model, source):
    r = run("complete", f"{source}:2:12", "--model", str(tiny_model), "--json", "--threads", "1")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for key in ("text", "model", "template", "prompt_tokens", "cached_tokens", "generated_tokens", "timings_ms"):
        assert key in d
    assert set(d["timings_ms"]) >= {"prompt", "decode", "total"}
    assert d["template"] == "codeshell"
    assert d["prompt_tokens"] == d["cached_tokens"] + d["evaluated_tokens"]
    assert d["prompt_tokens"] > 10 and d["generated_tokens"] > 0


def test_plain_output_is_the_text(tiny_model, source):
    plain = run("complete", f"{source}:2:12", "--model", str(tiny_model), "--threads", "1")
    js = run("complete", f"{source}:2:12", "--model", str(tiny_model), "--json", "--threads", "1")
    assert plain.returncode == 0
    assert plain.stdout == json.loads(js.stdout)["text"] + "\n"


def test_model_from_environment(tiny_model, source):
    r = run("complete", f"{source}:2:12", "--json", "--threads", "1", env={"CODESHELL_LSP_MODEL": str(tiny_model)})
    assert r.returncode == 0, r.stderr


def test_empty_file_completes_at_1_1(tiny_model, tmp_path):
    empty = tmp_path / "empty.py"
    empty.write_text("")
    r = run("complete", f"{empty}:1:1", "--model", str(tiny_model), "--json", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["prompt_tokens"] == 3  # <fim_prefix><fim_suffix><fim_middle>


def test_info(tiny_model):
    r = run("info", str(tiny_model), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["arch"] == "codeshell" and d["fim_template"] == "codeshell"
    assert d["n_params"] > 100_000 and d["quant"] == "F32" and d["context_length"] == 8192
    assert d["file_size"] == tiny_model.stat().st_size


def _assert_one_line_error(r: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert r.returncode == code, (r.returncode, r.stderr)
    assert r.stdout == ""
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 or code == 2, r.stderr
    for n in needles:
        assert n in r.stderr, r.stderr


def _unknown_arch_gguf(path: Path) -> Path:
    import gguf

    w = gguf.GGUFWriter(str(path), "notanarch")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def bad_models(tmp_path: Path, tiny_model: Path) -> dict[str, tuple[Path, str]]:
    text = tmp_path / "notgguf.gguf"
    text.write_text("hello, I am not a model\n")
    truncated = tmp_path / "truncated.gguf"
    data = tiny_model.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    return {
        "missing": (tmp_path / "nope.gguf", "does not exist"),
        "directory": (tmp_path, "is a directory"),
        "not-gguf": (text, "not a GGUF file"),
        "truncated": (truncated, "truncated"),
        "unknown-arch": (_unknown_arch_gguf(tmp_path / "arch.gguf"), "notanarch"),
    }


@pytest.mark.parametrize("case", ["missing", "directory", "not-gguf", "truncated", "unknown-arch"])
def test_bad_model_is_one_clear_line(tiny_model, source, tmp_path, case):
    path, needle = bad_models(tmp_path, tiny_model)[case]
    r = run("complete", f"{source}:1:1", "--model", str(path))
    _assert_one_line_error(r, 1, str(path), needle)


@pytest.mark.parametrize("case", ["missing", "not-gguf", "truncated"])
def test_info_bad_model(tiny_model, tmp_path, case):
    path, needle = bad_models(tmp_path, tiny_model)[case]
    _assert_one_line_error(run("info", str(path)), 1, needle)


def test_source_missing(tiny_model, tmp_path):
    _assert_one_line_error(run("complete", f"{tmp_path}/nope.py:1:1", "--model", str(tiny_model)), 1, "does not exist")


def test_source_binary(tiny_model, tmp_path):
    b = tmp_path / "blob.bin"
    b.write_bytes(b"\x00\x01\x02garbage\xff")
    _assert_one_line_error(run("complete", f"{b}:1:1", "--model", str(tiny_model)), 1, "not a text file")


@pytest.mark.parametrize(
    "loc, needle",
    [(":9:1", "LINE 9 is out of range"), (":2:99", "COL 99 is out of range"), (":x:1", "positive numbers"),
     (":0:1", "1-based"), (":1", "FILE:LINE:COL")],
)
def test_bad_location_is_usage_error(tiny_model, source, loc, needle):
    _assert_one_line_error(run("complete", f"{source}{loc}", "--model", str(tiny_model)), 2, needle)


def test_log_file_is_created_private(tiny_model, source, tmp_path):
    log = tmp_path / "codeshell.log"
    old = os.umask(0o022)
    try:
        r = run("complete", f"{source}:2:12", "--model", str(tiny_model), "--threads", "1", "--log-file", str(log))
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o600 and log.read_text()


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_log_file_that_cannot_be_written_is_one_clear_line(tiny_model, source, tmp_path, where):
    log = tmp_path / "no" / "such" / "x.log" if where == "missing folder" else tmp_path
    r = run("info", str(tiny_model), "--log-file", str(log))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and f"cannot write the log file {log}" in r.stderr
