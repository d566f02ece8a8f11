"""Fill-in-the-middle templates: the families, detection from a model's vocabulary, assembly.

Prompts are token-id lists: special tokens by id, text tokenized separately (never
through llama-cpp-python's ``suffix=`` path, which hard-codes StarCoder's ids).
Everything here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

from .errors import TemplateError
from .languages import language, language_id_for_path

Order = Literal["psm", "spm", "prefix"]


@dataclass(frozen=True)
class Family:
    """How one model family spells its FIM prompt.

    ``markers`` are the token texts for (prefix, suffix, middle); ``order`` says how the
    parts are laid out; ``bos`` whether the family wants the model's BOS token first;
    ``stops`` are token texts that end a completion besides end-of-generation;
    ``name_hints`` are model-name fragments that tell the family of a served model.
    """

    name: str
    markers: tuple[str, str, str] | None
    order: Order
    bos: bool
    stops: tuple[str, ...] = ()
    alt_markers: tuple[tuple[str, str, str], ...] = ()
    name_hints: tuple[str, ...] = ()


_STARCODER_STOPS = ("<|endoftext|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<fim_pad>", "<file_sep>", "<|end|>")

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        # CodeShell's own layout; StarCoder's is the same texts.
        Family("codeshell", ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"), "psm", False, _STARCODER_STOPS, name_hints=("codeshell",)),
        Family(
            "starcoder", ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"), "psm", False, _STARCODER_STOPS,
            name_hints=("starcoder", "santacoder"),
        ),
        Family(
            "codellama",
            ("▁<PRE>", "▁<SUF>", "▁<MID>"),
            "psm",
            True,
            ("▁<EOT>", "<EOT>"),
            alt_markers=(("<PRE>", "<SUF>", "<MID>"),),
            name_hints=("codellama", "code-llama"),
        ),
        Family(
            "deepseek", ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"), "psm", True, ("<|EOT|>", "<｜end▁of▁sentence｜>"),
            name_hints=("deepseek",),
        ),
        Family(
            "qwen",
            ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
            "psm",
            False,
            ("<|fim_pad|>", "<|endoftext|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
            name_hints=("qwen",),
        ),
        # Mistral's Codestral: [SUFFIX]suffix[PREFIX]prefix, the middle follows directly.
        Family("codestral", ("[PREFIX]", "[SUFFIX]", "[MIDDLE]"), "spm", True, (), name_hints=("codestral",)),
        Family("prefix-only", None, "prefix", True, ()),
    )
}

# Detection order: most specific marker texts first (qwen's contain starcoder's as substrings
# only textually; they are distinct tokens, but check them first anyway).
_DETECT_ORDER = ("qwen", "codeshell", "deepseek", "codellama", "codestral")
# Name-hint order: the first family whose hint the model name contains wins.
_HINT_ORDER = ("qwen", "deepseek", "codellama", "codestral", "starcoder", "codeshell")


@dataclass(frozen=True)
class Template:
    """A family bound to one model's token ids."""

    family: Family
    prefix_id: int | None
    suffix_id: int | None
    middle_id: int | None
    bos_id: int | None
    stop_ids: frozenset[int]
    file_sep_id: int | None = None  # the token that opens another file (see FILE_SEPARATORS)

    @property
    def name(self) -> str:
        return self.family.name

    def assemble(self, prefix: Sequence[int], suffix: Sequence[int], extra: Sequence[int] = ()) -> list[int]:
        """The prompt as token ids. ``prefix``/``suffix`` are tokenized text (no BOS);
        ``extra`` (other files) goes right after BOS, before everything else."""
        head = [self.bos_id] if self.family.bos and self.bos_id is not None else []
        head += extra
        order = self.family.order
        if order == "prefix":
            return head + list(prefix)
        if order == "psm":
            return head + [self.prefix_id, *prefix, self.suffix_id, *suffix, self.middle_id]  # type: ignore[list-item]
        # spm (Codestral): suffix first; the model continues the prefix directly.
        return head + [self.suffix_id, *suffix, self.prefix_id, *prefix]  # type: ignore[list-item]

    @property
    def uses_suffix(self) -> bool:
        return self.family.order != "prefix"


def _marker_ids(family: Family, vocab: Mapping[str, int]) -> tuple[int, int, int] | None:
    for markers in (family.markers, *family.alt_markers):
        if markers is None:
            return None
        ids = [vocab.get(m) for m in markers]
        if family.order == "spm":
            # Codestral has no middle token; only prefix and suffix are needed.
            if ids[0] is not None and ids[1] is not None:
                return ids[0], ids[1], -1  # type: ignore[return-value]
        elif all(i is not None for i in ids):
            return ids[0], ids[1], ids[2]  # type: ignore[return-value]
    return None


