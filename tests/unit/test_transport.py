"""Framing: every malformed frame is skipped or salvaged, and the stream goes on."""

from __future__ import annotations

import json

import pytest

from codeshell_lsp.transport import Body, Framer, Junk, Oversize, leading_id, request_id


def msg(i: int, method: str = "codeshell/stats") -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": {}}).encode()


def frame(body: bytes, header: bytes = b"Content-Length: %d\r\n\r\n") -> bytes:
    return (header % len(body) if b"%d" in header else header) + body


def bodies(events) -> list[bytes]:
    return [e.data for e in events if isinstance(e, Body)]


def test_well_formed_frames_come_out_whole_even_byte_by_byte():
    stream = frame(msg(1)) + frame(msg(2)) + frame("é".encode() + msg(3)[2:])
    f = Framer()
    out = []
    for b in stream:
        out += f.feed(bytes([b]))
    assert bodies(out)[:2] == [msg(1), msg(2)] and len(bodies(out)) == 3
    assert not f.pending


@pytest.mark.parametrize(
    "header",
    [b"content-length: %d\r\n\r\n", b"Content-Length:%d\r\n\r\n", b"Content-Length: %d\n\n", b"CONTENT-LENGTH:  %d \r\n\r\n",
     b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"],
)
def test_header_spellings_are_accepted(header):
    f = Framer()
    assert bodies(f.feed(frame(msg(1), header) + frame(msg(2)))) == [msg(1), msg(2)]


def test_header_without_content_length_is_salvaged_or_skipped_and_the_next_frame_read():
    f = Framer()
    out = f.feed(b"Content-Type: x\r\n\r\n" + msg(1) + frame(msg(2)))
    assert isinstance(out[0], Junk) and msg(1) in out[0].data
    assert bodies(out) == [msg(2)]


def test_content_length_too_short_is_joined_with_the_rest():
    f = Framer()
    out = f.feed(frame(msg(1), b"Content-Length: 10\r\n\r\n") + frame(msg(2)))
    assert bodies(out) == [msg(1), msg(2)]
    assert "too" not in out[0].note and "10 bytes" in out[0].note


def test_content_length_too_long_ends_at_the_next_header():
    f = Framer()
    out = f.feed(frame(msg(1), b"Content-Length: 500\r\n\r\n") + frame(msg(2)))
    assert bodies(out) == [msg(1), msg(2)]


def test_content_length_too_long_then_silence_is_taken_when_the_client_waits():
    f = Framer()
    assert f.feed(frame(msg(1), b"Content-Length: 500\r\n\r\n")) == []
    assert f.pending
    assert bodies(f.stall()) == [msg(1)]
    assert bodies(f.feed(frame(msg(2)))) == [msg(2)]


@pytest.mark.parametrize("length", [10**10, 10**12])
def test_huge_content_length_is_not_buffered_and_the_stream_goes_on(length):
    f = Framer(max_bytes=1 << 20)
    out = f.feed(b"Content-Length: %d\r\n\r\n" % length + msg(1))
    assert out == []
    out = f.stall()  # the client waits: the body it sent is a whole message
    assert bodies(out) == [msg(1)]
    assert bodies(f.feed(frame(msg(2)))) == [msg(2)]


def test_oversized_body_is_skipped_without_buffering_it():
    f = Framer(max_bytes=1024)
    big = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "x", "params": {"t": "a" * 5000}}).encode()
    out = []
    data = frame(big) + frame(msg(2))
    for i in range(0, len(data), 100):
        out += f.feed(data[i : i + 100])
        assert len(f._buf) <= 1024
    assert isinstance(out[0], Oversize) and out[0].length == len(big) and request_id(out[0]) == 7
    assert bodies(out) == [msg(2)]


def test_truncated_json_with_a_correct_length_comes_out_as_it_is():
    f = Framer()
    cut = msg(1)[:30]
    out = f.feed(frame(cut) + frame(msg(2)))
    assert bodies(out) == [cut, msg(2)]


def test_junk_between_frames_is_reported_and_skipped():
    f = Framer()
    out = f.feed(b"hello\r\n" + frame(msg(1)) + b"\r\n\r\n" + frame(msg(2)))
    assert bodies(out) == [msg(1), msg(2)]
    assert [e.data for e in out if isinstance(e, Junk)] == [b"hello\r\n"]


def test_leading_id_reads_only_top_level_ids():
    assert leading_id(b'{"jsonrpc": "2.0", "id": 5, "method": "x", "par') == 5
    assert leading_id(b'{"id": "a-1", "jsonrpc"') == "a-1"
    assert leading_id(b'{"jsonrpc": "2.0", "params": {"id": 5}}') is None
    assert leading_id(b'{"id": 1.5}') is None
