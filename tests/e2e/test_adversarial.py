"""The adversarial run, rerunnable: the server spoken to as a hostile or broken client
would, in raw bytes. Each probe sends something, then the server must still answer; a
probe that carries request ids names the answer each must get, exactly once. Document
probes check the edited text against an independent reference (a fresh document with
the expected text must give the same prompt: a completion-cache hit).

``test_tally`` prints a table of probes tried / survived per family and fails on any
probe that did not survive; the probes are listed in ``FRAMING``, ``CONTENT``,
``PARAMS``, ``DOCUMENTS`` and the lifecycle family (one server per probe), and the
fault families of ``fault_probes`` (persistence, remote servers, settings, model
files; one server per probe as well).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from .fault_probes import FAMILIES, run_family
from .raw import Server, TcpClient, answers_to, completion_params, frame, init_params, notification, request, server_cmd

pytestmark = pytest.mark.model

ANY = "any"  # any answer, as long as there is exactly one
RESULT = "result"


def body(msg_id: Any, method: str = "codeshell/stats", params: Any = None) -> bytes:
    return json.dumps(request(msg_id, method, {} if params is None else params)).encode()


def framed(b: bytes, header: bytes = b"Content-Length: %d\r\n\r\n") -> bytes:
    return (header % len(b) if b"%d" in header else header) + b


@dataclass
class Probe:
    name: str
    send: bytes | Callable[[Server], None]
    expect: dict[Any, Any] = field(default_factory=dict)  # id -> ANY | RESULT | error code


def _framing() -> list[Probe]:
    p: list[Probe] = []
    p.append(Probe("no Content-Length (Content-Type only)", b"Content-Type: x\r\n\r\n" + body(1), {1: RESULT}))
    for cut in (1, 10):
        b = body(2 + cut)
        p.append(Probe(f"Content-Length short by {cut}", framed(b, b"Content-Length: %d\r\n\r\n" % (len(b) - cut)), {2 + cut: RESULT}))
    b = body(20)
    p.append(Probe("Content-Length half the body", framed(b, b"Content-Length: %d\r\n\r\n" % (len(b) // 2)), {20: ANY}))
    for extra in (1, 10, 500):
        b = body(30 + extra)
        p.append(Probe(f"Content-Length long by {extra}", framed(b, b"Content-Length: %d\r\n\r\n" % (len(b) + extra)), {30 + extra: RESULT}))
    for i, header in enumerate((b"content-length: %d\r\n\r\n", b"Content-Length:%d\r\n\r\n", b"Content-Length: %d\n\n",
                                b"CONTENT-LENGTH:   %d  \r\n\r\n", b"Content-Length: %d\r\n\n")):
        p.append(Probe(f"header spelled {header[:-4]!r}", framed(body(40 + i), header), {40 + i: RESULT}))
    for i, n in enumerate((10**10, 10**12, 2**63, 10**19 * 7)):
        b = body(50 + i)
        p.append(Probe(f"Content-Length {n}", b"Content-Length: %d\r\n\r\n" % n + b, {50 + i: ANY}))
    p.append(Probe("Content-Length 0, then the body", b"Content-Length: 0\r\n\r\n" + body(60), {60: ANY}))
    p.append(Probe("Content-Length -5", b"Content-Length: -5\r\n\r\n" + body(61), {61: ANY}))
    p.append(Probe("Content-Length abc", b"Content-Length: abc\r\n\r\n" + body(62), {62: ANY}))
    p.append(Probe("text before a frame", b"hello\r\n" + framed(body(63)), {63: RESULT}))
    p.append(Probe("binary junk before a frame", bytes(random.Random(1).randrange(256) for _ in range(300)) + framed(body(64)), {64: RESULT}))
    p.append(Probe("NUL bytes before a frame", b"\0" * 100 + framed(body(65)), {65: RESULT}))
    p.append(Probe("two frames in one write", framed(body(66)) + framed(body(67)), {66: RESULT, 67: RESULT}))
    p.append(Probe("extra Content-Type header", framed(body(68), b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"), {68: RESULT}))
    p.append(Probe("unknown header first", framed(body(69), b"X-Foo: bar\r\nContent-Length: %d\r\n\r\n"), {69: RESULT}))
    p.append(Probe("no blank line after the header", framed(body(70), b"Content-Length: %d\r\n"), {70: RESULT}))

    def byte_by_byte(s: Server) -> None:
        for b in framed(body(71)):
            s.send(bytes([b]))

    p.append(Probe("frame sent byte by byte", byte_by_byte, {71: RESULT}))
    p.append(Probe("header line 20,000 bytes long", b"X-Long: " + b"a" * 20000 + b"\r\n" + framed(body(72)), {72: RESULT}))
    p.append(Probe("many blank lines between frames", b"\r\n" * 1000 + framed(body(73)), {73: RESULT}))
    return p


def _content() -> list[Probe]:
    p: list[Probe] = []
    raw = lambda name, data, expect: p.append(Probe(name, framed(data), expect))  # noqa: E731
    raw("invalid UTF-8 in a string", b'{"jsonrpc":"2.0","id":100,"method":"x","params":{"a":"\xff\xfe"}}', {100: -32700})
    raw("invalid UTF-8 in a key", b'{"jsonrpc":"2.0","id":101,"method":"x","params":{"\xc3":1}}', {101: -32700})
    raw("overlong UTF-8", b'{"jsonrpc":"2.0","id":102,"method":"x","params":"\xc0\xaf"}', {102: -32700})
    raw("lone surrogate escape", b'{"jsonrpc":"2.0","id":103,"method":"codeshell/stats","params":{"s":"\\ud800"}}', {103: RESULT})
    raw("truncated JSON", body(104)[:-8], {104: -32700})
    raw("garbage after the JSON", body(105) + b"xyz", {105: -32700})
    raw("whitespace only", b"   \r\n  ", {})
    for i, v in enumerate((b"null", b"123", b'"s"', b"true", b"{}")):
        raw(f"message {v!r}", v, {})
    raw("empty batch", b"[]", {})
    raw("batch of two requests", b"[" + body(110) + b"," + body(111) + b"]", {110: -32600, 111: -32600})
    raw("batch of a notification", b'[{"jsonrpc":"2.0","method":"initialized","params":{}}]', {})
    raw("arrays nested 100,000 deep", b'{"jsonrpc":"2.0","id":112,"method":"x","params":' + b"[" * 100000 + b"]" * 100000 + b"}", {112: -32700})
    raw("objects nested 100,000 deep", b'{"jsonrpc":"2.0","id":113,"method":"x","params":' + b'{"a":' * 100000 + b"1" + b"}" * 100000 + b"}", {113: -32700})
    raw("arrays nested 500 deep", b'{"jsonrpc":"2.0","id":114,"method":"codeshell/stats","params":{"a":' + b"[" * 500 + b"]" * 500 + b"}}", {114: RESULT})
    raw("1e999", b'{"jsonrpc":"2.0","id":115,"method":"codeshell/stats","params":{"x":1e999}}', {115: RESULT})
    raw("NaN literal", b'{"jsonrpc":"2.0","id":116,"method":"codeshell/stats","params":{"x":NaN}}', {116: RESULT})
    raw("duplicate id keys", b'{"jsonrpc":"2.0","id":117,"id":118,"method":"codeshell/stats","params":{}}', {118: RESULT})
    for i, bad in enumerate(({"x": 1}, [1], 1.5, True)):
        raw(f"id {json.dumps(bad)}", json.dumps({"jsonrpc": "2.0", "id": bad, "method": "codeshell/stats", "params": {}}).encode(), {})
    raw("id null", b'{"jsonrpc":"2.0","id":null,"method":"codeshell/stats","params":{}}', {})
    raw("id 10,000 characters", body("k" * 10000), {"k" * 10000: RESULT})
    raw("id negative", body(-7), {-7: RESULT})
    raw("id 10**30", body(10**30), {10**30: RESULT})
    raw("id empty string", body(""), {"": RESULT})
    raw("no jsonrpc member", b'{"id":120,"method":"codeshell/stats","params":{}}', {120: -32600})
    raw('jsonrpc "1.0"', b'{"jsonrpc":"1.0","id":121,"method":"codeshell/stats","params":{}}', {121: -32600})
    raw("method a number", b'{"jsonrpc":"2.0","id":122,"method":5,"params":{}}', {122: -32600})
    raw("method null", b'{"jsonrpc":"2.0","id":123,"method":null,"params":{}}', {123: -32600})
    raw("method empty", body(124, ""), {124: -32601})
    raw("method unknown", body(125, "no/such"), {125: -32601})
    raw("method 100,000 characters", body(126, "m" * 100000), {126: -32601})
    raw("params a string", body(127, "codeshell/stats", "s"), {127: ANY})
    raw("$/cancelRequest as a request", body(128, "$/cancelRequest", {"id": 1}), {128: -32600})
    raw("initialized as a request", body(129, "initialized"), {129: -32600})
    raw("didOpen as a request", body(130, "textDocument/didOpen", {"textDocument": {"uri": "file:///r.py", "languageId": "python", "version": 1, "text": ""}}), {130: -32600})
    raw("exit as a request", body(131, "exit"), {131: -32600})
    raw("response to an unknown id", b'{"jsonrpc":"2.0","id":99999,"result":null}', {})
    raw("error response to an unknown id", b'{"jsonrpc":"2.0","id":99998,"error":{"code":1,"message":"x"}}', {})
    raw("response with an object id", b'{"jsonrpc":"2.0","id":{"a":1},"result":1}', {})
    raw("request with a result member too", b'{"jsonrpc":"2.0","id":132,"method":"codeshell/stats","params":{},"result":1}', {132: -32600})
    raw("params of 100,000 numbers", body(133, "codeshell/stats", list(range(100000))), {133: ANY})
    raw("params object of 50,000 keys", body(134, "codeshell/stats", {f"k{i}": i for i in range(50000)}), {134: RESULT})
    raw("UTF-8 BOM before the JSON", b"\xef\xbb\xbf" + body(135), {135: ANY})
    raw("notification with an unknown method", json.dumps(notification("no/such", {})).encode(), {})
    raw("notification with params null", b'{"jsonrpc":"2.0","method":"$/cancelRequest","params":null}', {})
    return p


def _params() -> list[Probe]:
    p: list[Probe] = []
    uri = "file:///adv/params.py"
    pos = lambda line, ch: {"textDocument": {"uri": uri}, "position": {"line": line, "character": ch}}  # noqa: E731
    req = lambda name, i, method, params, expect: p.append(Probe(name, framed(body(i, method, params)), {i: expect}))  # noqa: E731
    note = lambda name, method, params: p.append(Probe(name, framed(json.dumps(notification(method, params)).encode())))  # noqa: E731
    note("didOpen the params document", "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}})
    req("completion params {}", 200, "textDocument/completion", {}, -32602)
    req("completion params [1, 2]", 201, "textDocument/completion", [1, 2], -32602)
    req("completion line -1", 202, "textDocument/completion", pos(-1, 0), -32602)
    req("completion character -1", 203, "textDocument/completion", pos(0, -1), -32602)
    req("completion line 2**31", 204, "textDocument/completion", pos(2**31, 0), ANY)
    req("completion line 2**31-1", 205, "textDocument/completion", pos(2**31 - 1, 0), RESULT)
    req("completion character 2**53", 206, "textDocument/completion", pos(0, 2**53), ANY)
    req("completion without position", 207, "textDocument/completion", {"textDocument": {"uri": uri}}, -32602)
    req("completion uri a number", 208, "textDocument/completion", {"textDocument": {"uri": 5}, "position": {"line": 0, "character": 0}}, ANY)
    req("completion uri empty", 209, "textDocument/completion", {"textDocument": {"uri": ""}, "position": {"line": 0, "character": 0}}, RESULT)
    req("completion uri untitled:", 210, "textDocument/completion", {"textDocument": {"uri": "untitled:Untitled-1"}, "position": {"line": 0, "character": 0}}, RESULT)
    req("completion uri with escapes", 211, "textDocument/completion", {"textDocument": {"uri": "file:///a%20b/%E2%82%AC.py"}, "position": {"line": 0, "character": 0}}, RESULT)
    req("completion without textDocument", 212, "textDocument/completion", {"position": {"line": 0, "character": 0}}, -32602)
    req("completion line a string", 213, "textDocument/completion", pos("0", 0), ANY)  # type: ignore[arg-type]
    req("completion line a float", 214, "textDocument/completion", pos(0.5, 0), ANY)  # type: ignore[arg-type]
    req("inlineCompletion without context", 215, "textDocument/inlineCompletion", pos(0, 0), -32602)
    req("inlineCompletion bad triggerKind", 216, "textDocument/inlineCompletion", {**pos(0, 0), "context": {"triggerKind": 99}}, -32602)
    req("codeshell/stats params garbage", 217, "codeshell/stats", {"a": [None, {"b": 1}]}, RESULT)
    req("shutdown-like unknown method", 218, "workspace/executeCommand", {"command": "nope"}, ANY)
    note("didOpen without text", "textDocument/didOpen", {"textDocument": {"uri": "file:///adv/n.py", "languageId": "python", "version": 1}})
    note("didOpen version 2**40", "textDocument/didOpen", {"textDocument": {"uri": "file:///adv/v.py", "languageId": "python", "version": 2**40, "text": "a"}})
    note("didChange of an unopened document", "textDocument/didChange", {"textDocument": {"uri": "file:///adv/none.py", "version": 2}, "contentChanges": [{"text": "x"}]})
    note("didChange range negative", "textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "x"}]})
    note("didChange range far past the end", "textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"range": {"start": {"line": 10**6, "character": 10**6}, "end": {"line": 10**6, "character": 10**6}}, "text": "y"}]})
    note("didChange without contentChanges", "textDocument/didChange", {"textDocument": {"uri": uri, "version": 4}})
    note("didChange rangeLength only", "textDocument/didChange", {"textDocument": {"uri": uri, "version": 5}, "contentChanges": [{"rangeLength": 3, "text": "x = 2\n"}]})
    note("didClose of an unopened document", "textDocument/didClose", {"textDocument": {"uri": "file:///adv/never.py"}})
    note("didOpen the same document twice", "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 6, "text": "x = 3\n"}})
    note("didChangeConfiguration settings a string", "workspace/didChangeConfiguration", {"settings": "s"})
    note("didChangeConfiguration settings null", "workspace/didChangeConfiguration", {"settings": None})
    note("didChangeConfiguration codeshell a list", "workspace/didChangeConfiguration", {"settings": {"codeshell": [1, 2]}})
    note("didChangeConfiguration values of wrong types", "workspace/didChangeConfiguration", {"settings": {"codeshell": {"completion": {"maxTokens": "x", "suffixRatio": [1]}, "cache": {"reuse": "no"}}}})
    note("didChangeConfiguration nested 500 deep", "workspace/didChangeConfiguration", {"settings": {"codeshell": json.loads('{"a":' * 500 + "1" + "}" * 500)}})
    note("$/setTrace garbage", "$/setTrace", {"value": 17})
    note("$/cancelRequest unknown id", "$/cancelRequest", {"id": 123456})
    note("$/cancelRequest string id", "$/cancelRequest", {"id": "nope"})
    note("$/cancelRequest without params", "$/cancelRequest", None)
    note("didChangeWatchedFiles", "workspace/didChangeWatchedFiles", {"changes": [{"uri": "file:///x", "type": 9}]})
    note("workDoneProgress/cancel unknown token", "window/workDoneProgress/cancel", {"token": "none"})
    note("didAcceptCompletion garbage", "codeshell/didAcceptCompletion", {"text": 5})
    note("didClose the params document twice", "textDocument/didClose", {"textDocument": {"uri": uri}})
    note("didClose the params document again", "textDocument/didClose", {"textDocument": {"uri": uri}})
    return p


# --- documents: the edited text against an independent reference ------------------------

_EOL = re.compile(r"\r\n|\r|\n")


def ref_offset(text: str, line: int, ch: int) -> int:
    """LSP position -> index (UTF-16 units), written independently of the server's code."""
    starts = [0] + [m.end() for m in _EOL.finditer(text)]
    if line >= len(starts):
        return len(text)
    start = starts[line]
    m = _EOL.search(text, start)
    end = m.start() if m else len(text)
    units = 0
    for i in range(start, end):
        w = 2 if ord(text[i]) > 0xFFFF else 1
        if units + w > ch:
            return i
        units += w
    return end


