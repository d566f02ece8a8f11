"""Language facts for postprocessing, from LSP languageIds and file names."""

from __future__ import annotations

from codeshell_lsp.languages import GENERIC, language, language_id_for_path


def test_python_is_indentation_based_with_hash_comments():
    py = language("python")
    assert (py.comment, py.blocks) == ("#", "indentation")


def test_brace_languages_and_aliases():
    for lid in ("c", "cpp", "java", "javascript", "typescriptreact", "go", "rust", "JavaScript", "ts", "golang"):
        facts = language(lid)
        assert (facts.blocks, facts.comment) == ("braces", "//"), lid


def test_unknown_or_empty_is_generic():
    assert language("") is GENERIC
    assert language("brainfuck") is GENERIC


def test_language_id_from_a_file_name():
    assert language_id_for_path("src/app.tsx") == "typescriptreact"
    assert language_id_for_path("examples/fib.py") == "python"
    assert language_id_for_path("Makefile") == "makefile"
    assert language_id_for_path("notes.unknown") == ""
