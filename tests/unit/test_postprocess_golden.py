"""Golden cases of the postprocessing chain (tests/data/postprocess/*.txt): the text
around the cursor and a raw completion in, what the editor is shown out."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import pytest

from codeshell_lsp.postprocess import FILTERS, Policy, junk

DATA = Path(__file__).resolve().parents[1] / "data" / "postprocess"
CURSOR = "┃"


@dataclass(frozen=True)
class Case:
    name: str
    policy: Policy
    completion: str
    expected: str
    filtered: tuple[str, ...] | None


def _case(name: str, lines: list[str]) -> Case:
    meta: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("--- "):
            current = sections.setdefault(line[4:].strip(), [])
        elif current is None:
            key, _, value = line.partition(":")
            meta[key.strip()] = value.strip()
        else:
            current.append(line)
    document = "\n".join(sections["document"])
    assert document.count(CURSOR) == 1, f"{name}: one {CURSOR} marks the cursor"
    prefix, suffix = document.split(CURSOR)
    stops = tuple(codecs.decode(s.strip(), "unicode_escape") for s in meta["stops"].split(" | ")) if "stops" in meta else ()
    policy = Policy(
        prefix, suffix, meta.get("language", ""), meta.get("multiline", "auto"),  # type: ignore[arg-type]
        stops, meta.get("filters", "on") != "off",
    )
    filtered = None
    if "filtered" in meta:
        filtered = () if meta["filtered"] == "-" else tuple(r.strip() for r in meta["filtered"].split(","))
    return Case(name, policy, "\n".join(sections["completion"]), "\n".join(sections["expected"]), filtered)


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(DATA.glob("*.txt")):
        blocks: list[tuple[str, list[str]]] = []
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.startswith("### "):
                blocks.append((f"{path.stem}: {line[4:].strip()}", []))
            elif blocks:
                blocks[-1][1].append(line)
        if blocks and blocks[-1][1] and blocks[-1][1][-1] == "":
            blocks[-1][1].pop()  # the file's final newline
        cases += [_case(name, body) for name, body in blocks]
    return cases


CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case(case: Case):
    out = case.policy.finish(case.completion)
    assert out.text == case.expected
    if case.filtered is not None:
        assert sorted(out.filtered) == sorted(case.filtered)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_stopping_early_never_changes_the_result(case: Case):
    """Generation stopped where ``stop_at`` says gives what the whole text gives."""
    whole = case.policy.finish(case.completion).text
    for n in range(1, len(case.completion) + 1):
        hit = case.policy.stop_at(case.completion[:n])
        if hit is not None:
            assert case.policy.finish(case.completion[: hit[0]]).text == whole
            return


@pytest.mark.parametrize("case", [c for c in CASES if c.policy.filters], ids=lambda c: c.name)
def test_chain_output_is_never_junk(case: Case):
    assert not junk(case.policy.finish(case.completion).text)


def test_every_filter_has_golden_cases_that_fire_it():
    fired = {r for c in CASES if c.filtered for r in c.filtered}
    assert {reason for reason, _ in FILTERS} <= fired
    assert {p.stem for p in DATA.glob("*.txt")} >= {"repetition", "indentation", "duplication", "brackets", "trim", "minimum"}


@pytest.mark.parametrize("case", [c for c in CASES if c.policy.filters], ids=lambda c: c.name)
def test_chain_over_the_chain_off_answer_equals_the_chain(case: Case):
    """What ``bench quality`` relies on to score both from one generation."""
    from dataclasses import replace

    off = replace(case.policy, filters=False).finish(case.completion).text
    assert case.policy.finish(off).text == case.policy.finish(case.completion).text