def ref_apply(text: str, edit: tuple[int, int, int, int, str]) -> str:
    a, b, c, d, new = edit
    s, e = ref_offset(text, a, b), ref_offset(text, c, d)
    s, e = min(s, e), max(s, e)
    return text[:s] + new + text[e:]


@dataclass
class DocProbe:
    name: str
    text: str
    edits: list[tuple[int, int, int, int, str]]


def _documents() -> list[DocProbe]:
    p: list[DocProbe] = []
    for odd in ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"):
        p.append(DocProbe(f"edit after {odd!r}", f"import os\n{odd}\ndef f():\n    pass\nbeta_y", [(4, 6, 4, 6, "Z"), (3, 4, 3, 8, "return 1")]))
    p.append(DocProbe("past the end of the last line, no final newline", "alpha\nbeta\ngamma_three", [(2, 500, 2, 500, "Z")]))
    p.append(DocProbe("past the end of a middle line", "alpha\nbeta\ngamma", [(1, 99, 1, 99, "Z")]))
    p.append(DocProbe("line past the end", "alpha\nbeta\n", [(40, 0, 40, 3, "tail")]))
    p.append(DocProbe("CRLF document", "a = 1\r\nb = 2\r\nc", [(1, 4, 1, 5, "20"), (2, 1, 2, 1, " = 3")]))
    p.append(DocProbe("CR-only document", "a = 1\rb = 2\rc", [(1, 4, 1, 5, "20"), (2, 1, 2, 1, " = 3")]))
    p.append(DocProbe("mixed line ends", "a\r\nb\rc\nd", [(2, 1, 3, 0, "-")]))
    p.append(DocProbe("inside a surrogate pair", "s = '😀😀'\nx", [(0, 6, 0, 6, "Z")]))
    p.append(DocProbe("after emoji", "s = '😀😀'\nx", [(0, 9, 0, 9, "Z")]))
    p.append(DocProbe("reversed range", "abcdef\nxyz", [(0, 5, 0, 1, "Q")]))
    p.append(DocProbe("delete across lines", "one\ntwo\nthree\nfour", [(0, 2, 2, 3, "")]))
    p.append(DocProbe("empty document", "", [(0, 0, 0, 0, "def f():\n    return 1\n")]))
    p.append(DocProbe("NUL and BOM", "\ufeffx = '\0'\ny", [(1, 1, 1, 1, "yy")]))
    p.append(DocProbe("combining characters", "e\u0301\u0301 = 1\nz", [(0, 3, 0, 3, "_v")]))
    rng = random.Random(7)
    text = "def f(a, b):\n    return a + b\n\x0c\nclass C:\r\n    pass\r\n" * 3
    edits: list[tuple[int, int, int, int, str]] = []
    for _ in range(60):
        a, c = sorted(rng.randrange(18) for _ in range(2))
        edits.append((a, rng.randrange(20), c, rng.randrange(20), rng.choice(["", "x", "\n", "\r\n", "é😀", "\x0c", "  y = 2\n"])))
    p.append(DocProbe("60 random edits over odd line ends", text, edits))
    return p


