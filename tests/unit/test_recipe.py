"""The default model's recipe (models/recipe): its pure parts, and a smoke run of every
step on a tiny corpus, ending in a GGUF that llama.cpp computes exactly as PyTorch does."""

from __future__ import annotations

import importlib
import json
import random
import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parents[2] / "models" / "recipe"
_MODULES = ("common", "build_corpus", "train_tokenizer", "data", "model", "train", "export", "run")


@pytest.fixture(scope="module")
def recipe():
    """The recipe's scripts as modules; their plain names leave sys.modules afterwards."""
    sys.path.insert(0, str(RECIPE))
    try:
        yield {name: importlib.import_module(name) for name in ("common", "build_corpus", "data")}
    finally:
        sys.path.remove(str(RECIPE))
        for name in _MODULES:
            sys.modules.pop(name, None)


class FakeIds:
    eot, fim_prefix, fim_middle, fim_suffix = 100, 101, 102, 103


def test_psm_layout_is_codeshell_fim_format(recipe):
    toks = recipe["data"].fim_tokens([1, 2], [5], [3, 4], FakeIds, spm=False, budget=100)
    assert toks == [101, 1, 2, 103, 3, 4, 102, 5, 100]


def test_spm_layout_puts_suffix_first_then_prefix_and_middle(recipe):
    toks = recipe["data"].fim_tokens([1, 2], [5], [3, 4], FakeIds, spm=True, budget=100)
    assert toks == [101, 103, 3, 4, 102, 1, 2, 5, 100]


def test_fim_over_budget_cuts_prefix_left_and_suffix_right(recipe):
    toks = recipe["data"].fim_tokens([1, 2, 3, 4], [9], [5, 6, 7, 8], FakeIds, spm=False, budget=9)
    assert toks == [101, 3, 4, 103, 5, 6, 102, 9, 100]


def test_line_fim_splits_rejoin_to_the_text(recipe):
    text = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    rng = random.Random(0)
    for _ in range(200):
        p, m, s = recipe["data"].split_fim(text, rng, line_rate=0.5, max_lines=3)
        assert p + m + s == text


def test_sampler_sequences_have_requested_length_and_fim_tokens(recipe):
    data = recipe["data"]
    docs = ["def f%d(x):\n    return x + %d\n" % (i, i) * 5 for i in range(20)]
    sampler = data.SequenceSampler(docs, lambda t: [ord(c) % 90 for c in t], FakeIds, {
        "fim_rate": 1.0, "fim_spm_rate": 0.5, "fim_line_rate": 0.5, "fim_max_lines": 2,
    }, seed=0, chars_per_token=1.0)
    seqs = [sampler.sequence(64) for _ in range(10)]
    assert all(len(s) == 65 for s in seqs)
    assert any(FakeIds.fim_middle in s for s in seqs)


@pytest.mark.parametrize(
    "expr,ok",
    [
        ("mit", True),
        ("apache-2.0 and apache-2.0 with llvm-exception and bsd-3-clause", True),
        ("apache-2.0 or gpl-2.0", True),
        ("mpl-2.0 and mit", False),
        ("gpl-3.0", False),
        (None, False),
    ],
)
def test_only_permissive_licences_are_accepted(recipe, expr, ok):
    allowed = {"mit", "apache-2.0", "bsd-3-clause"}
    assert recipe["build_corpus"].license_allowed(expr, allowed) is ok


def test_config_lists_codeshell_specials_in_codeshell_order(recipe):
    from codeshell_lsp.synthetic import CODESHELL_SPECIALS

    assert recipe["common"].CODESHELL_SPECIALS == CODESHELL_SPECIALS
    assert CODESHELL_SPECIALS[:5] == ("<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>")
    assert CODESHELL_SPECIALS[-1] == "<|end|>" and len(CODESHELL_SPECIALS) == 20


