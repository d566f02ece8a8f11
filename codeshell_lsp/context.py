"""Document text at a position -> (prefix, suffix).

Position maths for LSP's three position encodings, clamped rather than failing:
a line past the end means the end of the document, a character past the end of its
line means the end of that line, and a UTF-16 offset that splits a surrogate pair
lands before that character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .budget import split_lines

Encoding = Literal["utf-8", "utf-16", "utf-32"]


def _units(ch: str, encoding: Encoding) -> int:
    if encoding == "utf-32":
        return 1
    cp = ord(ch)
    if encoding == "utf-16":
        return 2 if cp > 0xFFFF else 1
    if cp < 0x80:
        return 1
    if cp < 0x800:
        return 2
    return 3 if cp < 0x10000 else 4


def _strip_eol(line: str) -> str:
    return line.rstrip("\r\n")


def column_to_index(line: str, character: int, encoding: Encoding) -> int:
    """Index into ``line`` (Python characters) for an LSP character offset, clamped."""
    if encoding == "utf-32" or line.isascii():
        return max(0, min(character, len(line)))
    units = 0
    for i, ch in enumerate(line):
        width = _units(ch, encoding)
        if units + width > character:
            return i
        units += width
    return len(line)


def index_to_column(line: str, index: int, encoding: Encoding) -> int:
    """LSP character offset of Python index ``index`` in ``line``."""
    if encoding == "utf-32" or line.isascii():
        return index
    return sum(_units(ch, encoding) for ch in line[:index])


def _line_span(text: str, line: int) -> tuple[int, int] | None:
    """(start, end) of ``line`` without its terminator, or None past the last line."""
    if "\r" not in text:  # the common case, without a regex over a possibly huge text
        start = 0
        for _ in range(line):
            nl = text.find("\n", start)
            if nl < 0:
                return None
            start = nl + 1
        end = text.find("\n", start)
        return start, len(text) if end < 0 else end
    start, n = 0, 0
    for m in _EOL.finditer(text):
        if n == line:
            return start, m.start()
        start, n = m.end(), n + 1
    return (start, len(text)) if n == line else None


_EOL = re.compile(r"\r\n|\r|\n")


def clamp_position(text: str, line: int, character: int, encoding: Encoding = "utf-16") -> tuple[int, int]:
    """The nearest valid position: past the last line -> end of document, past a line's end -> its end."""
    line = max(0, line)
    span = _line_span(text, line)
    if span is None:
        last = text[_last_line_start(text) :]
        return len(_EOL.findall(text)), index_to_column(last, len(last), encoding)
    body = text[span[0] : span[1]]
    idx = column_to_index(body, max(0, character), encoding)
    return line, index_to_column(body, idx, encoding)


def _last_line_start(text: str) -> int:
    return max(text.rfind("\n"), text.rfind("\r")) + 1


def offset_at(text: str, line: int, character: int, encoding: Encoding = "utf-16") -> int:
    """Absolute index into ``text`` of an LSP position, clamped into the document."""
    if line < 0:
        return 0
    span = _line_span(text, line)
    if span is None:
        return len(text)
    body = text[span[0] : span[1]]
    return span[0] + column_to_index(body, max(0, character), encoding)


@dataclass(frozen=True)
class Cursor:
    prefix: str
    suffix: str

    @property
    def line_before(self) -> str:
        """Text on the cursor line before the cursor."""
        return self.prefix[max(self.prefix.rfind("\n"), self.prefix.rfind("\r")) + 1 :]

    @property
    def line_after(self) -> str:
        """Text on the cursor line after the cursor."""
        lines = split_lines(self.suffix)
        return _strip_eol(lines[0]) if lines else ""

    @property
    def word_before(self) -> str:
        """The identifier characters right before the cursor (what a completion item replaces)."""
        line = self.line_before
        i = len(line)
        while i > 0 and (line[i - 1].isalnum() or line[i - 1] == "_"):
            i -= 1
        return line[i:]


def cursor_at(text: str, line: int, character: int, encoding: Encoding = "utf-16") -> Cursor:
    offset = offset_at(text, line, character, encoding)
    return Cursor(text[:offset], text[offset:])


def line_count(text: str) -> int:
    """Number of lines as LSP counts them (a final newline opens one more, empty line)."""
    lines = split_lines(text)
    if not lines or lines[-1].endswith(("\n", "\r")):
        return len(lines) + 1
    return len(lines)
