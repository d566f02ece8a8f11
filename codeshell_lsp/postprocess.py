"""What a raw completion becomes before the editor sees it: the stop policy used while
generating, and the final clean-up chain (pure functions).

A ``Policy`` is built once per request from the text around the cursor. Backends call
``Policy.stop_at`` after each generated token; the engine calls ``Policy.finish`` on the
result. ``finish`` always cuts at the first stop string and at the end of the scope (one
line, or the current block), drops what repeats the text right after the cursor and trims
trailing whitespace. With ``filters`` on (the default) the chain in ``FILTERS`` runs in
between, in a fixed order, each filter a pure function of (text, policy) with golden cases
in tests/data/postprocess/. The filters follow Tabby's postprocess chain and Continue's
stream filters, narrowed to what the measured junk of small local models needs.

``stop_at`` applies the same rules as ``finish`` to the text generated so far, so stopping
early never changes what ``finish`` returns: ``finish(text[:cut]) == finish(text)``.

``junk`` is the one definition of a completion not worth showing that the quality bench
and the tests count: a unit of 1–3 tokens repeated 4 or more times in a row, or several
(3+) non-blank lines of which at most half differ. Tokens here are words (``\\w+``) and
runs of punctuation, whitespace ignored.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Callable, Literal

from .languages import Language, language as language_facts

Multiline = Literal["auto", "always", "never"]

_TOKEN = re.compile(r"\w+|[^\w\s]+")
# Tabby's removeLineEndsWithRepetition: 3+ characters repeated 5+ times, 10+ characters 3+ times.
_LINE_END_REPEATS = (re.compile(r"(.{3,}?)\1{5,}$"), re.compile(r"(.{10,}?)\1{3,}$"))
# Inside one word: a character 12+ times ("0.0000000000000000"), 2-3 characters 6+ times
# ("x_x_x_x_x_x_x"). Hex, binary and octal literals (0xFFFFFFFF, 0b11111111) are left alone.
_WORD_REPEATS = re.compile(r"(\w)\1{11,}|(\w{2,3}?)\2{5,}")
_RADIX_LITERAL = re.compile(r"0[xXbBoO]")
_OPENERS = (":", "{", "(", "[")
_CLOSERS = set(")]}'\";:,")
_PAIRS = {")": "(", "]": "[", "}": "{"}
_SEPARATORS = set(")]}'\";:, \t\n")
_CLOSING_LINE = re.compile(r"^\s*[)\]}]+[)\]};,]*\s*$")
# A line ending like this needs more on the same line: a completion starting with a
# newline there is nonsense ("return " followed by a new line).
_NEEDS_OPERAND = re.compile(
    r"(?:^|[^\w])(?:return|yield|await|raise|not|and|or|in|is|if|elif|while|assert|del|lambda|import|throw|new|case)\s*$"
    r"|[=+\-*/%<>&|^~]\s*$"
)
_SCAN_LINES = 200  # how far back the prefix is scanned for open brackets and indentation


# --- the junk definition ---------------------------------------------------------------


def repetition_run(text: str, *, final: bool = True, min_repeats: int = 4, max_unit: int = 3) -> int | None:
    """Where in ``text`` a unit of 1..``max_unit`` tokens starts repeating ``min_repeats``+
    times in a row (its index), or None. ``final=False``: the last token may still grow
    (text being generated), so it does not count."""
    tokens = [(m.start(), m.group()) for m in _TOKEN.finditer(text)]
    if not final and tokens:
        tokens.pop()
    words = [w for _, w in tokens]
    best: int | None = None
    for unit in range(1, max_unit + 1):
        need = (min_repeats - 1) * unit  # positions equal to the one a unit earlier
        stretch = 0
        for i in range(unit, len(words)):
            stretch = stretch + 1 if words[i] == words[i - unit] else 0
            if stretch >= need:
                start = tokens[i - stretch - unit + 1][0]
                best = start if best is None else min(best, start)
                break
    return best


def lines_repeat(lines: list[str]) -> bool:
    """Several (3+) non-blank lines of which at most half differ."""
    body = [" ".join(line.split()) for line in lines if line.strip()]
    return len(body) >= 3 and 2 * len(set(body)) <= len(body)


def junk(text: str) -> bool:
    """The project's one definition of a repetition-junk completion (see the module doc)."""
    lines = text.split("\n")
    return lines_repeat(lines) or any(repetition_run(line) is not None for line in lines)


