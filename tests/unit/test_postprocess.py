"""Cleaning raw completions: scope, suffix overlap, whitespace."""

from __future__ import annotations

from codeshell_lsp.postprocess import Scope, clean, cut


def test_single_line_when_text_follows_cursor():
    scope = Scope.at("x = foo(", ")", "auto")
    assert scope.single_line
    assert clean("a, b)\nprint(x)", ")", scope) == "a, b"


def test_block_ends_at_dedent():
    scope = Scope.at("    ", "", "auto")
    text = "total = 0\n    for x in xs:\n        total += x\n    return total\ndef other():\n    pass"
    assert clean(text, "", scope) == "total = 0\n    for x in xs:\n        total += x\n    return total"


def test_block_opened_on_cursor_line_ends_back_at_its_level():
    scope = Scope.at("def f(x):", "", "auto")
    assert cut("\n    return x\n\ndef g():\n", scope) == ("\n    return x", True)


def test_never_policy_is_one_line_and_always_is_block():
    assert Scope.at("x", "", "never").single_line
    assert not Scope.at("x", ")", "always").single_line


def test_drops_repeated_closing_text():
    scope = Scope.at("print(", ")", "auto")
    assert clean("x)", ")\n", scope) == "x"


def test_keeps_text_that_only_partly_overlaps_a_word():
    scope = Scope.at("x = ", "abc", "auto")
    assert clean("a", "abc", scope) == "a"


def test_drops_lines_repeating_the_suffix():
    scope = Scope.at("    ", "", "always")
    assert clean("x = 1\n    return x", "\n    return x\n", scope) == "x = 1"


def test_whitespace_only_is_nothing_and_trailing_space_trimmed():
    scope = Scope.at("", "", "auto")
    assert clean("   \n  ", "", scope) == ""
    assert clean("x = 1   \ny = 2  ", "", scope) == "x = 1\ny = 2"
