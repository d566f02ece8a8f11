"""Document edits with LSP's line semantics: only \\n, \\r\\n and \\r end a line."""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

import pytest
from lsprotocol import types

from codeshell_lsp.documents import TextDocument, Workspace, apply_edit


@contextlib.contextmanager
def warnings_logged() -> Iterator[list[str]]:
    """Warnings of the documents module (the package logger does not propagate once set up)."""
    seen: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("codeshell_lsp.documents")
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)


def rng(a: int, b: int, c: int, d: int) -> types.Range:
    return types.Range(types.Position(a, b), types.Position(c, d))


def edit(text: str, r: types.Range, new: str, encoding: str = "utf-16") -> str:
    doc = TextDocument("file:///x.py", source=text)
    if encoding != "utf-16":
        doc = Workspace(None, position_encoding=encoding)._create_text_document("file:///x.py", text)
    doc.apply_change(types.TextDocumentContentChangePartial(range=r, text=new))
    return doc.source


@pytest.mark.parametrize("odd", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_characters_splitlines_breaks_at_are_not_line_ends(odd):
    text = f"import os\n{odd}\ndef f():\n    pass\nbeta_y"
    assert edit(text, rng(4, 6, 4, 6), "Z") == f"import os\n{odd}\ndef f():\n    pass\nbeta_yZ"


def test_form_feed_inside_a_line_keeps_the_line_whole():
    assert edit("a\x0cb = 1\nc", rng(0, 4, 0, 4), "Z") == "a\x0cb Z= 1\nc"


def test_character_past_the_end_of_the_last_line_means_its_end():
    assert edit("alpha\nbeta\ngamma_three", rng(2, 500, 2, 500), "Z") == "alpha\nbeta\ngamma_threeZ"


def test_line_past_the_end_appends():
    assert edit("a\nb", rng(9, 0, 9, 3), "Z") == "a\nbZ"


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_every_line_end_counts_once(eol):
    text = eol.join(["one", "two", "three"])
    assert edit(text, rng(2, 0, 2, 0), ">") == eol.join(["one", "two", ">three"])
    assert edit(text, rng(0, 3, 1, 3), "") == eol.join(["one", "three"])


def test_reversed_range_is_taken_with_its_ends_swapped():
    assert edit("abcdef", rng(0, 4, 0, 1), "Z") == "aZef"


def test_utf16_and_utf8_offsets_and_surrogate_pairs():
    assert edit("s = '😀x'", rng(0, 7, 0, 7), "Z", "utf-16") == "s = '😀Zx'"
    assert edit("s = '😀x'", rng(0, 9, 0, 9), "Z", "utf-8") == "s = '😀Zx'"
    assert edit("s = '😀x'", rng(0, 6, 0, 6), "Z", "utf-32") == "s = '😀Zx'"


def test_lines_are_lsp_lines():
    doc = TextDocument("file:///x.py", source="a\x0cb\u2028c\r\nd\re")
    assert doc.lines == ("a\x0cb\u2028c\r\n", "d\r", "e")


def test_apply_edit_is_plain_text_maths():
    assert apply_edit("x\ny", rng(1, 0, 1, 1), "z") == "x\nz"


def test_lower_version_is_applied_and_logged():
    ws = Workspace(None)
    ws.put_text_document(types.TextDocumentItem(uri="file:///x.py", language_id="python", version=5, text="abc"))
    change = types.TextDocumentContentChangePartial(range=rng(0, 3, 0, 3), text="d")
    with warnings_logged() as seen:
        ws.update_text_document(types.VersionedTextDocumentIdentifier(uri="file:///x.py", version=3), change)
    doc = ws.get_text_document("file:///x.py")
    assert doc.source == "abcd" and doc.version == 3
    assert any("version 3, below the current 5: applied anyway" in m for m in seen)


def test_change_to_a_document_that_is_not_open_is_ignored():
    ws = Workspace(None)
    change = types.TextDocumentContentChangePartial(range=rng(0, 0, 0, 0), text="d")
    with warnings_logged() as seen:
        ws.update_text_document(types.VersionedTextDocumentIdentifier(uri="file:///nope.py", version=1), change)
    assert any("not open" in m for m in seen)