def _doc_probe_ok(s: Server, i: int, d: DocProbe) -> bool:
    """Edit a document, then open one with the reference text: the same prompt must come out."""
    edited, fresh = f"file:///adv/doc{i}.py", f"file:///adv/ref{i}.py"
    s.open(edited, d.text)
    expected = d.text
    for version, e in enumerate(d.edits, start=2):
        a, b, c, dd, new = e
        change = {"range": {"start": {"line": a, "character": b}, "end": {"line": c, "character": dd}}, "text": new}
        s.send(notification("textDocument/didChange", {"textDocument": {"uri": edited, "version": version}, "contentChanges": [change]}))
        expected = ref_apply(expected, e)
    lines = _EOL.split(expected)
    at = (len(lines) - 1, sum(2 if ord(ch) > 0xFFFF else 1 for ch in lines[-1]))
    hits = s.ask("codeshell/stats", {})["result"]["completionCacheHits"]
    first = s.ask("textDocument/completion", completion_params(edited, *at), 60)
    s.send(notification("textDocument/didClose", {"textDocument": {"uri": edited}}))
    s.open(fresh, expected)
    second = s.ask("textDocument/completion", completion_params(fresh, *at), 60)
    s.send(notification("textDocument/didClose", {"textDocument": {"uri": fresh}}))
    now = s.ask("codeshell/stats", {})["result"]["completionCacheHits"]
    return "result" in first and first["result"] == second["result"] and now == hits + 1