def detect_family(vocab: Mapping[str, int], arch: str = "") -> tuple[str, str]:
    """Pick the FIM family from special-token texts; returns (name, explanation)."""
    for name in _DETECT_ORDER:
        if _marker_ids(FAMILIES[name], vocab) is not None:
            if name == "codeshell" and arch and arch != "codeshell":
                name = "starcoder"
            return name, f"detected {name} FIM tokens in the vocabulary"
    return "prefix-only", "the model has no fill-in-the-middle tokens: completing from the text before the cursor only"


def family_from_name(model_name: str) -> Family | None:
    """The family a served model's name tells (``Qwen2.5-Coder-1.5B`` -> qwen), if any."""
    low = model_name.lower()
    for name in _HINT_ORDER:
        if any(hint in low for hint in FAMILIES[name].name_hints):
            return FAMILIES[name]
    return None


def bind(
    name: str,
    vocab: Mapping[str, int],
    bos_id: int | None,
    eog_ids: Sequence[int] = (),
    arch: str = "",
) -> tuple[Template, str]:
    """Bind a template name (or ``auto``) to this vocabulary; returns (template, explanation).

    Raises TemplateError when an explicitly chosen family's tokens are missing.
    """
    if name == "auto":
        name, why = detect_family(vocab, arch)
    else:
        why = f"template {name} chosen in the settings"
    family = FAMILIES.get(name)
    if family is None:
        raise TemplateError(f"unknown FIM template {name!r}; choose one of auto, {', '.join(FAMILIES)}")
    ids: tuple[int | None, int | None, int | None] = (None, None, None)
    if family.markers is not None:
        found = _marker_ids(family, vocab)
        if found is None:
            have, _ = detect_family(vocab, arch)
            raise TemplateError(
                f"the model has no {family.name} FIM tokens ({', '.join(family.markers)}); "
                f"its vocabulary fits {have!r} — set model.template to auto or {have}"
            )
        ids = (found[0], found[1], None if found[2] == -1 else found[2])
    stops = {vocab[t] for t in family.stops if t in vocab} | set(eog_ids)
    # Any FIM marker the model emits ends the middle.
    stops |= {i for i in ids if i is not None}
    sep = next((vocab[t] for t in FILE_SEPARATORS.get(family.name, ()) if t in vocab), None)
    if sep is not None:
        stops.add(sep)
    return Template(family, ids[0], ids[1], ids[2], bos_id, frozenset(stops), sep), why


# Tokens that open another file of the repository in the families trained with them, the
# file's name following on the same line (Qwen2.5-Coder's repository-level prompt;
# StarCoder2's <file_sep>, StarCoder's <filename>). CodeShell's vocabulary has
# <filename> and <reponame> too, but nothing says CodeShell was trained with them (the
# embedded model was not): it gets comment headers, like every family not listed.
FILE_SEPARATORS: dict[str, tuple[str, ...]] = {"qwen": ("<|file_sep|>",), "starcoder": ("<file_sep>", "<filename>")}


def comment_header(path: str, language_id: str = "") -> str:
    """A line naming the file ``path`` as a comment of its language (``# utils.py``)."""
    comment = language(language_id or language_id_for_path(path)).comment or "#"
    return f"{comment} {path}\n"


def file_block(path: str, language_id: str, text: str, separator: bool) -> str:
    """Another file as it goes before the prefix — or, with ``text`` empty, the heading of
    the current file: its name on the first line (after the file-separator token, which
    the caller puts in, when ``separator``; else as a comment of its language), then its
    text and a blank line."""
    head = f"{path}\n" if separator else comment_header(path, language_id)
    return head + text + ("\n" if text else "")


def separator_text(family: Family) -> str:
    """The file-separator token as text, for prompts a server tokenizes ("" when none)."""
    return "<|file_sep|>" if family.name == "qwen" else ""


# Marker texts for prompts sent as text (the server tokenizes them): Code Llama's
# reference spelling puts a space after <PRE> and before <SUF> and <MID>.
_TEXT_MARKERS: dict[str, tuple[str, str, str]] = {"codellama": ("<PRE> ", " <SUF>", " <MID>")}


def assemble_text(family: Family, prefix: str, suffix: str) -> str:
    """The FIM prompt as text, for servers that take a prompt string and turn marker texts
    into their special tokens (OpenAI-compatible ``/v1/completions`` of llama.cpp, vLLM).

    No BOS: such servers add it themselves when the model wants one.
    """
    if family.markers is None or family.order == "prefix":
        return prefix
    pre, suf, mid = _TEXT_MARKERS.get(family.name, family.markers)
    if family.order == "psm":
        return f"{pre}{prefix}{suf}{suffix}{mid}"
    return f"{suf}{suffix}{pre}{prefix}"
