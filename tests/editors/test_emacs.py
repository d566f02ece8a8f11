"""Emacs (batch) + Eglot with editors/emacs loaded: completion-at-point end to end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from codeshell_lsp.postprocess import junk

from .conftest import CLASS_SOURCE, CLASS_TYPED, HERE, PROJECT_FILES, PROJECT_SOURCE, PROJECT_TYPED, REPO, SOURCE
from .conftest import apply_edit, check_the_module_reached_the_prompt, editor_env, end_of_edit, install_default_model
from .conftest import remote_settings, slow_server, tool, unavailable, write_project

pytestmark = pytest.mark.model


def run_emacs(
    model: Path | None, tmp: Path, scenario: str = "", source_text: str = SOURCE, default_model: Path | None = None,
    **env_extra: str,
) -> dict[str, Any]:
    """One batch Emacs session (tests/editors/emacs_driver.el, ``scenario``) and its
    report; ``default_model``: `models install gemma --default` first, in its fresh config folder."""
    emacs_bin = tool("emacs", "apt-get install emacs-nox elpa-eglot, or run .ci/editors.sh")
    env = editor_env(tmp / "home")
    if default_model is not None:
        install_default_model(env, default_model)
    source = tmp / "example.py"
    source.write_text(source_text, encoding="utf-8")
    out = tmp / "report.json"
    env.update(CODESHELL_TEST_MODEL=str(model or ""), CODESHELL_TEST_FILE=str(source), CODESHELL_TEST_OUT=str(out),
               CODESHELL_TEST_SCENARIO=scenario, **env_extra)
    # -q, not -Q: Debian's site start-up is what puts elpa-eglot on the load path.
    proc = subprocess.run(
        [emacs_bin, "--batch", "-q", "-l", str(REPO / "editors/emacs/codeshell-lsp.el"), "-l", str(HERE / "emacs_driver.el")],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=180,
    )
    if proc.returncode != 0 and "Cannot open load file" in proc.stderr and "eglot" in proc.stderr:
        unavailable("Eglot is not on Emacs' load path: apt-get install elpa-eglot, or run .ci/editors.sh")
    assert out.exists(), f"emacs wrote no report (rc {proc.returncode}): {proc.stderr[-2000:]}"
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report.get("error") is None, f"{report['error']}\n{proc.stderr[-2000:]}"
    return report


@pytest.fixture(scope="module")
def emacs(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The main session: a direct request, then completion-at-point."""
    return run_emacs(tiny_model, tmp_path_factory.mktemp("emacs"))


def test_eglot_connects_with_the_setup(emacs):
    assert emacs["server"] == "codeshell-lsp"
    assert emacs["major_mode"] == "python-mode"
    # codeshell-lsp-model and codeshell-lsp-options both reached initializationOptions.
    assert emacs["init_options"]["model"]["path"].endswith(".gguf")
    assert emacs["init_options"]["model"]["threads"] == 1


def test_completion_at_point_inserts_the_servers_completion(emacs):
    items = emacs["direct"]["items"]
    assert len(items) == 1 and items[0]["textEdit"]["newText"]
    edit = items[0]["textEdit"]
    capf = emacs["capf"]
    assert capf["before"] == SOURCE
    # Eglot 1.9 sends no general.positionEncodings: the columns are utf-16.
    assert capf["after"] == apply_edit(SOURCE, edit, "utf-16")
    assert capf["point"] - 1 == end_of_edit(SOURCE, edit, "utf-16")  # Emacs points count from 1


def test_eglot_session_counters(emacs):
    stats = emacs["stats"]
    assert stats["requests"] == 2
    assert stats["completionsServed"] == 2
    assert stats["completionCacheHits"] == 1


def test_complete_asked_before_the_server_is_up_arrives_when_it_is(tiny_model, tmp_path):
    report = run_emacs(tiny_model, tmp_path, "early", CODESHELL_TEST_SLOW_CMD=str(slow_server(tmp_path, 3)))
    assert report["typed_before_ready"]
    assert report["keys"] == "C-M-i"
    early = report["early"]
    assert early["after"] != early["before"] and early["after"].startswith(early["before"][: SOURCE.index("return a") + 8])
    stats = report["stats"]
    assert stats["shown"] == 1 and stats["accepted"] == 1
    assert stats["acceptedChars"] == len(early["after"]) - len(early["before"])


def test_accept_the_next_word_then_the_next_line(tiny_model, tmp_path):
    report = run_emacs(tiny_model, tmp_path, "partial")
    part = report["partial"]
    assert part["word_key"] == "C-c <right>" and part["line_key"] == "C-c <down>"
    assert len(part["before"]) < len(part["word"]) < len(part["line"])
    stats = report["stats"]
    assert stats["partiallyAccepted"] == 2
    assert stats["shown"] == 1
    assert stats["acceptedChars"] == len(part["line"]) - len(part["before"])


@pytest.mark.slow
def test_with_no_model_setting_c_m_i_inserts_a_real_suggestion(gemma, tmp_path):
    """The README's steps only: `models install gemma --default` in a fresh config folder
    and editors/emacs as it is, no model setting anywhere. After typing `self.`, C-M-i
    (Eglot's completion key) inserts a suggestion from Gemma that is not junk."""
    report = run_emacs(
        None, tmp_path, "bare", source_text=CLASS_SOURCE, default_model=gemma, CODESHELL_TEST_TYPE=CLASS_TYPED
    )
    assert "path" not in (report["init_options"].get("model") or {})
    assert report["keys"] == "C-M-i"
    bare = report["bare"]
    assert bare["before"] == CLASS_SOURCE + CLASS_TYPED
    assert bare["after"].startswith(bare["before"])
    inserted = bare["after"][len(bare["before"]) :]
    assert inserted.strip() and not junk(inserted), inserted
    stats = report["stats"]
    assert "gemma" in stats["model"].lower()
    assert stats["shown"] == 1 and stats["accepted"] == 1 and stats["acceptedChars"] == len(inserted)


def test_a_module_in_the_project_that_is_not_open_reaches_the_prompt(remote, tmp_path):
    """Eglot sends the project project.el finds (the git repository) as the workspace
    folder; after typing `util.` below `from pkg import util`, C-M-i asks, and the prompt
    the backend (set in codeshell-lsp-options, as a user sets it) receives has
    pkg/util.py's definitions, though no buffer visits that file."""
    write_project(tmp_path)
    report = run_emacs(
        None, tmp_path, "workspace", source_text=PROJECT_SOURCE,
        CODESHELL_TEST_SETTINGS=json.dumps(remote_settings(remote.url)), CODESHELL_TEST_TYPE=PROJECT_TYPED,
    )
    assert Path(report["root"]).resolve() == tmp_path.resolve()
    assert report["stats"]["workspaceFiles"] == PROJECT_FILES
    assert report["typed"] == PROJECT_SOURCE + PROJECT_TYPED
    check_the_module_reached_the_prompt(remote)
