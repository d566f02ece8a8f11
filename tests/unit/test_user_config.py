"""The user config file: reading (problems name the file and line), layering, `config set`."""

from __future__ import annotations

import argparse
import sys

import pytest

from codeshell_lsp import user_config
from codeshell_lsp.errors import UsageError
from codeshell_lsp.options import Settings
from codeshell_lsp.user_config import ConfigError, read, set_value, toml_value

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


@pytest.fixture
def path(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    return tmp_path / "cfg" / "codeshell-lsp" / "config.toml"


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_file_lives_in_the_xdg_config_folder(monkeypatch, tmp_path, path):
    assert user_config.config_path() == path
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_config.config_path() == tmp_path / ".config" / "codeshell-lsp" / "config.toml"


def test_no_file_is_no_problem_and_the_defaults(path):
    config = read()
    assert config.problems == [] and config.tree == {}
    assert config.settings() == Settings()
    assert user_config.model_choice() is None


def test_the_file_is_the_layer_under_the_editor_except_model_path(path):
    write(path, '[model]\npath = "gemma"\nthreads = 2\n\n[completion]\nmax_tokens = 48\n')
    config = read()
    assert config.problems == []
    layer = config.settings()
    assert (layer.model.threads, layer.completion.max_tokens, layer.model.path) == (2, 48, "")
    assert user_config.model_choice() == ("gemma", f"chosen by the user config {path}, line 2")
    # The editor's tree goes over it, key by key; command-line flags over both.
    settings, problems = Settings.layered({"completion": {"maxTokens": 16}}, {"model": {"threads": 1}}, layer)
    assert problems == []
    assert (settings.model.threads, settings.completion.max_tokens) == (1, 16)
    assert Settings.layered({}, {}, layer)[0].completion.max_tokens == 48


def test_broken_toml_names_the_file_and_line_and_uses_the_defaults(path):
    write(path, '[model]\nthreads = 2\npath = "gemma\n')
    config = read()
    assert len(config.problems) == 1
    assert f"{path}, line 3: not valid TOML" in config.problems[0]
    assert config.settings() == Settings()
    assert user_config.model_choice() is None


def test_invalid_values_name_the_line_and_the_rest_still_counts(path):
    write(path, '# mine\n[completion]\nmaxTokens = "lots"\ntemperature = 0.5\nbogus = 1\n\n[model]\npath = 7\n')
    config = read()
    assert len(config.problems) == 3, config.problems
    assert any(f"{path}, line 3: completion.maxTokens" in p for p in config.problems)
    assert any(f"{path}, line 5: " in p and "bogus" in p for p in config.problems)
    assert any(f"{path}, line 8: model.path" in p for p in config.problems)
    assert config.settings().completion.temperature == 0.5
    assert config.settings().completion.max_tokens == 64
    assert user_config.model_choice() is None


def test_an_unreadable_file_is_a_problem_not_an_exception(path):
    path.mkdir(parents=True)  # a directory where the file should be
    config = read()
    assert len(config.problems) == 1 and str(path) in config.problems[0] and "cannot be read" in config.problems[0]
    with pytest.raises(ConfigError, match="fix it first"):
        set_value("model.path", "gemma")


def test_inline_and_dotted_keys_are_found(path):
    write(path, 'model = { path = "embedded" }\ncompletion.maxTokens = 8\n')
    assert user_config.model_choice() == ("embedded", f"chosen by the user config {path}, line 1")
    assert read().settings().completion.max_tokens == 8


def test_set_creates_the_file(path):
    assert set_value("model.path", "gemma") == path
    assert tomllib.loads(path.read_text()) == {"model": {"path": "gemma"}}


def test_set_changes_one_line_and_keeps_comments(path):
    original = '# my settings\n[model]\npath = "old.gguf"  # the old one\nthreads = 2\n\n[cache]\npersist = false\n'
    write(path, original)
    set_value("model.path", "gemma")
    set_value("model.contextLength", "2048")
    set_value("completion.stop", '["\\n\\n"]')
    set_value("cache.persist", "true")
    text = path.read_text()
    assert text.startswith("# my settings\n[model]\npath = \"gemma\"\nthreads = 2\ncontextLength = 2048\n\n[cache]\npersist = true\n")
    assert tomllib.loads(text) == {
        "model": {"path": "gemma", "threads": 2, "contextLength": 2048},
        "cache": {"persist": True},
        "completion": {"stop": ["\n\n"]},
    }
    assert read().problems == []


def test_set_keeps_the_files_spelling_of_a_key(path):
    write(path, "[completion]\n  max_tokens = 8\n")
    set_value("completion.maxTokens", "12")
    assert path.read_text() == "[completion]\n  max_tokens = 12\n"


def test_set_refuses_what_it_cannot_edit_in_place(path):
    original = 'model = { path = "embedded" }\n'
    write(path, original)
    with pytest.raises(ConfigError, match="edit the file by hand"):
        set_value("model.threads", "2")
    assert path.read_text() == original


def test_set_refuses_a_broken_file_naming_its_line(path):
    write(path, "[model\n")
    with pytest.raises(ConfigError, match=r"line 1: not valid TOML"):
        set_value("model.path", "gemma")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("model.nope", "1", "unknown setting 'model.nope'"),
        ("completion.maxTokens", "lots", "completion.maxTokens: expected a number"),
        ("completion.maxTokens", "100000", "outside"),
        ("completion.multiline", "sometimes", "not one of"),
    ],
)
def test_set_checks_key_and_value_as_the_server_does(path, key, value, message):
    with pytest.raises(UsageError, match=message):
        set_value(key, value)
    assert not path.exists()


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        ("completion.maxTokens", "32", 32),
        ("cache.reuse", "true", True),
        ("completion.temperature", "0.5", 0.5),
        ("completion.debounceMs", "auto", "auto"),
        ("model.path", "123", "123"),
        ("completion.stop", '["a", "b"]', ["a", "b"]),
    ],
)
def test_set_reads_the_value_as_toml_else_as_a_string(path, key, raw, value):
    set_value(key, raw)
    section, name = key.split(".")
    assert tomllib.loads(path.read_text())[section][name] == value


