"""The adversarial run's fault families: what the world around the server does wrong.

Each probe starts its own server (raw JSON-RPC over pipes, ``raw.Server``) and returns
whether it survived: answered within its bounds, nothing lost, one clear message where
the user must act. ``FAMILIES`` maps a family name to a function building its probes
(``tiny_model``, a scratch folder) -> [(name, probe)].

- persistence: the KV folder and the log file (a file in the folder's place, temp files
  left by a killed writer, permissions of what is kept on disk, a corrupt snapshot).
- remote: model servers that never stop, drip, send huge or compressed answers.
- settings: values that must not poison a change (non-finite numbers, NaN) and
  credentials directed by workspace settings.
- model files: files longer than their tensors, odd paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Iterator

from tests.backends.helpers import ENDLESS, HUGE, QuietHandler, http_server

from .raw import Server, completion_params, frame, init_params, notification, request

Probe = tuple[str, Callable[[], bool]]
DOC = "file:///x.py"
TEXT = "def f():\n    return "


def shown(s: Server, *words: str, wait: float = 0) -> list[str]:
    """The window/showMessage texts seen so far that contain every one of ``words``
    (waiting up to ``wait`` s for a first one)."""
    deadline = time.monotonic() + wait
    while True:
        s.frames.answers(0.2)  # let messages in flight arrive
        found = [m["params"]["message"] for m in s.frames.seen
                 if m.get("method") == "window/showMessage" and all(w in m["params"]["message"] for w in words)]
        if found or time.monotonic() > deadline:
            return found


def peak_mb(s: Server) -> int:
    """The server's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{s.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) >> 10
    return 0


def complete(s: Server, timeout: float = 60) -> dict[str, Any]:
    return s.ask("textDocument/completion", completion_params(DOC, 1, 11), timeout)


def texts(answer: dict[str, Any]) -> list[str]:
    items = (answer.get("result") or {}).get("items") or []
    return [i.get("textEdit", {}).get("newText", "") for i in items]


def stop(s: Server) -> int:
    """shutdown + exit; the exit code."""
    s.ask("shutdown", None, 30)
    s.send(notification("exit"))
    return s.wait(20)


# --- persistence -----------------------------------------------------------------------


