"""The README's Quick start: two commands, the second what .ci/run runs verbatim."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def quick_start() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "no sh block in the Quick start"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_ci_runs_the_second_verbatim():
    commands = quick_start()
    assert len(commands) == 2, commands
    assert commands[1] in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_the_first_command_makes_gemma_the_default_and_completes_with_no_model_flag():
    first = quick_start()[0]
    assert "models install gemma --default" in first
    complete = first.split("codeshell-lsp complete", 1)[1]
    assert "--model" not in complete
