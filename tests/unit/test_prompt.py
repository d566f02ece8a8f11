"""The prompt stage's pure parts: healing the spaces at the cursor."""

from __future__ import annotations

import pytest

from codeshell_lsp.context import Cursor
from codeshell_lsp.prompt import Prompt, heal


@pytest.mark.parametrize(
    "prefix, healed_prefix, healed",
    [
        ("    return ", "    return", " "),
        ("x = f(a,  ", "x = f(a,", "  "),
        ("def f():\n    ", "def f():\n    ", ""),  # indentation alone is kept
        ("x = 1", "x = 1", ""),
        ("", "", ""),
        ("a\n", "a\n", ""),
        ("y =\t", "y =", "\t"),
    ],
)
def test_heal_leaves_trailing_spaces_after_text_out(prefix, healed_prefix, healed):
    cursor, spaces = heal(Cursor(prefix, "\nrest"))
    assert (cursor.prefix, spaces, cursor.suffix) == (healed_prefix, healed, "\nrest")


def test_the_completion_loses_the_space_the_model_wrote_again():
    p = Prompt("    return", "", healed=" ")
    assert p.middle(" n + 1") == "n + 1"
    assert p.middle("(n)") == "(n)"
    assert p.key == ("    return ", "")
