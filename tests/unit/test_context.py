"""Positions in the three LSP encodings, clamped instead of failing."""

from __future__ import annotations

import pytest

from codeshell_lsp.context import clamp_position, cursor_at, offset_at

TEXT = "a😀b\nxyz\n"


@pytest.mark.parametrize(
    "encoding, character, index",
    [("utf-16", 3, 2), ("utf-8", 5, 2), ("utf-32", 2, 2), ("utf-16", 1, 1)],
)
def test_encodings(encoding, character, index):
    assert offset_at(TEXT, 0, character, encoding) == index


def test_utf16_position_inside_surrogate_pair_lands_before_the_character():
    assert offset_at(TEXT, 0, 2, "utf-16") == 1
    assert clamp_position(TEXT, 0, 2, "utf-16") == (0, 1)


def test_past_end_of_line_and_document_are_clamped():
    assert clamp_position(TEXT, 1, 99) == (1, 3)
    assert clamp_position(TEXT, 42, 0) == (2, 0)
    assert offset_at(TEXT, 42, 7) == len(TEXT)


def test_cursor_parts():
    c = cursor_at("def f(x):\n    return x.va  # end\n", 1, 15, "utf-16")
    assert c.line_before == "    return x.va"
    assert c.word_before == "va"
    assert c.line_after == "  # end"


def test_crlf_lines():
    assert offset_at("ab\r\ncd", 1, 1) == 5