def _persistence(tiny_model: Path, tmp: Path) -> list[Probe]:
    model = ("--model", str(tiny_model))

    def env(name: str) -> tuple[dict[str, str], Path]:
        xdg = tmp / name
        xdg.mkdir(parents=True, exist_ok=True)
        return {"XDG_CACHE_HOME": str(xdg)}, xdg / "codeshell-lsp" / "kv"

    def unwritable(make: Callable[[Path], None], name: str) -> Callable[[], bool]:
        """The KV folder cannot be made: completions go on, the user is told once, the
        log does not repeat the warning at every save, shutdown exits 0."""
        def probe() -> bool:
            e, kv = env(name)
            make(kv)
            log = tmp / f"{name}.log"
            with Server(*model, env=e, log=log) as s:
                s.initialize()
                s.open(DOC, TEXT)
                answers = [complete(s) for _ in range(3)]
                for i in range(3):  # three documents, each saved when idle and at shutdown
                    s.open(f"file:///d{i}.py", TEXT)
                    s.ask("textDocument/completion", completion_params(f"file:///d{i}.py", 1, 11), 60)
                time.sleep(2.5)  # idle: snapshots are saved now
                told = shown(s, "KV")
                code = stop(s)
            warnings = [line for line in log.read_text(errors="replace").splitlines() if "WARNING" in line and "KV" in line]
            return all("result" in a for a in answers) and len(told) == 1 and code == 0 and len(warnings) <= 1
        return probe

    def file_in_place(kv: Path) -> None:
        kv.parent.mkdir(parents=True, exist_ok=True)
        kv.write_text("not a folder")

    def parent_a_file(kv: Path) -> None:
        kv.parent.parent.mkdir(parents=True, exist_ok=True)
        kv.parent.write_text("not a folder")

    def killed_writer_leftovers() -> bool:
        """A writer killed mid-save left MBs of temp files: gone after the next start."""
        e, kv = env("leftovers")
        kv.mkdir(parents=True)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        left = kv / f"{'a' * 40}.kv.tmp.{dead.pid}"
        left.write_bytes(b"\0" * (3 << 20))
        with Server(*model, env=e) as s:
            s.initialize()
            s.open(DOC, TEXT)
            a = complete(s)
            gone = not left.exists()
        return "result" in a and gone

    def private_files() -> bool:
        """KV folder 0700, KV files and the log file 0600, whatever the umask."""
        e, kv = env("private")
        log = tmp / "private" / "server.log"
        old = os.umask(0o022)
        try:
            with Server(*model, env=e, log=log) as s:
                s.initialize()
                s.open(DOC, TEXT)
                complete(s)
                stop(s)
        finally:
            os.umask(old)
        files = list(kv.glob("*.kv"))
        mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
        return (bool(files) and mode(kv) == 0o700 and mode(kv.parent) == 0o700
                and all(mode(f) == 0o600 for f in files) and mode(log) == 0o600)

    def corrupt_snapshot() -> bool:
        """Every saved snapshot overwritten with junk: ignored, completions go on."""
        e, kv = env("corrupt")
        with Server(*model, env=e) as s:
            s.initialize()
            s.open(DOC, TEXT)
            first = texts(complete(s))
            stop(s)
        for f in kv.glob("*.kv"):
            f.write_bytes(b"junk" * 1000)
        with Server(*model, env=e) as s:
            s.initialize()
            s.open(DOC, TEXT)
            again = texts(complete(s))
            return again == first and s.alive()

    def log_file_unusable(where: Callable[[], Path], name: str) -> Callable[[], bool]:
        """--log-file that cannot be opened: exit 1 with one line naming it."""
        def probe() -> bool:
            path = where()
            proc = subprocess.run([sys.executable, "-m", "codeshell_lsp", "serve", "--log-file", str(path)],
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            err = proc.stderr.decode(errors="replace").strip()
            return proc.returncode == 1 and len(err.splitlines()) == 1 and str(path) in err
        return probe

    def missing_folder() -> Path:
        return tmp / "no" / "such" / "folder" / "x.log"

    def a_folder() -> Path:
        (tmp / "logdir").mkdir(exist_ok=True)
        return tmp / "logdir"

    return [
        ("KV folder is a regular file: completions, one message, exit 0", unwritable(file_in_place, "kvfile")),
        ("KV folder's parent is a regular file: completions, one message, exit 0", unwritable(parent_a_file, "kvparent")),
        ("temp files of a killed writer: removed at the next start", killed_writer_leftovers),
        ("KV folder 0700, KV files and log 0600", private_files),
        ("corrupt KV snapshots: ignored, same completion", corrupt_snapshot),
        ("--log-file in a missing folder: exit 1, one line", log_file_unusable(missing_folder, "missing")),
        ("--log-file a folder: exit 1, one line", log_file_unusable(a_folder, "folder")),
    ]


# --- remote servers that misbehave ------------------------------------------------------


@dataclass
class Remote:
    """What the stdlib HTTP server in this process does with the next completion (the
    misbehaviours of ``tests.backends.helpers``, and a few more), and what it saw."""

    mode: str = "ok"
    url: str = ""
    auth: list[str] = field(default_factory=list)  # Authorization headers seen
    stop: threading.Event = field(default_factory=threading.Event)


def _remote_handler(state: Remote) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):

        def head(self, ctype: str, length: int | None = None, encoding: str = "") -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            if encoding:
                self.send_header("Content-Encoding", encoding)
            if length is not None:
                self.send_header("Content-Length", str(length))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()

        def write(self, data: bytes) -> bool:
            try:
                self.wfile.write(data)
                self.wfile.flush()
                return not state.stop.is_set()
            except OSError:
                return False

        def do_GET(self) -> None:
            self.auth()
            self._send(200, {"object": "list", "data": [{"id": "codeshell-7b"}]})

        def auth(self) -> None:
            if self.headers.get("Authorization"):
                state.auth.append(self.headers["Authorization"])

        def do_POST(self) -> None:
            self.auth()
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            mode = state.mode
            if mode in ENDLESS:
                self.head("text/event-stream")
                n = 0
                while self.write(ENDLESS[mode](n)):
                    n += 1
                    time.sleep(0.001 if mode == "endless" else 0.05)
            elif mode in HUGE:
                data, encoding = HUGE[mode]()
                self.head("application/json" if mode == "huge-json" else "text/event-stream", len(data), encoding)
                self.write(data)
            elif mode == "headers-then-silence":
                self.head("text/event-stream")
                state.stop.wait(120)
            elif mode == "redirect":
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:9/v1/completions")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif mode == "bad-utf8":
                self._send(200, b'data: {"choices": [{"text": "\xff\xfe ok"}]}\n\ndata: [DONE]\n\n', "text/event-stream")
            else:
                event = {"choices": [{"text": "return 1", "finish_reason": "stop"}]}
                self._send(200, f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode(), "text/event-stream")

    return Handler


