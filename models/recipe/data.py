"""Training sequences with fill-in-the-middle, as the StarCoder/SantaCoder recipes make them.

Each sequence packs examples cut from random documents (chosen by length times the
weight of their source, so every character of a source is equally likely). An example is, with probability ``fim_rate``, turned into
FIM; of those, ``fim_spm_rate`` use suffix-prefix-middle order:

- PSM: ``<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>{middle}<|endoftext|>``
- SPM: ``<fim_prefix><fim_suffix>{suffix}<fim_middle>{prefix}{middle}<|endoftext|>``
  (bigcode's "SPM variant 2": prefix and middle are one stream, so a prompt only grows
  at its end while the user types)

Prefix, middle and suffix are tokenized separately, as an editor's prompt is. The middle
is cut at line boundaries (1..``fim_max_lines`` lines, like a line completion, in the three
shapes an editor shows: whole lines, cursor on a blank line, cursor after auto-indent) for
``fim_line_rate`` of FIM examples and at random characters otherwise. When an example
does not fit, the prefix is cut from the left and the suffix from the right, as the
server's prompt budget does.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from typing import Callable, Sequence

Encode = Callable[[str], list[int]]


@dataclass(frozen=True)
class SpecialIds:
    eot: int
    fim_prefix: int
    fim_middle: int
    fim_suffix: int

    @classmethod
    def from_tokenizer(cls, tok) -> "SpecialIds":
        ids = {t: tok.token_to_id(t) for t in ("<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>")}
        return cls(ids["<|endoftext|>"], ids["<fim_prefix>"], ids["<fim_middle>"], ids["<fim_suffix>"])


def split_fim(text: str, rng: random.Random, line_rate: float, max_lines: int) -> tuple[str, str, str]:
    """(prefix, middle, suffix) of ``text``: whole lines or a random character span."""
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and rng.random() < line_rate:
        i = rng.randrange(len(lines))
        n = rng.randint(1, max_lines)
        prefix, middle, suffix = "".join(lines[:i]), "".join(lines[i : i + n]), "".join(lines[i + n :])
        # How editors present it: whole lines; the cursor on a blank line (the middle's last
        # newline stays in the suffix); or that line already auto-indented.
        form = rng.randrange(3)
        if form >= 1 and middle.endswith("\n"):
            middle, suffix = middle[:-1], "\n" + suffix
        if form == 2:
            indent = len(middle) - len(middle.lstrip(" \t"))
            prefix, middle = prefix + middle[:indent], middle[indent:]
        return prefix, middle, suffix
    a, b = sorted(rng.randrange(len(text) + 1) for _ in range(2))
    return text[:a], text[a:b], text[b:]


def fim_tokens(
    prefix: list[int], middle: list[int], suffix: list[int], ids: SpecialIds, spm: bool, budget: int
) -> list[int]:
    """One FIM example of at most ``budget`` tokens (prefix cut left, suffix cut right)."""
    over = len(prefix) + len(middle) + len(suffix) + 4 - budget
    if over > 0:
        cut_p = min(len(prefix), (over + 1) // 2)
        cut_s = min(len(suffix), over - cut_p)
        cut_p = min(len(prefix), over - cut_s)
        prefix, suffix = prefix[cut_p:], suffix[: len(suffix) - cut_s]
    if spm:
        out = [ids.fim_prefix, ids.fim_suffix, *suffix, ids.fim_middle, *prefix, *middle, ids.eot]
    else:
        out = [ids.fim_prefix, *prefix, ids.fim_suffix, *suffix, ids.fim_middle, *middle, ids.eot]
    return out[:budget]


class SequenceSampler:
    """Draws packed training sequences of ``seq_len + 1`` tokens from a list of documents."""

    def __init__(self, docs: Sequence[str], encode: Encode, ids: SpecialIds, cfg: dict, seed: int,
                 chars_per_token: float = 3.5, weights: Sequence[float] | None = None):
        self.docs = docs
        self.encode = encode
        self.ids = ids
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.cpt = chars_per_token
        self.cum: list[float] = []
        total = 0.0
        for i, d in enumerate(docs):
            total += len(d) * (weights[i] if weights else 1.0)
            self.cum.append(total)

    def _doc(self) -> str:
        i = bisect.bisect_right(self.cum, self.rng.random() * self.cum[-1])
        return self.docs[min(i, len(self.docs) - 1)]

    def _window(self, doc: str, n_tokens: int) -> tuple[str, bool]:
        """A run of whole lines of about ``n_tokens`` tokens; True when it ends the document."""
        width = int(n_tokens * self.cpt)
        if len(doc) <= width:
            return doc, True
        start = self.rng.randrange(len(doc) - width)
        start = doc.rfind("\n", 0, start) + 1
        end = doc.find("\n", start + width)
        end = len(doc) if end < 0 else end + 1
        return doc[start:end], end == len(doc)

    def example(self, budget: int) -> list[int]:
        cfg = self.cfg
        text, at_end = self._window(self._doc(), budget)
        if self.rng.random() < cfg["fim_rate"]:
            p, m, s = split_fim(text, self.rng, cfg["fim_line_rate"], cfg["fim_max_lines"])
            spm = self.rng.random() < cfg["fim_spm_rate"]
            return fim_tokens(self.encode(p), self.encode(m), self.encode(s), self.ids, spm, budget)
        toks = self.encode(text)
        return toks + [self.ids.eot] if at_end else toks

    def sequence(self, seq_len: int) -> list[int]:
        out: list[int] = []
        while len(out) < seq_len + 1:
            out += self.example(max(seq_len + 1 - len(out), 32))
        return out[: seq_len + 1]
