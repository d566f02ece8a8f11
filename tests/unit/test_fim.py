"""FIM templates: exact token layouts per family and detection from vocabularies."""

from __future__ import annotations

import pytest

from codeshell_lsp import fim
from codeshell_lsp.errors import TemplateError
from codeshell_lsp.prompt import Span, assemble


def tokenize(text: str) -> list[int]:
    """A stand-in tokenizer: one id per character (ids < 1000)."""
    return [ord(c) for c in text]


VOCABS = {
    "codeshell": {"<|endoftext|>": 70000, "<fim_prefix>": 70001, "<fim_middle>": 70002, "<fim_suffix>": 70003, "<fim_pad>": 70004},
    "codellama": {"<s>": 1, "</s>": 2, "▁<PRE>": 32007, "▁<SUF>": 32008, "▁<MID>": 32009, "▁<EOT>": 32010},
    "deepseek": {"<｜begin▁of▁sentence｜>": 32013, "<｜fim▁hole｜>": 32015, "<｜fim▁begin｜>": 32016, "<｜fim▁end｜>": 32017, "<|EOT|>": 32014},
    "qwen": {"<|endoftext|>": 151643, "<|fim_prefix|>": 151659, "<|fim_middle|>": 151660, "<|fim_suffix|>": 151661, "<|fim_pad|>": 151662, "<|file_sep|>": 151664},
    "codestral": {"<s>": 1, "</s>": 2, "[PREFIX]": 12, "[SUFFIX]": 13},
    "plain": {"<s>": 1, "</s>": 2, "hello": 3},
}
BOS = {"codeshell": 70000, "codellama": 1, "deepseek": 32013, "qwen": None, "codestral": 1, "plain": 1}


@pytest.mark.parametrize(
    "family, expected, prefix_span, suffix_span",
    [
        ("codeshell", [70001, ord("a"), ord("a"), 70003, ord("b"), 70002], Span(1, 3), Span(3, 5)),
        ("codellama", [1, 32007, ord("a"), ord("a"), 32008, ord("b"), 32009], Span(2, 4), Span(4, 6)),
        ("deepseek", [32013, 32016, ord("a"), ord("a"), 32015, ord("b"), 32017], Span(2, 4), Span(4, 6)),
        ("qwen", [151659, ord("a"), ord("a"), 151661, ord("b"), 151660], Span(1, 3), Span(3, 5)),
        ("codestral", [1, 13, ord("b"), 12, ord("a"), ord("a")], Span(4, 6), None),
    ],
)
def test_exact_token_sequence_and_layout_per_family(family, expected, prefix_span, suffix_span):
    template, _ = fim.bind(family, VOCABS[family], BOS[family])
    tokens, layout = assemble(template, tokenize("aa"), tokenize("b"))
    assert list(tokens) == expected
    assert (layout.prefix, layout.suffix) == (prefix_span, suffix_span)
    assert list(tokens[layout.prefix.start : layout.prefix.end]) == tokenize("aa")


def test_prefix_only_uses_bos_and_prefix_only():
    template, _ = fim.bind("prefix-only", VOCABS["plain"], 1)
    tokens, layout = assemble(template, tokenize("ab"), tokenize("cd"))
    assert list(tokens) == [1, ord("a"), ord("b")]
    assert (layout.prefix, layout.suffix) == (Span(1, 3), None)


@pytest.mark.parametrize(
    "name, family",
    [("Qwen2.5-Coder-1.5B", "qwen"), ("deepseek-coder-1.3b-base", "deepseek"), ("CodeLlama-7b", "codellama"),
     ("santacoder", "starcoder"), ("codeshell-7b", "codeshell"), ("gpt-4o", None)],
)
def test_served_model_name_tells_the_family(name, family):
    found = fim.family_from_name(name)
    assert (found.name if found else None) == family


def test_starcoder_is_codeshell_layout():
    a, _ = fim.bind("starcoder", VOCABS["codeshell"], 70000)
    b, _ = fim.bind("codeshell", VOCABS["codeshell"], 70000)
    assert a.assemble([5], [6]) == b.assemble([5], [6])


@pytest.mark.parametrize("family", ["codeshell", "codellama", "deepseek", "qwen", "codestral"])
def test_auto_detects_each_family(family):
    name, why = fim.detect_family(VOCABS[family], arch="codeshell" if family == "codeshell" else "llama")
    assert name == family
    assert family in why


def test_fim_tokens_on_other_arch_report_starcoder():
    assert fim.detect_family(VOCABS["codeshell"], arch="starcoder2")[0] == "starcoder"


def test_no_fim_tokens_fall_back_to_prefix_only_and_say_so():
    template, why = fim.bind("auto", VOCABS["plain"], 1)
    assert template.name == "prefix-only"
    assert "no fill-in-the-middle tokens" in why


def test_explicit_template_missing_tokens_is_a_clear_error():
    with pytest.raises(TemplateError, match="no qwen FIM tokens.*codeshell"):
        fim.bind("qwen", VOCABS["codeshell"], 70000, arch="codeshell")


def test_unknown_template_name():
    with pytest.raises(TemplateError, match="unknown FIM template"):
        fim.bind("gpt", VOCABS["codeshell"], 70000)


def test_stop_ids_include_fim_markers_and_eog():
    template, _ = fim.bind("codeshell", VOCABS["codeshell"], 70000, eog_ids=[70000])
    assert {70000, 70001, 70002, 70003, 70004} <= template.stop_ids