@contextlib.contextmanager
def remote_server(mode: str = "ok") -> Iterator[Remote]:
    state = Remote(mode)
    with http_server(_remote_handler(state)) as state.url:
        try:
            yield state
        finally:
            state.stop.set()  # endless answers let go before the server shuts down


def _remote(tiny_model: Path, tmp: Path) -> list[Probe]:
    def bounded(mode: str, limit_s: float, rss_mb: int = 200) -> Callable[[], bool]:
        """A completion against a server in ``mode``: answered within ``limit_s``, memory
        within ``rss_mb``, and the next request answered too."""
        def probe() -> bool:
            if mode in HUGE:
                HUGE[mode]()  # built now: building it must not look like a silent server
            with remote_server(mode) as r, Server() as s:
                s.initialize({"backend": {"kind": "openai", "url": r.url, "timeoutMs": 1000},
                              "completion": {"maxTokens": 16, "debounceMs": 0}})
                s.open(DOC, TEXT)
                peak0 = peak_mb(s)
                t0 = time.monotonic()
                try:
                    a = complete(s, limit_s + 30)
                except TimeoutError:
                    return False
                took = time.monotonic() - t0
                grew = peak_mb(s) - peak0
                r.mode = "ok"
                time.sleep(1.2)  # past the backoff a failure starts
                s.open("file:///y.py", "def g():\n    return ")  # not the cached answer of the first
                b = s.ask("textDocument/completion", completion_params("file:///y.py", 1, 11), 30)
                print(f"    remote {mode}: answered in {took:.1f} s, peak RSS +{grew} MB, next: {texts(b)}")
                return "result" in a and took < limit_s and grew < rss_mb and "result" in b and s.alive()
        return probe

    return [
        ("ignores max_tokens, streams words without a newline: answered", bounded("endless", 10)),
        ("drips bytes, never a whole line: answered within the total deadline", bounded("drip", 10)),
        ("SSE comments only, forever: answered within the total deadline", bounded("keepalive", 10)),
        ("headers, then silence: answered after timeoutMs", bounded("headers-then-silence", 10)),
        ("a 50 MB JSON body: answered, memory bounded", bounded("huge-json", 10)),
        ("a 50 MB event line: answered, memory bounded", bounded("huge-line", 10)),
        ("a gzip bomb (400 MB of spaces): answered, memory bounded", bounded("gzip-bomb", 10)),
        ("a redirect to another host: not followed, answered", bounded("redirect", 10)),
        ("invalid UTF-8 in an event: answered", bounded("bad-utf8", 10)),
    ]


# --- settings ---------------------------------------------------------------------------


