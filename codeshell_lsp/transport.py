"""The byte stream: LSP frames in, messages to the protocol, one answer per request.

pygls' own reader never resynchronises after a bad frame (every later message goes
unanswered) and dies on a huge Content-Length. This reader:

- finds frames by a ``Content-Length`` header, in any letter case, with or without a
  space, with ``\\r\\n`` or bare ``\\n`` line ends, and skips what lies between frames;
- notices a Content-Length that is too long (the next header shows up inside the
  body: a raw newline cannot occur inside a JSON text, so a header line there cannot
  belong to it) or a frame that never completes (the body so far is a whole JSON
  value and the client went quiet), and takes the message it holds;
- refuses bodies over ``max_bytes`` (CODESHELL_LSP_MAX_MESSAGE_MB, default 64)
  without buffering them, answering the request when its id can be read;
- answers what does not parse with JSON-RPC's errors: -32700 (not JSON, not UTF-8,
  nested too deep), -32600 (a batch, an id that is not a string or number, a
  message that is not an object).

``Framer`` is the pure framing state machine; ``serve`` drives it from an async chunk
source (stdin through a reader thread, or a TCP connection).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import attrs
from lsprotocol import types
from pygls.protocol import JsonRPCProtocol

from .log import get_logger

log = get_logger(__name__)

MAX_MESSAGE_ENV = "CODESHELL_LSP_MAX_MESSAGE_MB"
DEFAULT_MAX_MESSAGE_MB = 64
STALL_S = 0.5  # quiet time after which an incomplete frame is looked at again
CHUNK = 1 << 16
_HEADER_BLOCK_MAX = 8192  # a header block longer than this is junk

PARSE_ERROR = -32700
INVALID_REQUEST = -32600

_TOKEN = re.compile(rb"content-length", re.I)
_LENGTH_LINE = re.compile(rb"content-length[ \t]*:[ \t]*(\d{1,20})[ \t]*\r?\n", re.I)
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:[^\r\n]*\r?\n")
# The id of a request whose body does not parse, read only where it cannot belong to
# anything nested: among the leading top-level string members.
_LEADING_ID = re.compile(
    rb'^\s*\{\s*(?:"(?:jsonrpc|method)"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*)*"id"\s*:\s*(-?\d{1,18}(?![.eE\d])|"(?:[^"\\]|\\.){0,200}")'
)


def max_message_bytes() -> int:
    """The size limit of one message body (from $CODESHELL_LSP_MAX_MESSAGE_MB)."""
    raw = os.environ.get(MAX_MESSAGE_ENV, "")
    try:
        mb = float(raw) if raw else DEFAULT_MAX_MESSAGE_MB
    except ValueError:
        log.warning("%s=%r is not a number: using %d", MAX_MESSAGE_ENV, raw, DEFAULT_MAX_MESSAGE_MB)
        mb = DEFAULT_MAX_MESSAGE_MB
    return max(1024, int(mb * (1 << 20)))


_UNPARSED = object()


@dataclass(frozen=True)
class Body:
    """A message body found in the stream; ``note`` says what was wrong with its frame,
    ``parsed`` is its JSON when the framer already parsed it."""

    data: bytes
    note: str = ""
    parsed: Any = _UNPARSED


@dataclass(frozen=True)
class Junk:
    """Bytes between frames (or a frame body that was cut short)."""

    data: bytes


@dataclass(frozen=True)
class Oversize:
    """A body over the limit, skipped; ``head`` is its start (to find the request's id)."""

    length: int
    head: bytes
    limit: int


Event = Body | Junk | Oversize


class Framer:
    """Bytes in, frame events out. No I/O, no parsing beyond what resynchronising needs."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes or max_message_bytes()
        self._buf = bytearray()
        self._body_at = -1  # start of the body being read (in _buf), -1 while reading headers
        self._length = 0
        self._scanned = 0  # body bytes already searched for a stray header
        self._skip = 0  # bytes of an oversized body still to discard
        self._skip_length = 0
        self._skip_head = b""
        self._suspect = b""  # a body that did not parse: its Content-Length may have been too short

    @property
    def pending(self) -> bool:
        """Something incomplete is buffered (the caller should call ``stall`` when quiet)."""
        buf = self._buf
        return self._body_at >= 0 or self._skip > 0 or bool(self._suspect) or len(buf) > 64 or bool(buf.strip())

    def feed(self, data: bytes) -> list[Event]:
        self._buf += data
        return self._drain()

    def stall(self) -> list[Event]:
        """The client went quiet with a frame incomplete: take the message it holds, if whole."""
        events: list[Event] = []
        if self._skip:
            if self._skip == self._skip_length and _whole_json(bytes(self._buf)):
                events.append(Body(bytes(self._buf), f"Content-Length said {self._skip_length} bytes but the message ended after {len(self._buf)}"))
                self._buf.clear()
                self._skip = 0
            return events
        if self._body_at >= 0:
            body = bytes(self._buf[self._body_at :])
            if _whole_json(body):
                events.append(Body(body, f"Content-Length said {self._length} bytes but the message ended after {len(body)}"))
                self._reset_header()
                self._buf.clear()
            return events
        junk = bytes(self._buf)
        if self._suspect:
            self._buf.clear()
            self._scanned = 0
            self._resolve_suspect(junk, events)
        elif _salvage(junk) is not None:
            self._buf.clear()
            self._scanned = 0
            events.append(Junk(junk))
        return events

    def _resolve_suspect(self, junk: bytes, events: list[Event]) -> None:
        """A body that did not parse, and the bytes after it up to the next frame: one
        message whose Content-Length was too short, or a bad body and junk."""
        suspect, self._suspect = self._suspect, b""
        joined = _parse(suspect + junk) if junk.strip() else _UNPARSED
        if joined is not _UNPARSED:
            events.append(Body(suspect + junk, f"Content-Length said {len(suspect)} bytes but the message had {len(suspect + junk)}", joined))
            return
        events.append(Body(suspect))
        if junk.strip():
            events.append(Junk(junk))

    def eof(self) -> list[Event]:
        events = self.stall()
        if self._suspect:
            self._resolve_suspect(b"", events)
        if self._skip:
            events.append(Oversize(self._skip_length, self._skip_head or bytes(self._buf[:256]), self.max_bytes))
            self._skip = 0
        rest = bytes(self._buf)
        self._buf.clear()
        if rest.strip():
            events.append(Junk(rest))
        return events

    # --- inside --------------------------------------------------------------------------

    def _reset_header(self) -> None:
        self._body_at, self._length, self._scanned = -1, 0, 0

    def _drain(self) -> list[Event]:
        events: list[Event] = []
        while True:
            if self._skip:
                if not self._skipping(events):
                    return events
            elif self._body_at >= 0:
                if not self._body(events):
                    return events
            elif not self._header(events):
                return events

    def _header(self, events: list[Event]) -> bool:
        buf = self._buf
        m = _TOKEN.search(buf, max(0, self._scanned - 16))
        if m is None:
            self._scanned = len(buf)  # junk so far holds no header: not searched again
            if len(buf) > self.max_bytes:
                events.append(Junk(bytes(buf[:200])))
                buf.clear()
                self._scanned = 0
            return False
        self._scanned = 0
        if m.start() or self._suspect:
            junk = bytes(buf[: m.start()])
            del buf[: m.start()]
            if self._suspect:
                self._resolve_suspect(junk, events)
            elif junk.strip():
                events.append(Junk(junk))
        line = _LENGTH_LINE.match(buf)
        if line is None:
            if b"\n" not in buf[:_HEADER_BLOCK_MAX] and len(buf) < _HEADER_BLOCK_MAX:
                return False  # the header line has not fully arrived
            events.append(Junk(bytes(buf[: len("content-length")])))
            del buf[: len("content-length")]
            return True
        pos = line.end()
        while True:  # further header lines, up to the blank line
            if buf.startswith(b"\r\n", pos) or buf.startswith(b"\n", pos):
                pos += 2 if buf[pos] == 0x0D else 1
                break
            h = _HEADER_LINE.match(buf, pos)
            if h is not None:
                pos = h.end()
                continue
            rest = buf[pos : pos + _HEADER_BLOCK_MAX]
            if rest[:1] not in (b"{", b"[") and b"\n" not in rest and len(rest) < _HEADER_BLOCK_MAX:
                return False  # a header line still arriving
            break  # no blank line: the body starts here
        length = int(line.group(1))
        del buf[:pos]
        if length > self.max_bytes:
            self._skip, self._skip_length, self._skip_head = length, length, b""
            return True
        self._body_at, self._length, self._scanned = 0, length, 0
        return True

    def _body(self, events: list[Event]) -> bool:
        buf, end = self._buf, self._body_at + self._length
        # A header line inside the body means the length was too long: the body ends there.
        search_from = max(self._body_at, self._scanned - 64)
        stray = _LENGTH_LINE.search(buf, search_from, min(len(buf), end + 64))
        if stray is not None and stray.start() < end:
            body = bytes(buf[self._body_at : stray.start()])
            note = f"Content-Length said {self._length} bytes but the next header came after {len(body)}"
            del buf[: stray.start()]
            self._reset_header()
            events.append(Body(body, note) if _whole_json(body) else Junk(body))
            return True
        self._scanned = min(len(buf), end)
        if len(buf) < end:
            return False
        body = bytes(buf[self._body_at : end])
        del buf[:end]
        self._reset_header()
        parsed = _parse(body)
        if parsed is _UNPARSED and body.lstrip()[:1] == b"{" and _truncated(body):
            self._suspect = body  # decided when the next frame starts or the client goes quiet
        else:
            events.append(Body(body, parsed=parsed))
        return True

    def _skipping(self, events: list[Event]) -> bool:
        buf = self._buf
        if self._skip == self._skip_length:
            self._skip_head = bytes(buf[:256])
        # A real body over the limit holds no header line; a lying length is followed by one.
        stray = _LENGTH_LINE.search(buf, 0, min(len(buf), self._skip + 64))
        if stray is not None and stray.start() < self._skip:
            del buf[: stray.start()]
        elif len(buf) >= self._skip:
            del buf[: self._skip]
        else:
            # Keep the start while it is small (a lying length around a small message is
            # taken whole when the client goes quiet), then only a tail a header may straddle.
            keep = min(65536, self.max_bytes // 2) if self._skip == self._skip_length else 64
            drop = max(0, len(buf) - keep)
            del buf[:drop]
            self._skip -= drop
            return False
        self._skip = 0
        events.append(Oversize(self._skip_length, self._skip_head, self.max_bytes))
        return True


def _strip_headers(data: bytes) -> bytes:
    """``data`` without leading whitespace and header lines (a message sent without Content-Length)."""
    pos = 0
    while True:
        while pos < len(data) and data[pos] in b" \t\r\n":
            pos += 1
        h = _HEADER_LINE.match(data, pos)
        if h is None:
            return data[pos:]
        pos = h.end()


def _parse(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return _UNPARSED


def _truncated(data: bytes) -> bool:
    """The JSON text in ``data`` ends before it is complete (not merely malformed)."""
    try:
        json.loads(data)
    except UnicodeDecodeError:
        return False
    except json.JSONDecodeError as e:
        return e.pos >= len(data.rstrip()) or e.msg.startswith("Unterminated string")
    except (ValueError, RecursionError):
        return False
    return False


def _salvage(data: bytes) -> bytes | None:
    """The message in bytes found outside a frame: after header lines, or after the
    first line break that a ``{`` follows (a broken header line before it)."""
    body = _strip_headers(data)
    if _whole_json(body):
        return body
    at = data.find(b"\n{")
    if at >= 0 and _whole_json(data[at + 1 :]):
        return data[at + 1 :]
    return None


def _whole_json(data: bytes) -> bool:
    """``data`` is one complete JSON object or array (and nothing but whitespace after it)."""
    text = data.strip()
    if text[:1] not in (b"{", b"[") or text[-1:] not in (b"}", b"]"):
        return False
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def leading_id(data: bytes) -> int | str | None:
    """The id of a request whose body does not parse, where it can be read safely."""
    m = _LEADING_ID.match(data[:4096])
    if m is None:
        return None
    raw = m.group(1)
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, (int, str)) else None


def request_id(event: Event) -> int | str | None:
    """The id of the request an event carries, if it is one (parsed or read from its start)."""
    if isinstance(event, Oversize):
        return leading_id(event.head)
    data = event.data if isinstance(event, Body) else _strip_headers(event.data)
    try:
        msg = json.loads(data)
    except (ValueError, RecursionError):
        return leading_id(data)
    if isinstance(msg, dict) and "method" in msg and _valid_id(msg.get("id")):
        return msg["id"]
    return None


# --- messages ---------------------------------------------------------------------------


def _is_notification_method(method: str) -> bool:
    """LSP defines ``method`` as a notification (its message type has no id)."""
    entry = types.METHOD_TO_TYPES.get(method)
    if not entry or entry[0] is None:
        return False
    try:
        return "id" not in attrs.fields_dict(entry[0])
    except (TypeError, attrs.exceptions.NotAnAttrsClassError):
        return False


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class Dispatcher:
    """Bodies -> checked JSON-RPC messages -> the protocol; errors answered here."""

    def __init__(self, protocol: JsonRPCProtocol) -> None:
        self.protocol = protocol

    def error(self, msg_id: Any, code: int, message: str) -> None:
        log.warning("answering %s with error %d: %s", msg_id, code, message)
        # Written as a plain object: pygls would drop a null id, which JSON-RPC requires.
        self.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})

    def handle(self, event: Event) -> None:
        if isinstance(event, Body):
            if event.note:
                log.warning("bad frame: %s", event.note)
            self.body(event.data, event.parsed)
        elif isinstance(event, Oversize):
            size = f"{event.length / (1 << 20):.0f} MB" if event.length >= 1 << 20 else f"{event.length} bytes"
            message = f"message of {size} refused: larger than the {event.limit / (1 << 20):g} MB limit (${MAX_MESSAGE_ENV})"
            msg_id = leading_id(event.head)
            if msg_id is not None:
                self.error(msg_id, INVALID_REQUEST, message)
            else:
                log.warning("%s", message)
        else:
            self.junk(event.data)

    def junk(self, data: bytes) -> None:
        body = _salvage(data)
        if body is not None:
            log.warning("a message came without a usable Content-Length header: handled anyway")
            self.body(body)
            return
        body = _strip_headers(data)
        if not body:
            log.debug("skipped header lines outside a frame: %r", data[:200])
            return
        snippet = " ".join(data[:80].decode("utf-8", "replace").split())
        log.warning("skipped %d bytes that are not an LSP frame: %r", len(data), snippet)
        msg_id = leading_id(body)
        if msg_id is not None:
            self.error(msg_id, PARSE_ERROR, "the message is not valid JSON (cut short, or its Content-Length was wrong)")

    def body(self, data: bytes, parsed: Any = _UNPARSED) -> None:
        if parsed is not _UNPARSED:
            self.message(parsed)
            return
        try:
            msg = json.loads(data)
        except UnicodeDecodeError as e:
            self.error(leading_id(data), PARSE_ERROR, f"the message is not valid UTF-8 (byte {e.start})")
            return
        except RecursionError:
            self.error(leading_id(data), PARSE_ERROR, "the message is nested too deeply to parse")
            return
        except ValueError as e:
            self.error(leading_id(data), PARSE_ERROR, f"the message is not valid JSON: {e}")
            return
        self.message(msg)

    def message(self, msg: Any) -> None:
        if isinstance(msg, list):
            answered = False
            for item in msg:
                if isinstance(item, dict) and _valid_id(item.get("id")) and "method" in item:
                    self.error(item["id"], INVALID_REQUEST, "batches are not part of LSP: send each message on its own")
                    answered = True
            if not answered:
                self.error(None, INVALID_REQUEST, "batches are not part of LSP: send each message on its own")
            return
        if not isinstance(msg, dict):
            self.error(None, INVALID_REQUEST, f"a message must be a JSON object, not {type(msg).__name__}")
            return
        has_id = "id" in msg
        msg_id = msg.get("id")
        method = msg.get("method")
        if has_id and msg_id is not None and not _valid_id(msg_id):
            if "method" not in msg:
                log.warning("dropped a response whose id is not a string or an integer")
                return
            self.error(None, INVALID_REQUEST, f"id must be a string or an integer, not {json.dumps(msg_id)[:40]}")
            return
        if "method" in msg and not isinstance(method, str):
            if _valid_id(msg_id):
                self.error(msg_id, INVALID_REQUEST, "method must be a string")
            else:
                log.warning("dropped a notification whose method is not a string")
            return
        if msg.get("jsonrpc") != "2.0":
            if isinstance(method, str) and _valid_id(msg_id):
                self.error(msg_id, INVALID_REQUEST, 'not a JSON-RPC 2.0 message ("jsonrpc": "2.0" missing)')
            else:
                log.warning("dropped a message without \"jsonrpc\": \"2.0\"")
            return
        if isinstance(method, str) and ("result" in msg or "error" in msg):
            if _valid_id(msg_id):
                self.error(msg_id, INVALID_REQUEST, "a message cannot be both a request and a response")
            return
        if isinstance(method, str) and has_id:
            if msg_id is None:
                self.error(None, INVALID_REQUEST, "a request's id must not be null")
                return
            if _is_notification_method(method):
                self.error(msg_id, INVALID_REQUEST, f"{method} is a notification: send it without an id")
                return
        try:
            structured = self.protocol.structure_message(msg)
            self.protocol.handle_message(structured)
        except Exception as e:  # one bad message must not stop the stream
            log.exception("message %s (%s) could not be handled", msg_id, method)
            if isinstance(method, str) and _valid_id(msg_id) and not _answered(self.protocol, msg_id):
                self.error(msg_id, -32603, f"internal error: {type(e).__name__}: {e}")


def _answered(protocol: JsonRPCProtocol, msg_id: Any) -> bool:
    """Whether a request is already on its way to an answer (its handler runs)."""
    return msg_id in protocol._request_futures


# --- the loop ---------------------------------------------------------------------------

ChunkSource = Callable[[], Awaitable[bytes]]


async def serve(read: ChunkSource, protocol: JsonRPCProtocol, stop: asyncio.Event, framer: Framer | None = None) -> None:
    """Read frames until EOF or ``stop``; hand each message to the protocol."""
    framer = framer or Framer()
    dispatch = Dispatcher(protocol)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            reading = asyncio.ensure_future(read())
            done, _ = await asyncio.wait({reading, stopping}, timeout=STALL_S if framer.pending else None, return_when=asyncio.FIRST_COMPLETED)
            if reading not in done:
                reading.cancel()
                if stopping in done:
                    return
                events = framer.stall()
            else:
                chunk = reading.result()
                events = framer.feed(chunk) if chunk else framer.eof()
                if not chunk:
                    for event in events:
                        dispatch.handle(event)
                    log.info("the client closed the connection")
                    return
            for event in events:
                dispatch.handle(event)
                await asyncio.sleep(0)
                if stop.is_set():
                    return
    finally:
        stopping.cancel()


def stdin_source(fd: int, loop: asyncio.AbstractEventLoop) -> ChunkSource:
    """Chunks of ``fd`` read by a daemon thread (blocking reads never hold up exit), with
    backpressure: at most 16 chunks wait to be framed."""
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=16)

    def pump() -> None:
        while True:
            try:
                chunk = os.read(fd, CHUNK)
            except OSError as e:
                log.error("reading stdin failed: %s", e)
                chunk = b""
            try:
                asyncio.run_coroutine_threadsafe(queue.put(chunk), loop).result()
            except (RuntimeError, asyncio.CancelledError):  # the loop is gone: we are exiting
                return
            if not chunk:
                return

    threading.Thread(target=pump, name="codeshell-stdin", daemon=True).start()
    return queue.get


def stream_source(reader: asyncio.StreamReader) -> ChunkSource:
    async def read() -> bytes:
        try:
            return await reader.read(CHUNK)
        except (ConnectionError, OSError) as e:
            log.info("connection lost: %s", e)
            return b""

    return read


class StreamWriter:
    """pygls' writer interface over an asyncio stream (a TCP connection)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def close(self) -> None:
        self._writer.close()


def frame(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
