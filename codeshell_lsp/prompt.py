"""The prompt stage: document text at the cursor -> a finished prompt with its layout.

It owns the window (which text around the cursor goes in, within the token budget and
the context), the anchor grid that keeps the window's start still while the user
types, and FIM assembly. Backends receive the result and never work out its layout
again; ``kvplan`` plans KV reuse from the layout.

What a backend takes decides the prompt's form (``Backend.fim``):

- a bound ``fim.Template`` (in-process llama.cpp): token ids plus the token spans of
  prefix and suffix;
- a ``fim.Family`` (a server that takes a prompt string): the FIM prompt as text;
- ``None`` (a server that assembles the prompt itself, llama-server's ``/infill``):
  only the window's prefix and suffix text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from . import budget, fim
from .context import Cursor
from .options import CompletionSettings

ANCHOR_LINES = 32  # the prefix window's start moves in steps of this many lines
TEMPLATE_SLACK = 8  # tokens the template adds around prefix and suffix, kept free in the context
_CHARS_PER_TOKEN_MAX = 64  # no token covers more characters than this (a coarse cut before counting)


@dataclass(frozen=True)
class Span:
    """Token positions ``start`` (inclusive) to ``end`` (exclusive)."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Layout:
    """Where the parts of an assembled token prompt lie.

    ``suffix`` is the chunk that stays the same while the user types before it (the
    suffix marker plus the suffix tokens): only prefix-suffix-middle templates have
    one; prefix-only and suffix-first prompts only ever grow at the end.
    """

    prefix: Span
    suffix: Span | None


@dataclass(frozen=True)
class Prompt:
    prefix: str  # the window's text before the cursor
    suffix: str  # the window's text after the cursor
    tokens: tuple[int, ...] = ()  # for a Template backend: the assembled prompt
    layout: Layout | None = None  # for a Template backend
    text: str = ""  # for a Family backend: the FIM prompt as text

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the prompt for the completion cache."""
        return self.prefix, self.suffix


class Model(Protocol):
    """What the prompt stage needs from a backend (``backends.base.Backend`` has it)."""

    context_length: int
    fim: fim.Template | fim.Family | None

    def count_tokens(self, text: str) -> int: ...

    def tokenize(self, text: str) -> list[int]: ...


def window(cursor: Cursor, c: CompletionSettings, count: Callable[[str], int], context_length: int) -> budget.Window:
    """The text around the cursor that goes into the prompt (the budget, within the context)."""
    total = max(min(c.prompt_tokens, context_length - c.max_tokens - TEMPLATE_SLACK), 16)
    # Characters beyond any plausible token budget never reach the per-line counting. The
    # cut is on a coarse grid so the window's line anchors stay put while the user types.
    span = total * _CHARS_PER_TOKEN_MAX
    start = max(0, len(cursor.prefix) - span)
    start -= start % (span // 4)
    return budget.fit(
        cursor.prefix[start:], cursor.suffix[:span], count, total, c.suffix_ratio, anchor_lines=ANCHOR_LINES
    )


def assemble(template: fim.Template, prefix: list[int], suffix: list[int]) -> tuple[tuple[int, ...], Layout]:
    """Token ids of the prompt and its layout (prefix and suffix tokenized without BOS)."""
    tokens = template.assemble(prefix, suffix if template.uses_suffix else [])
    head = 1 if template.family.bos and template.bos_id is not None else 0
    order = template.family.order
    if order == "prefix":
        return tuple(tokens), Layout(Span(head, head + len(prefix)), None)
    if order == "spm":
        start = head + 1 + len(suffix) + 1
        return tuple(tokens), Layout(Span(start, start + len(prefix)), None)
    start = head + 1
    chunk = start + len(prefix)
    return tuple(tokens), Layout(Span(start, chunk), Span(chunk, chunk + 1 + len(suffix)))


def build(cursor: Cursor, c: CompletionSettings, backend: Model) -> Prompt:
    """The prompt for ``backend`` at ``cursor``."""
    w = window(cursor, c, backend.count_tokens, backend.context_length)
    form = backend.fim
    if isinstance(form, fim.Template):
        tokens, layout = assemble(form, backend.tokenize(w.prefix), backend.tokenize(w.suffix) if form.uses_suffix else [])
        return Prompt(w.prefix, w.suffix, tokens=tokens, layout=layout)
    if isinstance(form, fim.Family):
        return Prompt(w.prefix, w.suffix, text=fim.assemble_text(form, w.prefix, w.suffix))
    return Prompt(w.prefix, w.suffix)