def _raw_config(s: Server, settings_json: bytes) -> None:
    """didChangeConfiguration with the codeshell tree given as raw JSON text (1e400, NaN)."""
    body = b'{"jsonrpc":"2.0","method":"workspace/didChangeConfiguration","params":{"settings":{"codeshell":' + settings_json + b"}}}"
    s.send(frame(body))


def _answer_configuration(s: Server, answer: Callable[[dict[str, Any]], Any], timeout: float = 10) -> bool:
    """Answer the server's workspace/configuration requests until one has come (and a
    moment more for a second); True when at least one came."""
    deadline = time.monotonic() + timeout
    got = False
    while time.monotonic() < deadline:
        try:
            m = s.frames.next(0.3 if got else 1)
        except Exception:
            if got:
                return True
            continue
        if m.get("method") == "workspace/configuration":
            s.send({"jsonrpc": "2.0", "id": m["id"], "result": [answer(item) for item in m["params"]["items"]]})
            got = True
    return got


def _settings(tiny_model: Path, tmp: Path) -> list[Probe]:
    model = ("--model", str(tiny_model))

    def poison(key_json: bytes, key: str) -> Callable[[], bool]:
        """One bad number and a valid key in the same change: one message naming the bad
        key, the valid key applied (a missing model.path: its own message), server up."""
        def probe() -> bool:
            with Server() as s:  # no --model: model.path decides
                s.initialize()
                missing = str(tmp / f"{uuid.uuid4().hex}.gguf")  # a name that does not contain the key
                _raw_config(s, b'{' + key_json + b', "model": {"path": ' + json.dumps(missing).encode() + b'}}')
                applied = shown(s, missing, wait=20)
                about_key = shown(s, key.rsplit(".", 1)[-1])
                return len(about_key) == 1 and len(applied) == 1 and s.alive()
        return probe

    def nan_temperature() -> bool:
        """temperature NaN: refused with one message, completions still come."""
        with Server(*model) as s:
            s.initialize()
            _raw_config(s, b'{"completion": {"temperature": NaN}}')
            s.open(DOC, TEXT)
            a = complete(s)
            return bool(texts(a)) and len(shown(s, "temperature")) == 1 and not shown(s, "Probabilities")

    def key_to(where: str) -> Callable[[], bool]:
        """backend.url + backend.apiKeyEnv in ``where``: the key reaches the URL only when
        both come from the user's own settings; otherwise the user is told why not."""
        def probe() -> bool:
            with remote_server() as r:
                tree = {"backend": {"kind": "openai", "url": r.url, "apiKeyEnv": "PROBE_SECRET"}, "completion": {"debounceMs": 0}}
                caps = {"workspace": {"configuration": True}}
                with Server(env={"PROBE_SECRET": "s3cret"}) as s:
                    params = init_params(tree if where == "user" else None)
                    params["capabilities"] = caps
                    params["rootUri"] = "file:///project"
                    s.send(request(1, "initialize", params))
                    s.frames.answer(1, 20)
                    s.send(notification("initialized", {}))
                    _answer_configuration(s, lambda item: tree if where == "workspace" and item.get("scopeUri") else {})
                    s.open(DOC, TEXT)
                    a = complete(s, 30)
                    sent = any("s3cret" in h for h in r.auth)
                    if where == "user":
                        return "result" in a and sent
                    return "result" in a and not sent and len(shown(s, "apiKeyEnv")) == 1
        return probe

    return [
        ("maxTokens 1e400 with a valid key: one message, the rest applied", poison(b'"completion": {"maxTokens": 1e400}', "completion.maxTokens")),
        ("debounceMs 1e400 with a valid key: one message, the rest applied", poison(b'"completion": {"debounceMs": 1e400}', "completion.debounceMs")),
        ("completionCacheSize 1e400 with a valid key", poison(b'"cache": {"completionCacheSize": 1e400}', "cache.completionCacheSize")),
        ("topP -1e400 with a valid key", poison(b'"completion": {"topP": -1e400}', "completion.topP")),
        ("topP 10**400 (an integer) with a valid key", poison(b'"completion": {"topP": 1' + b"0" * 400 + b"}", "completion.topP")),
        ("temperature NaN: refused, completions go on", nan_temperature),
        ("url + apiKeyEnv in workspace settings: key not sent, one message", key_to("workspace")),
        ("url + apiKeyEnv in user settings: key sent", key_to("user")),
    ]