# --- scope (always on) ----------------------------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


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
        if opens and indent == base and line.lstrip()[:1] in _PAIRS:
            return "\n".join(lines[: i + 1]).rstrip(), True  # the block's closing line belongs to it
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


def _trim_trailing(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.split("\n")).rstrip()
    return text if text.strip() else ""


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(hits) if hits else None


# --- the policy ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cleaned:
    text: str  # what to show; "" = no suggestion
    filtered: tuple[str, ...] = ()  # reasons of the filters that changed the text


@dataclass(frozen=True)
class Policy:
    """Everything postprocessing knows about one request; built once per request by the engine."""

    prefix: str  # document text before the cursor (may be long: only its end is read)
    suffix: str  # document text after the cursor
    language: str = ""  # LSP languageId, "" when unknown (generic rules)
    multiline: Multiline = "auto"
    stops: tuple[str, ...] = ()  # stop strings; the text is cut at the first
    filters: bool = True  # False: only stops, scope, suffix overlap and whitespace trim

    @cached_property
    def line_before(self) -> str:
        return self.prefix[self.prefix.rfind("\n") + 1 :]

    @cached_property
    def line_after(self) -> str:
        return self.suffix.split("\n", 1)[0]

    @cached_property
    def scope(self) -> Scope:
        return Scope.at(self.line_before, self.line_after, self.multiline)

    @cached_property
    def lang(self) -> Language:
        return language_facts(self.language)

    @cached_property
    def prefix_lines(self) -> list[str]:
        """The last lines before the cursor line (the cursor line excluded)."""
        head = self.prefix[: len(self.prefix) - len(self.line_before)]
        return head[-(_SCAN_LINES * 120) :].split("\n")[-_SCAN_LINES - 1 : -1]

    @cached_property
    def suffix_lines(self) -> list[str]:
        """Non-blank lines after the cursor line, a few."""
        rest = self.suffix.split("\n")[1:40]
        return [line for line in rest if line.strip()][:10]

    @cached_property
    def indent_unit(self) -> str:
        """The file's indent unit ("\\t", "  ", "    "), from the lines before the cursor."""
        tabs = spaces = 0
        steps: Counter[int] = Counter()
        last = 0
        for line in self.prefix_lines:
            if not line.strip():
                continue
            lead = line[: _indent(line)]
            tabs += lead.startswith("\t")
            spaces += lead.startswith(" ")
            width = len(lead.expandtabs(4)) if "\t" in lead else len(lead)
            if width > last and not lead.startswith("\t"):
                steps[width - last] += 1
            last = width
        if tabs > spaces:
            return "\t"
        step = steps.most_common(1)[0][0] if steps else 4
        return " " * (step if step in (2, 3, 4, 8) else 4)

    @cached_property
    def open_brackets(self) -> str:
        """Brackets opened before the cursor and not closed yet (innermost last), read from
        the end of the prefix with strings and comments skipped."""
        text = "\n".join(self.prefix_lines + [self.line_before])
        return _unclosed(text, self.lang.comment)

    # -- during generation ----------------------------------------------------------------

    def stop_at(self, text: str) -> tuple[int, str] | None:
        """(index to cut at, reason) when generation should stop now, else None. Called per
        token with the text so far: cheap, and never cuts what ``finish`` would keep."""
        hit = _first_stop(text, self.stops)
        if hit is not None:
            return hit, "stop"
        kept, ended = cut(text, self.scope)
        if ended:
            return len(kept), "scope"
        if not self.filters:
            return None
        lines = text.split("\n")
        offset = 0
        for i, line in enumerate(lines):
            done = i < len(lines) - 1  # the last line may still grow
            if done:
                repeats = _repeats_in_line(line)
            else:  # a repeating word only gets longer; a repeating unit of words may not
                repeats = repetition_run(line, final=False) is not None or _repeats_in_word(line)
            if repeats:
                return offset, "repetition"
            offset += len(line) + 1
        k = _first_repeating_prefix(lines[:-1])
        if k is not None:
            return len("\n".join(lines[: k - 1])), "repetition"
        reached = _reaches_suffix(lines[:-1], self)
        if reached is not None:
            return len("\n".join(lines[:reached])), "duplication"
        return None

    # -- the final clean-up ---------------------------------------------------------------

    def finish(self, text: str) -> Cleaned:
        """The text to show and the reasons of the filters that changed it."""
        hit = _first_stop(text, self.stops)
        if hit is not None:
            text = text[:hit]
        text, _ = cut(text, self.scope)
        fired: list[str] = []
        if self.filters:
            for reason, apply in FILTERS:
                out = apply(text, self)
                if out != text:
                    if reason not in fired:
                        fired.append(reason)
                    text = out
                if not text:
                    break
        return Cleaned(_trim_trailing(_drop_suffix_overlap(text.rstrip(), self.suffix)), tuple(fired))