# --- lifecycle: one server per probe -----------------------------------------------------


def _lifecycle(tiny_model: Path, tmp: Path) -> list[tuple[str, Callable[[], bool]]]:
    model = ("--model", str(tiny_model))

    def before_initialize() -> bool:
        with Server(*model) as s:
            a = s.ask("textDocument/completion", completion_params("file:///x.py", 0, 0))
            s.send(notification("textDocument/didOpen", {"textDocument": {"uri": "file:///x.py", "languageId": "python", "version": 1, "text": "x"}}))
            ok = a.get("error", {}).get("code") == -32002 and "Traceback" not in json.dumps(a)
            return ok and "result" in s.initialize()

    def second_initialize() -> bool:
        with Server(*model) as s:
            s.initialize()
            return s.ask("initialize", init_params()).get("error", {}).get("code") == -32600 and s.alive()

    def after_shutdown() -> bool:
        with Server(*model) as s:
            s.initialize()
            s.ask("shutdown")
            a = s.ask("codeshell/stats", {})
            s.send(notification("exit"))
            return a.get("error", {}).get("code") == -32600 and s.wait() == 0

    def exit_without_shutdown() -> bool:
        with Server(*model) as s:
            s.initialize()
            s.send(notification("exit"))
            return s.wait() == 1

    def exit_after_shutdown() -> bool:
        with Server(*model) as s:
            s.initialize()
            s.ask("shutdown")
            s.send(notification("exit"))
            return s.wait() == 0

    def on_signal(number: int) -> Callable[[], bool]:
        def probe() -> bool:
            with Server(*model) as s:
                s.initialize()
                s.open("file:///x.py", "def f():\n    return ")
                s.send(request(5, "textDocument/completion", completion_params("file:///x.py", 1, 11)))
                t0 = time.monotonic()
                s.signal(number)
                code = s.wait(10)
                return code == 128 + number and time.monotonic() - t0 < 5

        return probe

    def eof_exits() -> bool:
        with Server(*model) as s:
            s.initialize()
            s.proc.stdin.close()  # type: ignore[union-attr]
            return s.wait(10) == 0

    def client_stops_reading() -> bool:
        """Answers written into a pipe nobody reads any more: the server still exits on exit."""
        proc = subprocess.Popen(server_cmd(*model), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            proc.stdout.close()  # type: ignore[union-attr]
            for msg in (request(1, "initialize", init_params()), notification("initialized", {}), request(2, "codeshell/stats", {}),
                        request(3, "shutdown"), notification("exit")):
                proc.stdin.write(frame(msg))  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            return proc.wait(20) in (0, 1)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def fifo_model() -> bool:
        fifo = tmp / "model.fifo"
        if not fifo.exists():
            os.mkfifo(fifo)
        with Server() as s:
            t0 = time.monotonic()
            s.initialize({"model": {"path": str(fifo)}})
            s.open("file:///x.py", "def f():\n    return ")
            a = s.ask("textDocument/completion", completion_params("file:///x.py", 1, 11), 20)
            told = any("named pipe" in m.get("params", {}).get("message", "") for m in s.frames.seen if m.get("method") == "window/showMessage")
            fast = time.monotonic() - t0 < 10
            # Back to "" (the embedded default model): the engine thread must be free to load it.
            s.send(notification("workspace/didChangeConfiguration", {"settings": {"codeshell": {"model": {"path": ""}}}}))
            for _ in range(100):
                b = s.ask("codeshell/stats", {})
                if b["result"]["model"]:
                    break
                time.sleep(0.1)
            t1 = time.monotonic()
            s.ask("shutdown")
            quick_shutdown = time.monotonic() - t1 < 3
            return "result" in a and told and fast and bool(b["result"]["model"]) and quick_shutdown

    def truncated_model() -> bool:
        cut = tmp / "cut.gguf"
        data = tiny_model.read_bytes()
        cut.write_bytes(data[: len(data) - 1000])
        with Server() as s:
            rss0 = s.rss_kb()
            t0 = time.monotonic()
            s.initialize({"model": {"path": str(cut)}})
            s.open("file:///x.py", "x")
            s.ask("textDocument/completion", completion_params("file:///x.py", 0, 1))
            told = [m for m in s.frames.seen if m.get("method") == "window/showMessage" and "truncated" in m["params"]["message"]]
            return bool(told) and time.monotonic() - t0 < 10 and s.rss_kb() - rss0 < 100_000

    def device_model() -> bool:
        with Server("--model", "/dev/zero") as s:
            s.initialize()
            s.open("file:///x.py", "x")
            s.ask("textDocument/completion", completion_params("file:///x.py", 0, 1))
            return any("is a device" in m.get("params", {}).get("message", "") for m in s.frames.seen)

    def threads_256() -> bool:
        with Server("--model", str(tiny_model)) as s:
            s.initialize({"model": {"threads": 256}})
            s.open("file:///x.py", "def f():\n    return ")
            t0 = time.monotonic()
            s.ask("textDocument/completion", completion_params("file:///x.py", 1, 11), 60)
            return time.monotonic() - t0 < 10

    def tcp_two_clients() -> bool:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = subprocess.Popen(server_cmd(*model, "--tcp", "--port", str(port)), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            a = TcpClient(port)
            a.ask(1, "initialize", init_params())
            a.send(notification("initialized", {}))
            doc = {"uri": "file:///a.py", "languageId": "python", "version": 1, "text": "def f():\n    return "}
            a.send(notification("textDocument/didOpen", {"textDocument": doc}))
            b = TcpClient(port)
            refused = b.ask(1, "initialize", init_params(), 10)
            told = any("already serves another client" in m.get("params", {}).get("message", "") for m in b.frames.seen)
            b.close()
            time.sleep(0.3)
            answer = a.ask(2, "textDocument/completion", completion_params("file:///a.py", 1, 11), 60)
            alive = proc.poll() is None
            a.ask(3, "shutdown")
            a.send(notification("exit"))
            code = proc.wait(10)
            return ("error" in refused and told and "result" in answer and alive and code == 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def storm() -> bool:
        """6,000 messages, seeded: requests, notifications, cancels and junk; every request
        answered exactly once, memory within 25 %."""
        rng = random.Random(6000)
        with Server(*model) as s:
            s.initialize({"cache": {"speculative": False}})
            uri = "file:///storm.py"
            s.open(uri, "def f(a):\n    return a\n" * 20)
            s.ask("textDocument/completion", completion_params(uri, 3, 4), 60)  # the model loaded and warm
            rss0 = s.rss_kb()
            ids: list[int] = []
            out = bytearray()
            version = 1
            recent: list[tuple[int, int]] = []
            for i in range(6000):
                kind = rng.random()
                if kind < 0.3:
                    ids.append(10_000 + i)
                    # Never the cursor of either of the last two completions: a request for
                    # the same work rides on the other's run, and the engine leaves such a
                    # follower unanswered when its leader is cancelled (pinned separately
                    # by test_follower_of_a_cancelled_request_is_answered).
                    at = (rng.randrange(45), rng.randrange(9))
                    while at in recent:
                        at = (rng.randrange(45), rng.randrange(9))
                    recent = [at, *recent[:1]]
                    out += frame(request(10_000 + i, "textDocument/completion", completion_params(uri, *at)))
                elif kind < 0.4:
                    ids.append(10_000 + i)
                    out += frame(request(10_000 + i, "codeshell/stats", {}))
                elif kind < 0.75:
                    version += 1
                    line = rng.randrange(40)
                    change = {"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": rng.choice(["x", "", "\n", "# c\n"])}
                    out += frame(notification("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}))
                elif kind < 0.9 and ids:
                    out += frame(notification("$/cancelRequest", {"id": rng.choice(ids)}))
                else:
                    out += rng.choice([b"junk\r\n", b"Content-Length: 3\r\n\r\n{]}", frame(b"[1,2]")])
                if len(out) > 50_000:
                    s.send(bytes(out))
                    out.clear()
            s.send(bytes(out))
            counts = answers_to(s, ids)
            once = all(counts[i] == 1 for i in ids)
            rss = s.rss_kb()
            print(f"storm: {len(ids)} requests, {sum(counts[i] == 1 for i in ids)} answered once, "
                  f"{sum(counts[i] > 1 for i in ids)} more than once, RSS {rss0} -> {rss} kB; "
                  f"unanswered {sorted(set(ids) - set(counts))[:5]}")
            return once and s.alive() and rss < rss0 * 1.25 + 20_000

    def documents_with_cancels() -> bool:
        """5 documents x 200 changes with completions and cancels in between: each
        request answered exactly once."""
        rng = random.Random(5)
        with Server(*model) as s:
            s.initialize({"cache": {"speculative": False}})
            uris = [f"file:///many/{i}.py" for i in range(5)]
            for u in uris:
                s.open(u, "import os\n")
            ids: list[int] = []
            n = 0
            for step in range(200):
                for v, u in enumerate(uris):
                    change = {"range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}, "text": "x = 1\n"}
                    s.send(notification("textDocument/didChange", {"textDocument": {"uri": u, "version": step + 2}, "contentChanges": [change]}))
                    if rng.random() < 0.2:
                        n += 1
                        ids.append(n)
                        s.send(request(n, "textDocument/completion", completion_params(u, step + 1, 0)))
                        if rng.random() < 0.5:
                            s.send(notification("$/cancelRequest", {"id": n}))
            counts = answers_to(s, ids)
            return all(counts[i] == 1 for i in ids) and s.alive()

    return [
        ("completion before initialize: -32002, no traceback", before_initialize),
        ("second initialize: -32600", second_initialize),
        ("request after shutdown: -32600", after_shutdown),
        ("exit without shutdown: code 1", exit_without_shutdown),
        ("exit after shutdown: code 0", exit_after_shutdown),
        ("SIGINT mid-completion: code 130 within 5 s", on_signal(signal.SIGINT)),
        ("SIGTERM mid-completion: code 143 within 5 s", on_signal(signal.SIGTERM)),
        ("stdin closed: exits", eof_exits),
        ("client stops reading stdout: exits", client_stops_reading),
        ("model.path a FIFO: told at once, recovers, quick shutdown", fifo_model),
        ("model truncated inside its tensor data: told at once, no memory kept", truncated_model),
        ("model.path /dev/zero: refused", device_model),
        ("model.threads 256: capped", threads_256),
        ("two TCP clients: the second refused, the first unharmed", tcp_two_clients),
        ("6,000-message storm: every request answered once, memory flat", storm),
        ("5 documents x 200 changes with cancels: every request answered once", documents_with_cancels),
    ]


FRAMING, CONTENT, PARAMS, DOCUMENTS = _framing(), _content(), _params(), _documents()


def _run_stream_probes(s: Server, probes: list[Probe], failed: list[str]) -> None:
    used: set[str] = set()
    for probe in probes:
        if callable(probe.send):
            probe.send(s)
        else:
            s.send(probe.send)
        ok = True
        for msg_id, want in probe.expect.items():
            used.add(json.dumps(msg_id))
            try:
                a = s.frames.answer(msg_id, 10)
            except TimeoutError:
                ok = False
                continue
            if want == RESULT:
                ok &= "result" in a
            elif isinstance(want, int):
                ok &= a.get("error", {}).get("code") == want
        ok &= s.alive()
        if not ok:
            failed.append(probe.name)
    # Exactly once: a second answer to any probe's id would still be waiting here.
    extra = [a for a in s.frames.answers(1.0) if json.dumps(a.get("id")) in used]
    failed.extend(f"answered twice: {a.get('id')!r}" for a in extra)


def test_tally(tiny_model, tmp_path, capsys):
    """Every probe, family by family; the table of tried / survived printed at the end."""
    failed: list[str] = []
    table: dict[str, list[int]] = {}  # family -> [tried, survived]

    def count(family: str, names_failed: list[str], tried: int) -> None:
        table[family] = [tried, tried - len(names_failed)]
        failed.extend(f"{family}: {n}" for n in names_failed)

    opts = {"cache": {"speculative": False}, "context": {"otherFiles": False}}
    with Server("--model", str(tiny_model)) as s:
        s.initialize(opts)
        for family, group in (("framing", FRAMING), ("content", CONTENT), ("params", PARAMS)):
            lost: list[str] = []
            _run_stream_probes(s, group, lost)
            count(family, lost, len(group))
        count("documents", [d.name for i, d in enumerate(DOCUMENTS) if not _doc_probe_ok(s, i, d)], len(DOCUMENTS))
        # Memory: a second pass of the content probes (the largest messages) must not
        # grow the process again; the first pass sets the high-water mark.
        rss1 = s.rss_kb()
        again: list[str] = []
        _run_stream_probes(s, CONTENT, again)
        rss2 = s.rss_kb()
        with capsys.disabled():
            print(f"\nRSS after the probes {rss1} kB, after the content probes again {rss2} kB")
        grew = again or not (s.alive() and rss2 < rss1 * 1.1 + 20_000)
        count("memory", ["the content probes again"] if grew else [], 1)
    for family, build in (("lifecycle", _lifecycle), *FAMILIES.items()):
        scratch = tmp_path / family.replace(" ", "-")
        scratch.mkdir()
        with capsys.disabled():
            print(f"\n{family}:")
            results = list(run_family(build, tiny_model, scratch))
        count(family, [n for n, ok in results if not ok], len(results))
    with capsys.disabled():
        print("\nadversarial probes, per family (tried / survived):")
        for family, (tried, survived) in table.items():
            print(f"  {family:<12} {tried:>4} {survived:>4}")
        total = [sum(v[i] for v in table.values()) for i in (0, 1)]
        print(f"  {'all':<12} {total[0]:>4} {total[1]:>4}")
    assert not failed, failed


def test_follower_of_a_cancelled_request_is_answered(slow_model):
    """Two completions at one keystroke (completion + inlineCompletion, or a repeat), the
    first cancelled: the second must still get its answer."""
    from tests.conftest import long_python

    with Server("--model", str(slow_model)) as s:
        s.initialize({"completion": {"debounceMs": 300}})
        s.open("file:///a.py", long_python(100))
        s.ask("textDocument/completion", completion_params("file:///a.py", 3, 0), 60)
        s.send(request(1, "textDocument/completion", completion_params("file:///a.py", 300, 0)))
        time.sleep(0.1)
        s.send(request(2, "textDocument/completion", completion_params("file:///a.py", 300, 0)))
        time.sleep(0.1)
        s.send(notification("$/cancelRequest", {"id": 1}))
        assert s.frames.answer(1, 30)["error"]["code"] == -32800
        assert "result" in s.frames.answer(2, 30)