# --- model files ------------------------------------------------------------------------


def _model_files(tiny_model: Path, tmp: Path) -> list[Probe]:
    def refused_fast(make: Callable[[], str], words: str) -> Callable[[], bool]:
        """model.path set to what ``make`` returns: told within 10 s (a message with
        ``words``), memory flat, and back to the embedded model quickly."""
        def probe() -> bool:
            path = make()
            with Server() as s:
                peak0 = peak_mb(s)
                t0 = time.monotonic()
                s.initialize({"model": {"path": path}})
                s.open(DOC, TEXT)
                s.ask("textDocument/completion", completion_params(DOC, 1, 11), 60)
                told = shown(s, words, wait=5)
                fast = time.monotonic() - t0 < 10
                grew = peak_mb(s) - peak0
                t1 = time.monotonic()
                s.send(notification("workspace/didChangeConfiguration", {"settings": {"codeshell": {"model": {"path": ""}}}}))
                back = texts(s.ask("textDocument/completion", completion_params(DOC, 1, 11), 60))
                recovered = time.monotonic() - t1
                print(f"    {words}: told {bool(told)}, {time.monotonic() - t0:.1f} s, peak RSS +{grew} MB, recovered in {recovered:.1f} s")
                return bool(told) and fast and grew < 200 and bool(back) and recovered < 10
        return probe

    def stretched() -> str:
        """2 GB, not the 20 GB of the report: a server that reads it whole must not take
        the machine's memory from everyone else running tests."""
        big = tmp / "stretched.gguf"
        big.write_bytes(tiny_model.read_bytes())
        os.truncate(big, 2 << 30)  # sparse: no disk used
        return str(big)

    def nul_in_path() -> str:
        return str(tmp / "a\0b.gguf")

    def long_path() -> str:
        return "/" + "x" * 5000 + ".gguf"

    def symlink_loop() -> str:
        loop = tmp / "loop.gguf"
        if not loop.is_symlink():
            loop.symlink_to(loop)
        return str(loop)

    def trailing_bytes() -> bool:
        """A model with a few bytes after its tensors (padding) still loads."""
        padded = tmp / "padded.gguf"
        padded.write_bytes(tiny_model.read_bytes() + b"\0" * 32)
        with Server("--model", str(padded)) as s:
            s.initialize()
            s.open(DOC, TEXT)
            return bool(texts(complete(s)))

    return [
        ("model stretched to 2 GB: told at once, memory flat, quick recovery", refused_fast(stretched, "tensors end")),
        ("model.path with a NUL character: told, recovers", refused_fast(nul_in_path, "model")),
        ("model.path 5,000 characters: told, recovers", refused_fast(long_path, "model")),
        ("model.path a symlink loop: told, recovers", refused_fast(symlink_loop, "model")),
        ("model with 32 bytes of padding after its tensors: loads", trailing_bytes),
    ]


FAMILIES: dict[str, Callable[[Path, Path], list[Probe]]] = {
    "persistence": _persistence,
    "remote": _remote,
    "settings": _settings,
    "model files": _model_files,
}


def run_family(build: Callable[[Path, Path], list[Probe]], tiny_model: Path, tmp: Path) -> Iterator[tuple[str, bool]]:
    """(name, survived) for each probe of a family; a probe that raises did not survive."""
    for name, probe in build(tiny_model, tmp):
        t0 = time.monotonic()
        try:
            ok = probe()
        except Exception as e:
            ok, name = False, f"{name} ({type(e).__name__}: {e})"
        print(f"  {'ok  ' if ok else 'FAIL'} {name} ({time.monotonic() - t0:.1f} s)")
        yield name, ok