def _tiny_config(recipe, tmp_path: Path) -> dict:
    """The real config.toml with tiny sizes and a corpus of a few stdlib files."""
    src = tmp_path / "src"
    src.mkdir()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in ("bisect.py", "heapq.py", "textwrap.py", "colorsys.py", "keyword.py", "this.py"):
        shutil.copyfile(stdlib / name, src / name)
    (src / "copy_of_bisect.py").write_bytes((src / "bisect.py").read_bytes())  # an exact duplicate
    (src / "empty.py").write_text("# nothing\n")  # near-empty
    cfg = recipe["common"].load_config()
    cfg["work_dir"] = str(tmp_path / "work")
    cfg["corpus"].update(paths=[{"name": "stdlib-sample", "path": str(src), "license": "psf-2.0"}], valid_fraction=0.2)
    cfg["tokenizer"].update(vocab_size=400, min_frequency=1)
    cfg["model"].update(n_embd=32, n_layer=2, n_head=4, num_query_groups=2, n_positions=64)
    cfg["train"].update(seq_len=64, batch_size=2, max_steps=3, warmup_steps=1, eval_every=2, eval_batches=1, threads=1)
    return cfg


def test_recipe_runs_end_to_end_on_a_tiny_corpus(recipe, tmp_path):
    """Corpus, tokenizer, training (resumed), export, convert, quantize: a loadable
    codeshell GGUF whose logits match the PyTorch model's."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("tokenizers")
    pytest.importorskip("safetensors")
    import numpy as np

    run = importlib.import_module("run")
    cfg = _tiny_config(recipe, tmp_path)

    run.run(cfg, last="train", max_steps=2)
    manifest = json.loads((tmp_path / "work/corpus/manifest.json").read_text())
    assert manifest["dropped"] == {"exact duplicate": 1, "near-empty": 1}
    assert manifest["sources"][0]["license"] == "psf-2.0"
    assert json.loads((tmp_path / "work/train/summary.json").read_text())["step"] == 2

    (tmp_path / "work/train/summary.json").unlink()  # as if interrupted after its last checkpoint
    gguf_path = run.run(cfg)  # resumes training to max_steps, then exports and converts
    summary = json.loads((tmp_path / "work/train/summary.json").read_text())
    assert summary["step"] == 3
    assert gguf_path.name == "codeshell-mini.q8_0.gguf" and gguf_path.stat().st_size > 0
    hf = json.loads((tmp_path / "work/hf/config.json").read_text())
    assert hf["model_type"] == "codeshell" and hf["num_query_groups"] == 2 and hf["n_inner"] == 4 * 32

    from codeshell_lsp.model_file import inspect

    assert inspect(gguf_path).arch == "codeshell"

    import llama_cpp
    from tokenizers import Tokenizer

    model_mod = importlib.import_module("model")
    ck = torch.load(tmp_path / "work/train/best.pt", weights_only=False)
    net = model_mod.CodeShellForCausalLM(model_mod.CodeShellConfig(**ck["model_config"]))
    net.load_state_dict(ck["model"])
    net.eval()
    tok = Tokenizer.from_file(str(tmp_path / "work/hf/tokenizer.json"))
    text = "<fim_prefix>def wrap(text, width=70):\n    return 12<fim_suffix>\n<fim_middle>"
    ids = tok.encode(text, add_special_tokens=False).ids
    llm = llama_cpp.Llama(str(tmp_path / "work/codeshell-mini.f16.gguf"), n_ctx=64, logits_all=True, verbose=False, n_threads=1)
    try:
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == ids
        llm.eval(ids)
        ours = np.array(llm.scores[: len(ids)])
    finally:
        llm.close()
    with torch.no_grad():
        ref = net(torch.tensor([ids]))[0].numpy()
    assert np.abs(ours - ref).max() < 0.02 * (ref.max() - ref.min())
    assert (ours.argmax(-1) == ref.argmax(-1)).all()
