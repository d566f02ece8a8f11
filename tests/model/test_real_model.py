"""Gemma-3-270M (the `gemma` extra): a real trained model through the engine and the
postprocessing chain. Skipped with the install hint when the model is not installed;
a failure instead when CODESHELL_REQUIRE_MODELS=1 (CI): the `gemma` fixture, tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from codeshell_lsp.model_file import inspect

pytestmark = [pytest.mark.model, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def engine(gemma):
    from codeshell_lsp.engine import Engine
    from codeshell_lsp.options import Settings

    s = Settings()
    s.model.threads = 2
    eng = Engine.open(str(gemma), s)
    yield eng
    eng.close()


def test_assembled_file_is_gemma3_without_fim_tokens(gemma):
    info = inspect(gemma)
    assert info.arch == "gemma3"
    assert info.quant == "Q4_K_M"  # what the file says, though its embedding (most elements) is Q8_0
    assert info.fim_template == "prefix-only"
    assert gemma.stat().st_size == 253_113_024


def test_fib_example_completes_to_code_not_junk(engine):
    from codeshell_lsp.postprocess import junk

    source = (ROOT / "examples" / "fib.py").read_text()
    cut = source.index("    return \n") + len("    return ")
    text = engine.complete_once(source[:cut], source[cut:], language="python").text
    assert not junk(text)
    if text:  # a real model may also have nothing to say; what it says must be code
        compile(source[:cut] + text + source[cut:], "fib.py", "exec")


def test_a_plain_function_body_is_completed(engine):
    prefix = "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n    return "
    text = engine.complete_once(prefix, "\n", language="python").text
    assert "a" in text and "b" in text and not text.startswith(" ")


def test_other_files_context_moving_far_back_in_a_sliding_window_cache_still_evaluates(gemma):
    """On Gemma 3 (sliding-window layers) extra-context chunks are not moved in the KV
    cache (llama_decode refused a prompt after such a move on the cross-file set): a set
    of chunks that shrinks after a long prompt is evaluated, and answered."""
    from codeshell_lsp.engine import Engine
    from codeshell_lsp.extra_context import Chunk, Extra
    from codeshell_lsp.options import Settings

    chunks = [Chunk(f"m{i}.py", "python", f"def helper_{i}(x):\n    return x * {i} + {i * i}\n\nLIMIT_{i} = {i * 7}\n",
                    (f"m{i}.py", -1), "outline") for i in range(4)]
    s, _ = Settings.from_dict({"model": {"threads": 1}, "completion": {"maxTokens": 4},
                               "cache": {"completionCacheSize": 0, "persist": False}})
    long_file = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(120)) + "def g(y):\n    return "
    e = Engine.open(gemma, s)
    try:
        first = e.complete_once(long_file, "", extra=Extra(tuple(chunks), 1024, 8, "a.py", "python"))
        second = e.complete_once("import os\n\nx = ", "", extra=Extra((chunks[3],), 1024, 8, "b.py", "python"))
    finally:
        e.close()
    assert first.status == second.status == "ok", (first.error, second.error)
    assert first.prompt_tokens > 1000  # the chunks lie over 512 tokens (its window) behind the newest