# --- the filters, in chain order -------------------------------------------------------


def _first_repeating_prefix(lines: list[str]) -> int | None:
    """The smallest k such that ``lines[:k]`` repeats (see ``lines_repeat``), or None."""
    seen: Counter[str] = Counter()
    n = 0
    for k, line in enumerate(lines, 1):
        if line.strip():
            seen[" ".join(line.split())] += 1
            n += 1
            if n >= 3 and 2 * len(seen) <= n:
                return k
    return None


def _repeats_in_word(line: str) -> bool:
    """A word that repeats a 1-3 character unit (more text can only make it longer)."""
    return any(
        _WORD_REPEATS.search(m.group()) and not _RADIX_LITERAL.match(m.group()) for m in re.finditer(r"\w+", line)
    )


@lru_cache(maxsize=4096)  # stop_at asks again about every finished line at each token
def _repeats_in_line(line: str) -> bool:
    return (
        repetition_run(line) is not None
        or any(p.search(line.rstrip()) for p in _LINE_END_REPEATS)
        or _repeats_in_word(line)
    )


def _blocks_repeat(lines: list[str]) -> int | None:
    """Index of the first line of a blank-line-separated block that starts by repeating
    the whole block before it (or its start, when it is the last, unfinished one)."""
    blocks: list[list[int]] = [[]]
    for i, line in enumerate(lines):
        if line.strip():
            blocks[-1].append(i)
        elif blocks[-1]:
            blocks.append([])
    blocks = [b for b in blocks if b]
    norm = [[" ".join(lines[i].split()) for i in b] for b in blocks]
    for j in range(1, len(blocks)):
        prev, cur = norm[j - 1], norm[j]
        last = j == len(blocks) - 1
        if cur == prev or (last and len(cur) < len(prev) and prev[: len(cur)] == cur):
            return blocks[j][0]
    return None


def remove_repetition(text: str, policy: Policy) -> str:
    """Repetition junk: cut at the first line with a repeated 1–3-token unit (or a line
    ending in a repeated run of characters), at a block that repeats the block before,
    and at the first line where the lines so far stop being mostly different."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _repeats_in_line(line):
            lines = lines[:i]
            break
    while True:  # each cut can make the other rule apply
        b = _blocks_repeat(lines)
        k = _first_repeating_prefix(lines)
        if b is None and k is None:
            return "\n".join(lines).rstrip()
        lines = lines[: min(x for x in (b, None if k is None else k - 1) if x is not None)]


def _restarts_line(first: str, before: str, comment: str) -> bool:
    """After text on an indented line (``        self.``), a completion that starts with
    that line's whole indent again and then code: the model began the line anew."""
    indent = before[: _indent(before)]
    if indent in ("", " ") or not before.strip() or before[-1] in " \t":
        return False
    body = first.lstrip(" \t")
    return bool(body) and first.startswith(indent) and not (comment and body.startswith(comment))


