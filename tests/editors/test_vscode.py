"""The VSCode extension: its manifest, its command, and VSCode's protocol library against the server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp

from codeshell_lsp.options import describe

from .conftest import CURSOR_LINE, HERE, PROJECT_FILES, PROJECT_SOURCE, PROJECT_TYPED, REPO, SOURCE, apply_edit
from .conftest import check_the_module_reached_the_prompt, editor_env, remote_settings, tool, unavailable, write_project

EXTENSION = REPO / "editors" / "vscode"
REQUEST_CANCELLED = -32800


def manifest() -> dict[str, Any]:
    return json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))


def vscode_capabilities() -> dict[str, Any]:
    """Capabilities recorded from VSCode (pytest-lsp's copy), plus what vscode-languageclient 11 adds."""
    recorded = Path(pytest_lsp.__file__).parent / "clients" / "visual_studio_code_v1.65.2.json"
    caps = json.loads(recorded.read_text(encoding="utf-8"))["capabilities"]
    caps["textDocument"]["inlineCompletion"] = {"dynamicRegistration": True}
    caps.setdefault("general", {})["positionEncodings"] = ["utf-16"]
    return caps


def test_manifest_is_a_valid_extension():
    pkg = manifest()
    for key in ("name", "publisher", "version", "main", "engines", "activationEvents", "contributes"):
        assert key in pkg, key
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", pkg["name"])
    assert re.fullmatch(r"\^?\d+\.\d+\.\d+", pkg["engines"]["vscode"])
    assert (EXTENSION / pkg["main"]).is_file()
    assert "vscode-languageclient" in pkg["dependencies"]
    lock = json.loads((EXTENSION / "package-lock.json").read_text(encoding="utf-8"))
    assert "node_modules/vscode-languageclient" in lock["packages"]
    # Every contributed command is registered by the extension, and the other way round.
    source = (EXTENSION / "extension.js").read_text(encoding="utf-8")
    registered = set(re.findall(r"registerCommand\('([^']+)'", source))
    assert {c["command"] for c in pkg["contributes"]["commands"]} == registered


def test_manifest_settings_match_the_servers():
    props = manifest()["contributes"]["configuration"]["properties"]
    server_keys = {f"codeshell.{key}": default for key, default, _ in describe()}
    for key, default in server_keys.items():
        assert key in props, f"{key} missing from package.json"
        assert props[key]["default"] == default, key
        assert props[key]["description"], key
    extension_only = set(props) - set(server_keys)
    assert all(k.startswith(("codeshell.server.", "codeshell.editor.", "codeshell.trace.")) for k in extension_only), extension_only


def test_extension_only_keys_are_not_sent_to_the_server():
    node = tool("node", "install Node.js >= 18")
    tree = {"server": {"command": "x"}, "editor": {"mode": "inline"}, "trace": {"server": "verbose"},
            "completion": {"maxTokens": 8}}
    out = subprocess.run(
        [node, "-e", f"console.log(JSON.stringify(require('./config').serverSettings({json.dumps(tree)})))"],
        cwd=EXTENSION, check=True, capture_output=True, text=True, timeout=30,
    )
    assert json.loads(out.stdout) == {"completion": {"maxTokens": 8}}


def test_only_what_the_user_set_is_sent_so_the_user_config_counts():
    """VS Code fills in every default; sent to the server, they would hide the user config."""
    node = tool("node", "install Node.js >= 18")
    tree = {"model": {"path": "", "threads": 0}, "completion": {"maxTokens": 8, "stop": []}, "editor": {"mode": "inline"}}
    script = (
        "const set = new Set(['completion.maxTokens', 'editor.mode']);"
        f"console.log(JSON.stringify(require('./config').serverSettings({json.dumps(tree)}, (k) => set.has(k))))"
    )
    out = subprocess.run([node, "-e", script], cwd=EXTENSION, check=True, capture_output=True, text=True, timeout=30)
    assert json.loads(out.stdout) == {"completion": {"maxTokens": 8}}


def test_only_the_users_own_values_are_sent_as_theirs():
    """What initializationOptions and unscoped workspace/configuration are made from: the
    user's own values (or defaults, which the extension then leaves out), never a
    workspace's (the server trusts them with the API key)."""
    node = tool("node", "install Node.js >= 18")
    merged = {"completion": {"maxTokens": 8, "stop": ["x"]}, "backend": {"url": "http://collector.example", "apiKeyEnv": "K"}}
    seen = {
        "completion.maxTokens": {"defaultValue": 64, "globalValue": 8},
        "completion.stop": {"defaultValue": [], "workspaceFolderValue": ["x"]},
        "backend.url": {"defaultValue": "", "workspaceValue": "http://collector.example"},
        "backend.apiKeyEnv": {"defaultValue": "", "globalValue": "K"},
    }
    script = f"const s = {json.dumps(seen)}; console.log(JSON.stringify(require('./config').userValues({json.dumps(merged)}, (k) => s[k])))"
    out = subprocess.run([node, "-e", script], cwd=EXTENSION, check=True, capture_output=True, text=True, timeout=30)
    assert json.loads(out.stdout) == {"completion": {"maxTokens": 8, "stop": []}, "backend": {"url": "", "apiKeyEnv": "K"}}


def test_extension_scripts_parse_and_start_codeshell_lsp_over_stdio():
    node = tool("node", "install Node.js >= 18")
    for script in ("extension.js", "config.js"):
        subprocess.run([node, "--check", str(EXTENSION / script)], check=True, capture_output=True, timeout=30)
    default = subprocess.run(
        [node, "-e", "console.log(JSON.stringify(require('./config').serverCommand({})))"],
        cwd=EXTENSION, check=True, capture_output=True, text=True, timeout=30,
    )
    assert json.loads(default.stdout) == {"command": "codeshell-lsp", "args": ["serve", "--stdio"]}
    source = (EXTENSION / "extension.js").read_text(encoding="utf-8")
    assert "TransportKind.stdio" in source and "serverCommand(" in source
    # The command line the extension builds is one the CLI accepts.
    cli = Path(sys.executable).parent / "codeshell-lsp"
    assert subprocess.run([cli, "serve", "--stdio", "--help"], capture_output=True, timeout=60).returncode == 0


def run_client(tmp: Path, text: str, line: int, settings: dict[str, Any]) -> dict[str, Any]:
    """One session of tests/editors/vscode_client.js and its report: ``tmp`` is the
    workspace folder, ``text`` its example.py (the file opened), asked at the end of
    ``line``; ``settings``: a user's settings.json, as `codeshell.*` keys nest."""
    node = tool("node", "install Node.js >= 18")
    if not (HERE / "node_modules" / "vscode-languageserver-protocol").is_dir():
        unavailable("vscode-languageserver-protocol not installed: npm ci --prefix tests/editors, or run .ci/editors.sh")
    source = tmp / "example.py"
    source.write_text(text, encoding="utf-8")
    spec = {"capabilities": vscode_capabilities(), "file": str(source), "text": text, "line": line, "settings": settings}
    (tmp / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    proc = subprocess.run(
        [node, str(HERE / "vscode_client.js"), str(tmp / "spec.json")],
        env=editor_env(tmp / "home"), cwd=HERE, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def vscode(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One session of tests/editors/vscode_client.js and its report."""
    return run_client(tmp_path_factory.mktemp("vscode"), SOURCE, CURSOR_LINE, {
        "server": {"args": ["--threads", "1"]},
        "editor": {"mode": "inline"},
        "model": {"path": str(tiny_model)},
        # The debounce makes the superseding below deterministic on a fast tiny model.
        "completion": {"maxTokens": 16, "debounceMs": 100},
    })


@pytest.mark.model
def test_initialize_with_vscode_capabilities(vscode):
    caps = vscode["serverCapabilities"]
    assert caps["inlineCompletionProvider"] is not None
    assert caps["completionProvider"] is not None
    assert caps["positionEncoding"] == "utf-16"
    assert caps["textDocumentSync"]["change"] == 2  # incremental
    assert vscode["command"][:3] == ["codeshell-lsp", "serve", "--stdio"]
    # workspace/configuration was asked for the user's values and the workspace folder's
    # (the client sends a folder), and answered with the server's keys only: nothing unknown.
    assert ["codeshell", "codeshell"] in vscode["configurationAsked"]
    assert not [m for m in vscode["shown"] if "unknown setting" in m], vscode["shown"]


@pytest.mark.model
def test_inline_completion_lands_in_the_document(vscode):
    step = vscode["steps"]["inline"]
    items = step["result"]["items"]
    assert len(items) == 1 and items[0]["insertText"]
    edit = {"range": items[0]["range"], "newText": items[0]["insertText"]}
    assert step["after"] == apply_edit(SOURCE, edit, "utf-16")
    assert step["after"] != SOURCE


@pytest.mark.model
def test_completion_item_lands_and_matches_the_inline_text(vscode):
    step = vscode["steps"]["completion"]
    items = step["result"]["items"]
    assert step["result"]["isIncomplete"] is True
    assert len(items) == 1
    edit = items[0]["textEdit"]
    assert step["after"] == apply_edit(SOURCE, edit, "utf-16")
    # Same place, same text: the item replaces the word "a" with "a" + the inline text.
    assert step["after"] == vscode["steps"]["inline"]["after"]
    assert items[0]["filterText"] == edit["newText"]


@pytest.mark.model
def test_superseded_request_answers_empty_and_the_newer_one_has_text(vscode):
    step = vscode["steps"]["superseded"]
    older = step["older"]
    assert older.get("error", {}).get("code") == REQUEST_CANCELLED or older["result"]["items"] == []
    newer = step["newer"]["result"]["items"]
    assert len(newer) == 1
    edit = newer[0]["textEdit"]
    assert edit["newText"].startswith("axy")  # the word typed so far is kept
    assert apply_edit(step["text"], edit, "utf-16") != step["text"]


@pytest.mark.model
def test_cancelled_request_answers_request_cancelled(vscode):
    step = vscode["steps"]["cancelled"]
    assert step.get("error", {}).get("code") == REQUEST_CANCELLED or step["result"]["items"] == []


@pytest.mark.model
def test_session_counters_and_clean_exit(vscode):
    stats = vscode["stats"]
    assert stats["cancelled"] >= 2
    assert stats["completionsServed"] >= 3
    assert stats["completionCacheHits"] >= 1
    assert vscode["exitCode"] == 0


@pytest.mark.model
def test_both_kinds_at_one_keystroke_still_answer(vscode):
    # VSCode asks inlineCompletion and completion together when both providers are on;
    # the server supersedes per document, so the extension asks for one kind only
    # (codeshell.editor.mode). Asked together, neither errors and one has the text.
    both = vscode["steps"]["both"]
    assert "error" not in both["inline"] and "error" not in both["completion"]
    assert both["inline"]["result"]["items"] or both["completion"]["result"]["items"]


def test_a_module_in_the_workspace_folder_that_is_not_open_reaches_the_prompt(remote, tmp_path):
    """The folder the extension's client sends is indexed, and the prompts the backend
    (set in settings.json, as a user sets it) receives have the definitions of
    pkg/util.py, which example.py imports and no one opens."""
    write_project(tmp_path)
    report = run_client(tmp_path, PROJECT_SOURCE + PROJECT_TYPED, PROJECT_SOURCE.count("\n"), remote_settings(remote.url))
    assert report["stats"]["workspaceFiles"] == PROJECT_FILES
    check_the_module_reached_the_prompt(remote)
