"""Cleaning a raw completion before it reaches the editor (pure functions).

- the multiline policy: one line, or up to the end of the current block;
- drop what repeats the text right after the cursor;
- trim trailing whitespace; nothing left means no completion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Multiline = Literal["auto", "always", "never"]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


_OPENERS = (":", "{", "(", "[")
_CLOSERS = set(")]}'\";:,")


@dataclass(frozen=True)
class Scope:
    """What the completion may span, decided once per request from the cursor."""

    single_line: bool
    line_before: str  # the cursor line up to the cursor

    @classmethod
    def at(cls, line_before: str, line_after: str, policy: Multiline) -> "Scope":
        # auto: text after the cursor on its line means the user is mid-line.
        single = policy == "never" or (policy == "auto" and line_after.strip() != "")
        return cls(single, line_before)

    @property
    def indent(self) -> int:
        line = self.line_before
        return _indent(line) if line.strip() else len(line)


def cut(text: str, scope: Scope) -> tuple[str, bool]:
    """Cut ``text`` where the scope ends; returns (text, ended) — ended means stop generating.

    A block ends at the first later line indented less than the cursor line, or, when
    the cursor line opens a block (``def f():``), at the first line back at its level.
    """
    lines = text.split("\n")
    if scope.single_line:
        return lines[0], len(lines) > 1
    opens = (scope.line_before + lines[0]).rstrip().endswith(_OPENERS)
    base = scope.indent
    for i in range(1, len(lines)):
        line = lines[i]
        if not line.strip():
            continue
        indent = _indent(line)
        if indent < base or (opens and indent <= base):
            return "\n".join(lines[:i]).rstrip(), True
    return text, False


def _drop_suffix_overlap(text: str, suffix: str) -> str:
    """Remove the end of ``text`` that repeats what already follows the cursor."""
    if not text or not suffix:
        return text
    rest_of_line = suffix.split("\n", 1)[0].rstrip()
    # The completion closes what the line already closes: "foo(a)" before ")" -> "foo(a".
    if rest_of_line:
        for k in range(min(len(text), len(rest_of_line)), 0, -1):
            piece = rest_of_line[:k]
            if text.endswith(piece) and (k == len(rest_of_line) or set(piece) <= _CLOSERS):
                return text[:-k]
    # Whole lines that repeat the lines after the cursor.
    next_lines = [line.rstrip() for line in suffix.lstrip("\n").split("\n")]
    lines = text.split("\n")
    for n in range(min(len(lines) - 1, len(next_lines)), 0, -1):
        tail = [line.rstrip() for line in lines[-n:]]
        if tail == next_lines[:n] and any(t.strip() for t in tail):
            return "\n".join(lines[:-n])
    return text


def clean(text: str, suffix: str, scope: Scope) -> str:
    """The text to show, or "" for no completion."""
    text, _ = cut(text, scope)
    text = _drop_suffix_overlap(text.rstrip(), suffix)
    text = "\n".join(line.rstrip() for line in text.split("\n")).rstrip()
    return text if text.strip() else ""
