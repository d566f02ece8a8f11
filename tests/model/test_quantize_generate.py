"""Quantize the converted model, then generate and chat with it."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from codeshell_lsp.cli import main
from codeshell_lsp.pipeline.generate import Sampling, Session, TextStream, chat, load

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def quantized(converted, tmp_path_factory) -> dict[str, Path]:
    from codeshell_lsp.pipeline.quantize import quantize

    out = tmp_path_factory.mktemp("quant")
    return {t: quantize(converted["f16"], out / f"tiny-{t}.gguf", t).out for t in ("Q4_0", "Q8_0")}


def test_quantize_cli_prints_sizes_and_ratio(capsys, converted, tmp_path):
    out = tmp_path / "q4.gguf"
    assert main(["quantize", str(converted["f16"]), str(out), "q4_0"]) == 0
    line = capsys.readouterr().out
    assert "Q4_0" in line and "ratio" in line and "->" in line
    f16, q4 = converted["f16"].stat().st_size, out.stat().st_size
    assert q4 < 0.45 * f16  # tiny model: f32 norms/biases weigh in; ~0.28 on CodeShell-7B's shape


@pytest.mark.parametrize("qtype", ["Q4_0", "Q8_0"])
def test_generate_runs_on_quantized_model(capsys, quantized, qtype):
    rc = main(["generate", "-m", str(quantized[qtype]), "-p", "def fibonacci(n):", "-n", "12", "--temp", "0", "--threads", "1"])
    assert rc == 0
    cap = capsys.readouterr()
    assert cap.out.startswith("def fibonacci(n):")
    for label in ("load time", "prompt eval time", "eval time", "tokens/s"):
        assert label in cap.err


def test_generate_is_repeatable_with_a_seed(capsys, quantized):
    argv = ["generate", "-m", str(quantized["Q8_0"]), "-p", "import", "-n", "16", "--temp", "1.0", "--seed", "7", "--threads", "1"]
    outs = []
    for _ in range(2):
        assert main(argv) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]


def test_chat_keeps_the_conversation_in_the_kv_cache(quantized):
    llm, _ = load(quantized["Q8_0"], 512, 1, 0)
    session = Session(llm, Sampling(temp=0))
    _, first = session.run(session.tokenize("## human:hello|<end>|## assistant:"), 8, lambda _: None)
    history = len(session.history)
    _, second = session.run(session.tokenize("|<end>|## human:and now?|<end>|## assistant:"), 8, lambda _: None)
    assert first.reused_tokens == 0
    # The whole first exchange is reused; only the new turn (and the last sampled token) is evaluated.
    assert second.reused_tokens >= history - 1
    assert second.prompt_tokens <= len(session.tokenize("|<end>|## human:and now?|<end>|## assistant:")) + 1
    session.reset()
    _, third = session.run(session.tokenize("## human:hello|<end>|## assistant:"), 8, lambda _: None)
    assert third.reused_tokens == 0


def test_chat_reads_turns_and_honours_reset_and_exit(quantized):
    out, err = io.StringIO(), io.StringIO()
    rc = chat(quantized["Q8_0"], n_predict=6, n_ctx=512, threads=1, seed=1,
              lines=["hello\n", "/reset\n", "again\n", "/exit\n", "never read\n"], out=out, err=err)
    assert rc == 0
    assert "conversation cleared" in err.getvalue()
    assert out.getvalue().count("\n") == 2  # two answers, each closed by a newline


def test_chat_cli_quits_on_end_of_input(quantized):
    proc = subprocess.run(
        [sys.executable, "-m", "codeshell_lsp", "chat", "-m", str(quantized["Q4_0"]), "-n", "4", "--plain", "--threads", "1"],
        input="def f(x):\n", capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "plain continuation" in proc.stderr


def test_text_stream_holds_back_stop_prefixes_and_split_utf8():
    s = TextStream(stops=["|<end>|"])
    emitted = s.feed("答".encode()[:2]) + s.feed("答".encode()[2:] + b"ok |<e") + s.feed(b"nd>| tail")
    assert emitted == "答ok " and s.stopped
    s = TextStream(stops=["|<end>|"])
    assert s.feed(b"a|<") == "a"
    assert s.feed(b"b") == "|<b"
