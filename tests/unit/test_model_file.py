"""Model files are judged before llama.cpp sees them, without blocking and without
mapping the weights: FIFOs and devices refused unopened, truncation found from the
tensor table."""

from __future__ import annotations

import os
import threading
import time

import pytest

from codeshell_lsp.backends.factory import capped_threads
from codeshell_lsp.errors import ModelFormatError, ModelNotFoundError
from codeshell_lsp.model_file import check_file, embedded_model_path, read_layout
from codeshell_lsp.options import ModelSettings


def test_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    done = threading.Event()
    errors: list[Exception] = []

    def check() -> None:
        try:
            check_file(fifo)
        except Exception as e:  # the error is the point
            errors.append(e)
        done.set()

    threading.Thread(target=check, daemon=True).start()
    assert done.wait(5), "check_file blocked on a FIFO"
    assert isinstance(errors[0], ModelFormatError) and "named pipe (FIFO)" in str(errors[0])


def test_device_and_directory_and_missing_file():
    with pytest.raises(ModelFormatError, match="is a device"):
        check_file(__import__("pathlib").Path("/dev/zero"))
    with pytest.raises(ModelFormatError, match="directory"):
        check_file(embedded_model_path().parent)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        check_file(embedded_model_path().parent / "nope.gguf")


def test_layout_of_the_embedded_model_matches_its_size():
    layout = read_layout(embedded_model_path())
    assert layout.arch == "codeshell" and layout.quant == "Q8_0"
    assert layout.data_end == layout.file_size == embedded_model_path().stat().st_size


@pytest.mark.parametrize("keep", [0.999, 0.5, 0.2])
def test_file_truncated_inside_its_tensor_data_is_named_at_once(tmp_path, keep):
    data = embedded_model_path().read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: int(len(data) * keep)])
    t0 = time.perf_counter()
    with pytest.raises(ModelFormatError, match=r"is truncated: its tensors need \d+ bytes but the file has"):
        check_file(cut)
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize("keep", [5, 30, 5000])
def test_file_truncated_inside_its_metadata_is_named(tmp_path, keep):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(embedded_model_path().read_bytes()[:keep])
    with pytest.raises(ModelFormatError, match="truncated"):
        check_file(cut)


def test_corrupt_counts_are_refused_without_looping(tmp_path):
    data = bytearray(embedded_model_path().read_bytes()[:4096])
    data[8:16] = (2**62).to_bytes(8, "little")  # n_tensors
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="corrupt"):
        check_file(bad)


def test_threads_capped_at_the_logical_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert capped_threads(ModelSettings(threads=256)).threads == 4
    assert capped_threads(ModelSettings(threads=3)).threads == 3
    assert capped_threads(ModelSettings(threads=0)).threads == 0


def test_file_far_longer_than_its_tensors_is_refused_at_once(tmp_path):
    stretched = tmp_path / "stretched.gguf"
    stretched.write_bytes(embedded_model_path().read_bytes())
    os.truncate(stretched, 20 << 30)  # sparse: no disk used
    t0 = time.perf_counter()
    with pytest.raises(ModelFormatError, match=r"is damaged: its tensors end at \d+ bytes but the file has 21474836480"):
        check_file(stretched)
    assert time.perf_counter() - t0 < 2


def test_a_little_padding_after_the_tensors_is_accepted(tmp_path):
    padded = tmp_path / "padded.gguf"
    padded.write_bytes(embedded_model_path().read_bytes() + b"\0" * 4096)
    check_file(padded)