def fix_indentation(text: str, policy: Policy) -> str:
    """Never indent twice: after a cursor that is already indented, the first line's own
    leading whitespace goes (and the same amount on the later lines that carry it too).
    A completion that starts the cursor line over after text on it (its indent again, then
    code) is dropped. Leading tabs/spaces are converted to the file's indent unit."""
    lines = text.split("\n")
    before = policy.line_before
    if _restarts_line(lines[0], before, policy.lang.comment):
        return ""
    if before and not before.strip() and lines[0][:1] in (" ", "\t"):
        extra = lines[0][: _indent(lines[0])]
        lines[0] = lines[0][len(extra) :]
        # The later lines were shifted too when they sit where the doubled first line
        # puts them: deeper than it after an opener, level with it otherwise.
        doubled = len(before) + len(extra)
        rest = [line for line in lines[1:] if line.strip()]
        opens = lines[0].rstrip().endswith(_OPENERS)
        if rest and all(line.startswith(extra) for line in rest):
            nxt = _indent(rest[0])
            if (nxt > doubled) if opens else (nxt >= doubled):
                lines[1:] = [line[len(extra) :] if line.strip() else line for line in lines[1:]]
    unit = policy.indent_unit
    for i, line in enumerate(lines):
        lead = line[: _indent(line)]
        if unit == "\t" and lead and "\t" not in lead and len(lead) % 4 == 0:
            lines[i] = "\t" * (len(lead) // 4) + line[len(lead) :]
        elif unit != "\t" and "\t" in lead:
            lines[i] = lead.replace("\t", unit) + line[len(lead) :]
    return "\n".join(lines)


def _norm(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


def _key(line: str) -> tuple[int, str]:
    """A line as compared for duplication: its indentation width and its words."""
    return len(line[: _indent(line)].expandtabs(4)), " ".join(line.split())


def _reaches_suffix(lines: list[str], policy: Policy) -> int | None:
    """Index of the first later line (not the first) that is the first non-blank line
    after the cursor line, indentation included: from there the completion writes what
    the document already has (prefix-only models do this at the end of every block)."""
    if not policy.suffix_lines or len(policy.suffix_lines[0].strip()) < 4:
        return None
    target = policy.suffix_lines[0].rstrip()
    return next((i for i in range(1, len(lines)) if lines[i].rstrip() == target), None)


def remove_duplication(text: str, policy: Policy) -> str:
    """Nothing when the completion starts by repeating what follows the cursor; cut where
    it reaches the line after the cursor; a first line that rewrites the line above the
    cursor is dropped. Whole lines compare with their indentation (code repeats lines at
    other levels: ``return False`` twice)."""
    lines = text.split("\n")
    reached = _reaches_suffix(lines, policy)
    if reached is not None:
        lines = lines[:reached]
        text = "\n".join(lines).rstrip()
    body = [line for line in lines if line.strip()]
    if not body:
        return text
    if policy.line_after.strip():  # mid-line: the rest of the line, then the next lines
        after = [policy.line_after] + policy.suffix_lines
        n = min(3, len(body), len(after))
        return "" if _norm(body[:n]) == _norm(after[:n]) else text
    before = policy.line_before
    # Where the first line really starts: after an indented cursor, never indented twice.
    head = before + (lines[0].lstrip(" \t") if before and not before.strip() else lines[0])
    absolute = [_key(line) for line in [head] + lines[1:] if line.strip()]
    after_keys = [_key(line) for line in policy.suffix_lines]
    n = min(3, len(absolute), len(after_keys))
    if n and absolute[:n] == after_keys[:n]:
        return ""
    above = [line for line in policy.prefix_lines if line.strip()]
    first = next(i for i, line in enumerate(lines) if line.strip())
    line = head if first == 0 else lines[first]
    if not before.strip() and above and re.search(r"\w", above[-1]) and _key(line) == _key(above[-1]):
        rest = lines[first + 1 :]
        if rest and before and rest[0].startswith(before):
            rest[0] = rest[0][len(before) :]  # the cursor is already there
        return "\n".join(rest).rstrip()
    return text


def _unclosed(text: str, comment: str) -> str:
    """The brackets ``text`` leaves open, innermost last (strings and comments skipped;
    a closer with nothing to close is ignored)."""
    stack: list[str] = []
    _scan(text, comment, stack)
    return "".join(stack)


def _scan(text: str, comment: str, stack: list[str]) -> int | None:
    """Push/pop brackets of ``text`` on ``stack``; returns the index of the first closer
    that closes nothing on the stack (or the wrong kind), or None — the prefix scan passes
    ``stack`` empty and ignores the answer."""
    i, n = 0, len(text)
    quote = ""
    bad: int | None = None
    while i < n:
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = ""
                continue
            if c == "\n" and len(quote) == 1 and quote != "`":
                quote = ""  # an unterminated one-line string ends with its line
            i += 1
            continue
        if comment and text.startswith(comment, i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "\"'`":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i += len(quote)
            continue
        if c in "([{":
            stack.append(c)
        elif c in _PAIRS:
            if stack and stack[-1] == _PAIRS[c]:
                stack.pop()
            elif bad is None:
                bad = i
        i += 1
    return bad


def close_own_brackets(text: str, policy: Policy) -> str:
    """Close only what is open: a closer that matches nothing opened before it (in the
    completion or still open before the cursor) ends the completion — its whole line when
    it starts the line; in brace languages so does a line closing a brace opened before the
    cursor. A final closing line that the text after the cursor starts with already is
    dropped."""
    stack = list(policy.open_brackets)
    bad = _scan(text, policy.lang.comment, stack)
    if policy.lang.blocks == "braces":
        # Brace depth: a line that starts by closing a brace opened before the cursor ends
        # the block, whatever its indentation says; that brace is the document's.
        depth = len(policy.open_brackets)
        offset = 0
        for line in text.split("\n"):
            if offset and line.lstrip()[:1] == "}":
                seen: list[str] = list(policy.open_brackets)
                _scan(text[:offset], policy.lang.comment, seen)
                if len(seen) <= depth and seen and seen[-1] == "{":
                    bad = offset if bad is None else min(bad, offset)
                    break
            offset += len(line) + 1
    if bad is not None:
        start = text.rfind("\n", 0, bad) + 1
        text = (text[:start] if not text[start:bad].strip() and start else text[:bad]).rstrip()
    lines = text.split("\n")
    if len(lines) < 2 or not _CLOSING_LINE.match(lines[-1]) or not policy.suffix_lines:
        return text
    if _unclosed("\n".join(lines[:-1]), policy.lang.comment):
        return text  # the line closes what the completion opened
    nxt, last = policy.suffix_lines[0].strip(), lines[-1].strip()
    return "\n".join(lines[:-1]).rstrip() if nxt.startswith(last) or last.startswith(nxt) else text


def trim_line(text: str, policy: Policy) -> str:
    """Single-line trims: no second space after a space before the cursor; nothing when
    the cursor line needs more on it ("return ", "x = ") and the completion starts a new line."""
    before = policy.line_before
    if before.strip() and before[-1] in " \t" and text[:1] in (" ", "\t"):
        text = text.lstrip(" \t")
    if before.strip() and text.split("\n", 1)[0].strip() == "" and "\n" in text and _NEEDS_OPERAND.search(before.rstrip()):
        return ""
    return text


def drop_minimum(text: str, policy: Policy) -> str:
    """Nothing when the completion has almost nothing in it: a lone comment marker or
    ellipsis, or punctuation that is not just closers and separators (")", "]:", ";")."""
    content = text.strip()
    if not content or content in ("#", "//", "--", "/*", "...", ".") or content == policy.lang.comment:
        return ""
    if not re.search(r"\w", content) and not set(content) <= _SEPARATORS:
        return ""
    return text


FILTERS: tuple[tuple[str, Callable[[str, Policy], str]], ...] = (
    ("duplication", remove_duplication),
    ("repetition", remove_repetition),
    ("indentation", fix_indentation),
    ("brackets", close_own_brackets),
    ("trim", trim_line),
    ("minimum", drop_minimum),
)
