"""Real editor clients driving codeshell-lsp: Neovim, Emacs/Eglot, VSCode's protocol library.

Each editor runs as a subprocess with the repository's editors/ setup loaded the way a
user loads it, and writes a JSON report of what it saw; the tests judge the report.
Without an editor installed a test skips with the reason; with
CODESHELL_REQUIRE_EDITORS=1 (CI, after .ci/editors.sh) it fails instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.e2e.test_remote_context import Small, small_server

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# Line 2 has non-ASCII text before the cursor (2-byte ï, astral 😀), so a position
# encoding mix-up between editor and server shows as a wrong edit.
SOURCE = 'def add(a, b):\n    s = "naïve 😀"; return a\n\nprint(add(1, 2))\n'
CURSOR_LINE = 1  # 0-based; the cursor goes to its end


def unavailable(message: str) -> NoReturn:
    """Skip (locally) or fail (CODESHELL_REQUIRE_EDITORS=1) because an editor piece is missing."""
    if os.environ.get("CODESHELL_REQUIRE_EDITORS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def tool(name: str, install_hint: str) -> str:
    """Path of an editor executable (this venv's bin first), or skip/fail saying how to get it."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=search)
    if not found:
        unavailable(f"{name} not found: {install_hint}")
    return found


def editor_env(home: Path) -> dict[str, str]:
    """An isolated environment: this checkout's codeshell-lsp first on PATH, a throwaway HOME."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "codeshell-lsp").exists():
        pytest.fail(f"no codeshell-lsp script next to {sys.executable}: pip install -e . first")
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "NVIM", "CODESHELL_LSP_"))}
    env.update(
        PATH=os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_STATE_HOME=str(home / ".local/state"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    return env


# The README's steps with no model setting at all: the cursor at the end, the test types
# `self.` there (a new user's first try; the embedded model's text is dropped there).
CLASS_SOURCE = "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        "
CLASS_TYPED = "self."


def install_default_model(env: dict[str, str], gemma: Path) -> Path:
    """The README's `codeshell-lsp models install gemma --default`, run in ``env`` (a fresh
    config folder); the assembled file is linked into its cache first, so the command
    checks it instead of assembling 253 MB again. Returns the user config it wrote."""
    models = Path(env["XDG_CACHE_HOME"]) / "codeshell-lsp" / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / gemma.name).symlink_to(gemma)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "codeshell-lsp"), "models", "install", "gemma", "--default"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    config = Path(env["XDG_CONFIG_HOME"]) / "codeshell-lsp" / "config.toml"
    assert 'path = "gemma"' in config.read_text(encoding="utf-8")
    return config


# A project as a user has one: a git repository (what Neovim's config and project.el find
# as its root) with a module that the file the editor opens imports and that no editor
# opens. The test types PROJECT_TYPED at the end of PROJECT_SOURCE; the module's
# definitions (PROJECT_DEFINITION, by name) must reach the prompt the backend receives.
PROJECT_SOURCE = "from pkg import util\n\n\ndef read(lines):\n    return "
PROJECT_TYPED = "util."
PROJECT_DEFINITION = "parse_header(line)"
PROJECT_FILES = 3  # example.py, pkg/__init__.py, pkg/util.py


def write_project(root: Path) -> None:
    """The project around ``root``/example.py (which the caller writes): a git repository
    and pkg/util.py, which no editor opens."""
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pkg" / "util.py").write_text(
        "def parse_header(line):\n    return line.split(':', 1)\n\n\ndef format_header(name, value):\n    return name\n",
        encoding="utf-8",
    )


@pytest.fixture
def remote() -> Iterator[Small]:
    """A small OpenAI-compatible server (stdlib) that keeps the prompts it receives
    (``remote.posts``); remote_settings(remote.url) points codeshell-lsp at it."""
    with small_server(Small("vllm", n_ctx=8192)) as server:
        yield server


def remote_settings(url: str) -> dict[str, Any]:
    return {"backend": {"kind": "openai", "url": url}}


def check_the_module_reached_the_prompt(server: Small) -> None:
    """``server`` received prompts with the open file as typed, and each of them has the
    unopened module's definition. (One asked for by the editor itself before the index
    was built, as VS Code does when the server comes up, may lack it.)"""
    sent = [post["prompt"] for post in server.posts]
    typed = [p for p in sent if PROJECT_SOURCE + PROJECT_TYPED in p]
    assert typed, f"no prompt with the file as typed reached the backend: {sent}"
    assert all(PROJECT_DEFINITION in p for p in typed), typed


def slow_server(folder: Path, seconds: float) -> Path:
    """A codeshell-lsp command that sleeps first, as a server on a slow or busy machine starts."""
    script = folder / "slow-codeshell-lsp"
    real = Path(sys.executable).parent / "codeshell-lsp"
    script.write_text(f'#!/bin/sh\nsleep {seconds}\nexec "{real}" "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return script


def _units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-16":
        return len(ch.encode("utf-16-le")) // 2
    return 1


def offset(text: str, position: dict[str, int], encoding: str) -> int:
    """String index of an LSP position (written here, independent of the server's own maths)."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: position["line"]])
    units = 0
    for i, ch in enumerate(lines[position["line"]]):
        if units >= position["character"]:
            return start + i
        units += _units(ch, encoding)
    return start + len(lines[position["line"]])


def apply_edit(text: str, edit: dict[str, Any], encoding: str) -> str:
    """``text`` with an LSP TextEdit applied."""
    a = offset(text, edit["range"]["start"], encoding)
    b = offset(text, edit["range"]["end"], encoding)
    return text[:a] + edit["newText"] + text[b:]


def end_of_edit(text: str, edit: dict[str, Any], encoding: str) -> int:
    """String index right after the inserted text (where the cursor should end up)."""
    return offset(text, edit["range"]["start"], encoding) + len(edit["newText"])
