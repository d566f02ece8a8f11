"""The always-on part of postprocessing: scope, stop strings, suffix overlap, whitespace
(checked with the filter chain off, so each rule is seen alone), and the junk definition."""

from __future__ import annotations

from codeshell_lsp.postprocess import Policy, junk, repetition_run


def off(prefix: str, suffix: str, text: str, multiline: str = "auto") -> str:
    return Policy(prefix, suffix, multiline=multiline, filters=False).finish(text).text  # type: ignore[arg-type]


def test_single_line_when_text_follows_cursor():
    assert off("x = foo(", ")", "a, b)\nprint(x)") == "a, b"


def test_block_ends_at_dedent():
    text = "total = 0\n    for x in xs:\n        total += x\n    return total\ndef other():\n    pass"
    assert off("    ", "", text) == "total = 0\n    for x in xs:\n        total += x\n    return total"


def test_block_opened_on_cursor_line_ends_back_at_its_level():
    policy = Policy("def f(x):", "", filters=False)
    assert policy.stop_at("\n    return x\n\ndef g():\n") == (len("\n    return x"), "scope")
    assert policy.finish("\n    return x\n\ndef g():\n").text == "\n    return x"


def test_never_policy_is_one_line_and_always_is_block():
    assert off("x", "", "1\n2", "never") == "1"
    assert off("x", ")", "1\n2", "always") == "1\n2"


def test_drops_repeated_closing_text():
    assert off("print(", ")\n", "x)") == "x"


def test_keeps_text_that_only_partly_overlaps_a_word():
    assert off("x = ", "abc", "a") == "a"


def test_drops_lines_repeating_the_suffix():
    assert off("    ", "\n    return x\n", "x = 1\n    return x", "always") == "x = 1"


def test_whitespace_only_is_nothing_and_trailing_space_trimmed():
    assert off("", "", "   \n  ") == ""
    assert off("", "", "x = 1   \ny = 2  ") == "x = 1\ny = 2"


def test_stop_strings_cut_at_the_first_and_stop_generation():
    policy = Policy("", "", stops=("<|end|>", "\n\n\n"), filters=False)
    assert policy.stop_at("x = 1<|end|>y") == (5, "stop")
    assert policy.finish("x = 1\n\n\ny = 2<|end|>").text == "x = 1"


def test_chain_off_never_stops_for_repetition():
    assert Policy("x = ", "", filters=False).stop_at("f(1, 1, 1, 1, 1, 1, 1") is None
    assert Policy("x = ", "").stop_at("f(1, 1, 1, 1, 1, 1, 1") == (0, "repetition")


def test_junk_is_a_repeated_short_unit_or_mostly_repeated_lines():
    assert junk("return f(1, 1, 1, 1, 1")
    assert junk("# the number of the number of the number of the number of")
    assert junk("x = 1\nx = 1\nx = 1")
    assert junk("a()\nb()\na()\nb()")
    assert not junk("grid = [0, 0, 0]")
    assert not junk("a = 1\nb = 2\na = 1")
    assert not junk("")


def test_repetition_run_points_at_the_start_and_waits_for_the_last_token():
    assert repetition_run("x = 1, 1, 1, 1") is None  # three repeats of "1 ," then "1"
    assert repetition_run("x = 1, 1, 1, 1,") == 4
    assert repetition_run("ab ab ab a", final=False) is None  # "a" may still become "ab"
