"""Settings: camelCase tree, defaults, invalid values reported and defaulted."""

from __future__ import annotations

import json

from codeshell_lsp.options import Settings, describe


def test_defaults():
    s = Settings()
    assert (s.completion.prompt_tokens, s.completion.suffix_ratio, s.completion.max_tokens) == (1536, 0.25, 64)
    assert s.model.template == "auto" and s.cache.reuse is True


def test_camel_case_tree_and_problems():
    s, problems = Settings.from_dict(
        {"model": {"template": "qwen", "threads": "x"}, "completion": {"maxTokens": 16, "suffixRatio": 2}, "bogus": 1}
    )
    assert s.model.template == "qwen" and s.completion.max_tokens == 16
    assert s.model.threads == 0 and s.completion.suffix_ratio == 0.25
    assert any("model.threads" in p for p in problems)
    assert any("completion.suffixRatio" in p and "0.25" in p for p in problems)
    assert any("bogus" in p for p in problems)


def test_base_values_kept_for_unmentioned_keys():
    base, _ = Settings.from_dict({"completion": {"maxTokens": 8}})
    s, problems = Settings.from_dict({"cache": {"reuse": False}}, base)
    assert s.completion.max_tokens == 8 and s.cache.reuse is False and not problems


def test_non_object_section_reported():
    s, problems = Settings.from_dict({"model": 3})
    assert s.model.path == "" and problems


def test_round_trip_and_describe_cover_every_key():
    tree = Settings().to_dict()
    assert Settings.from_dict(tree) == (Settings(), [])
    keys = {k for k, _, _ in describe()}
    assert "completion.promptTokens" in keys and "backend.apiKeyEnv" in keys


def test_readme_settings_table_lists_every_setting_with_its_default():
    import json
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for key, default, _ in describe():
        assert f"| `{key}` | `{json.dumps(default)}` |" in readme, key


def test_non_finite_numbers_are_refused_one_key_at_a_time():
    """JSON's 1e400 arrives as inf and NaN passes every range check: each is refused with
    one problem and its default, and the valid keys of the same tree still apply."""
    tree = json.loads(
        '{"completion": {"maxTokens": 1e400, "debounceMs": 1e400, "temperature": NaN, "topP": -1e400, "topK": 5},'
        ' "cache": {"completionCacheSize": 1e400}, "model": {"path": "/m.gguf"}}'
    )
    s, problems = Settings.from_dict(tree)
    c = s.completion
    assert (c.max_tokens, c.debounce_ms, c.temperature, c.top_p) == (64, "auto", 0.0, 0.95)
    assert s.cache.completion_cache_size == 256
    assert c.top_k == 5 and s.model.path == "/m.gguf"
    assert len(problems) == 5 and all("finite" in p for p in problems), problems


def test_an_integer_too_large_for_a_float_is_out_of_range():
    s, problems = Settings.from_dict({"completion": {"topP": 10**400, "suffixRatio": 0.5}})
    assert s.completion.top_p == 0.95 and s.completion.suffix_ratio == 0.5
    assert len(problems) == 1 and "outside 0.0..1.0" in problems[0] and len(problems[0]) < 200
