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
  only the window's prefix and suffix text (and the chosen chunks, sent apart).

Extra context (``extra_context``: other files) goes before everything but BOS, in the
stable order of its chunks, followed by a heading naming the current file; with no chunk
chosen the prompt is exactly the file-only one. Each chunk is tokenized on its own, so a
chunk's tokens never depend on its neighbours and the KV common prefix keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from . import budget, fim
from .context import Cursor
from .extra_context import Chunk, Extra
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
    extra: Span | None = None  # other files and the current file's heading, before the prefix
    body: int = 0  # where the document's own part starts (after BOS and the extra context)
    pieces: tuple[Span, ...] = ()  # the extra context's pieces (each chunk, then the heading), in ``extra``


@dataclass(frozen=True)
class Prompt:
    prefix: str  # the window's text before the cursor
    suffix: str  # the window's text after the cursor
    tokens: tuple[int, ...] = ()  # for a Template backend: the assembled prompt
    layout: Layout | None = None  # for a Template backend
    text: str = ""  # for a Family backend: the FIM prompt as text
    chunks: tuple[Chunk, ...] = ()  # extra context in the prompt, in prompt order
    healed: str = ""  # spaces typed after text on the cursor line, left out of the prompt (see heal)

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the request for the completion cache: the text as typed."""
        return self.prefix + self.healed, self.suffix

    def middle(self, generated: str) -> str:
        """The completion at the cursor as typed: without the healed spaces the model
        wrote again."""
        return generated[len(self.healed) :] if generated.startswith(self.healed) else generated


def heal(cursor: Cursor) -> tuple[Cursor, str]:
    """Leave spaces typed after text on the cursor line (``return ``) out of the prompt.

    Tokenizers attach a space to the word after it (`` fib``), so a prompt ending in a
    bare space asks the model to continue from a token boundary it rarely saw in
    training; small models answer that with junk. The model writes the space again and
    ``Prompt.middle`` removes it. Indentation alone (nothing else on the line) is kept.
    """
    line = cursor.line_before
    kept = line.rstrip(" \t")
    if not kept.strip() or len(kept) == len(line):
        return cursor, ""
    cut = len(line) - len(kept)
    return Cursor(cursor.prefix[:-cut], cursor.suffix), line[len(kept) :]


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


def choose(x: Extra, cost: Callable[[Chunk], int], budget_tokens: int) -> tuple[Chunk, ...]:
    """The best-ranked chunks that fit ``budget_tokens`` (at most ``x.max_chunks``), in
    their stable prompt order."""
    chosen: list[Chunk] = []
    used = 0
    for chunk in x.chunks:
        if len(chosen) >= x.max_chunks:
            break
        n = cost(chunk)
        if used + n <= budget_tokens:
            chosen.append(chunk)
            used += n
    return tuple(sorted(chosen, key=lambda ch: ch.place))


def _extra_room(c: CompletionSettings, w: budget.Window, context_length: int) -> int:
    """Tokens left for extra context beside the window, generation and the template."""
    return context_length - c.max_tokens - TEMPLATE_SLACK - w.prefix_tokens - w.suffix_tokens


def assemble(
    template: fim.Template, prefix: list[int], suffix: list[int], extra: list[list[int]] | None = None
) -> tuple[tuple[int, ...], Layout]:
    """Token ids of the prompt and its layout (prefix, suffix and the extra context's
    pieces tokenized without BOS)."""
    pieces = extra or []
    flat = [t for piece in pieces for t in piece]
    tokens = template.assemble(prefix, suffix if template.uses_suffix else [], flat)
    head = 1 if template.family.bos and template.bos_id is not None else 0
    span = Span(head, head + len(flat)) if flat else None
    spans = []
    for piece in pieces:
        spans.append(Span(head, head + len(piece)))
        head += len(piece)
    extra_at = (span, head, tuple(spans))
    order = template.family.order
    if order == "prefix":
        return tuple(tokens), Layout(Span(head, head + len(prefix)), None, *extra_at)
    if order == "spm":
        start = head + 1 + len(suffix) + 1
        return tuple(tokens), Layout(Span(start, start + len(prefix)), None, *extra_at)
    start = head + 1
    chunk = start + len(prefix)
    return tuple(tokens), Layout(Span(start, chunk), Span(chunk, chunk + 1 + len(suffix)), *extra_at)


@dataclass(frozen=True)
class Selection:
    """What goes into a prompt, before any of it is tokenized: enough to key the
    completion cache, so a cache hit costs no tokenization."""

    window: budget.Window
    chunks: tuple[Chunk, ...]  # extra context, in prompt order
    heading: str  # the current file's heading after the chunks ("" without chunks)
    healed: str  # see heal

    @property
    def key(self) -> tuple[str, str]:
        """``Prompt.key`` of the prompt this selection assembles into."""
        return self.window.prefix + self.healed, self.window.suffix


def _blocks(form: fim.Template | fim.Family | None) -> Callable[[str, str, str], str]:
    """How a file's text is headed in the prompt for ``form``: its separator token or text where the
    family has one, otherwise a comment naming the file."""
    sep_text = fim.separator_text(form) if isinstance(form, fim.Family) else ""
    separated = (isinstance(form, fim.Template) and form.file_sep_id is not None) or bool(sep_text)

    def block(path: str, language: str, text: str) -> str:
        return sep_text + fim.file_block(path, language, text, separated)

    return block


def select(cursor: Cursor, c: CompletionSettings, backend: Model, extra: Extra | None = None) -> Selection:
    """The window at ``cursor`` and what fits of ``extra`` before it (token counts only)."""
    cursor, healed = heal(cursor)
    w = window(cursor, c, backend.count_tokens, backend.context_length)
    form = backend.fim
    block = _blocks(form)
    chunks: tuple[Chunk, ...] = ()
    heading = ""
    if extra is not None and extra.chunks and extra.max_chunks > 0:
        heading = block(extra.path, extra.language, "")
        room = min(extra.tokens, _extra_room(c, w, backend.context_length)) - backend.count_tokens(heading) - 1
        if form is None:  # the server lays out input_extra itself
            chunks = choose(extra, lambda ch: backend.count_tokens(ch.text) + 8, room)
        else:
            chunks = choose(extra, lambda ch: backend.count_tokens(block(ch.path, ch.language, ch.text)) + 1, room)
    return Selection(w, chunks, heading, healed)


def assemble_selection(sel: Selection, backend: Model) -> Prompt:
    """The prompt ``sel`` describes, in the form ``backend`` takes."""
    w, chunks, heading, healed = sel.window, sel.chunks, sel.heading, sel.healed
    form = backend.fim
    block = _blocks(form)
    if isinstance(form, fim.Template):
        sep = form.file_sep_id
        extra_ids: list[list[int]] = []
        if chunks:
            for piece in [block(ch.path, ch.language, ch.text) for ch in chunks] + [heading]:
                extra_ids.append(([sep] if sep is not None else []) + backend.tokenize(piece))
        tokens, layout = assemble(
            form, backend.tokenize(w.prefix), backend.tokenize(w.suffix) if form.uses_suffix else [], extra_ids
        )
        return Prompt(w.prefix, w.suffix, tokens=tokens, layout=layout, chunks=chunks, healed=healed)
    if isinstance(form, fim.Family):
        head = "".join(block(ch.path, ch.language, ch.text) for ch in chunks) + heading if chunks else ""
        text = head + fim.assemble_text(form, w.prefix, w.suffix)
        return Prompt(w.prefix, w.suffix, text=text, chunks=chunks, healed=healed)
    return Prompt(w.prefix, w.suffix, chunks=chunks, healed=healed)


def build(cursor: Cursor, c: CompletionSettings, backend: Model, extra: Extra | None = None) -> Prompt:
    """The prompt for ``backend`` at ``cursor``, with what fits of ``extra`` before the prefix."""
    return assemble_selection(select(cursor, c, backend, extra), backend)