@pytest.mark.parametrize("text", ['plain', 'quote " and \\ back', "tab\tnew\nline\r\x00\x1f\x7f", "naïve 😀", ""])
def test_toml_strings_round_trip(text):
    assert tomllib.loads(f"v = {toml_value(text)}")["v"] == text
    assert tomllib.loads(f"v = {toml_value([text, 'x'])}")["v"] == [text, "x"]


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    user_config.add_parsers(parser.add_subparsers(dest="command"), argparse.ArgumentParser(add_help=False))
    args = parser.parse_args(["config", *argv])
    return args.run(args)


def test_config_command_path_set_show(path, capsys):
    assert _run("path") == 0
    assert capsys.readouterr().out.strip() == str(path)
    assert _run("show") == 0
    out = capsys.readouterr().out
    assert "not there" in out and tomllib.loads(out) == Settings().to_dict()
    assert _run("set", "completion.maxTokens", "48") == 0
    assert str(path) in capsys.readouterr().out
    assert _run("show") == 0
    out = capsys.readouterr().out
    assert tomllib.loads(out)["completion"]["maxTokens"] == 48
    assert "maxTokens = 48  # set in the file (line 2)" in out


def test_config_show_of_a_broken_file_exits_1_naming_the_line(path, capsys):
    write(path, "[completion]\nmaxTokens = -3\n")
    assert _run("show") == 1
    captured = capsys.readouterr()
    assert f"{path}, line 2: completion.maxTokens" in captured.err
    assert tomllib.loads(captured.out)["completion"]["maxTokens"] == 64
