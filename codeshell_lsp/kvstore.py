"""Per-document KV snapshots: parked in memory while another document is active, and
saved on disk across restarts.

A ``Snapshot`` is what one document left in the KV cache: its tokens (the prompt and
what was generated after it), where its suffix chunk sits, and llama.cpp's
per-sequence state of sequence 0 (those tokens) and sequence 1 (the suffix copy).
Restoring it puts the cells back exactly; ``kvplan`` then keeps only the part that
matches the new prompt, token by token.

On disk, one file per document under ``$XDG_CACHE_HOME/codeshell-lsp/kv/`` (default
``~/.cache``), named by a hash of the store key (model file identity, KV type and the
settings that shape the prompt) and the document. Format::

    MAGIC | header length (u32 LE) | header (JSON) | tokens (i32 LE) | sequence 0 state | sequence 1 state

The header repeats the store key and the document, and carries the payload's size and
BLAKE2b digest: a file that is truncated, corrupt, foreign (another model or settings)
or stale (an older format) is ignored with one log line and deleted. Writes go to a
temporary file renamed into place, on a writer thread; the least recently used files
go first when the directory (temporary files included) outgrows ``cache.diskMB``.

Snapshots hold the user's code: the folders are 0700 and the files 0600. A folder that
cannot be written (a file in its place, no permission, a full disk) is told to the
user once, and the store then saves nothing more. Temporary files left by a writer
that died mid-save (SIGKILL) are deleted at start.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import struct
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .log import get_logger, tell_user
from .prompt import Span

log = get_logger(__name__)

MAGIC = b"CSLSPKV\x00"
VERSION = 1
_HEAD = struct.Struct("<I")
_MAX_HEADER = 1 << 16
_TEMP = ".tmp."  # a snapshot being written: <name>.kv.tmp.<writer's pid>
_TEMP_AGE_S = 3600  # a temporary file this old was left by a process that died mid-write


@dataclass(frozen=True)
class Snapshot:
    tokens: tuple[int, ...]  # what sequence 0 holds, by position
    chunk: Span | None  # where sequence 1's suffix copy sits
    seq0: bytes  # llama.cpp per-sequence state of sequence 0
    seq1: bytes  # ... of sequence 1 (empty without a chunk)
    body: int | None = None  # where the document's own part starts in ``tokens`` (after extra context)

    @property
    def nbytes(self) -> int:
        return len(self.seq0) + len(self.seq1) + 4 * len(self.tokens)


class BadSnapshot(Exception):
    """A stored snapshot that must not be used (the message says why)."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "codeshell-lsp" / "kv"


def model_identity(path: Path) -> str:
    """The model file's identity: its size and a digest of its first and last MiB
    (metadata, vocabulary and the last tensors), independent of where it lies."""
    size = path.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        h.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        h.update(f.read(1 << 20))
    return f"{size}:{h.hexdigest()}"


def encode(key: str, document: str, snap: Snapshot) -> bytes:
    tokens = np.asarray(snap.tokens, dtype="<i4").tobytes()
    payload = tokens + snap.seq0 + snap.seq1
    header = json.dumps({
        "version": VERSION,
        "key": key,
        "document": document,
        "tokens": len(snap.tokens),
        "chunk": [snap.chunk.start, snap.chunk.end] if snap.chunk else None,
        "body": snap.body,
        "sizes": [len(snap.seq0), len(snap.seq1)],
        "digest": hashlib.blake2b(payload, digest_size=16).hexdigest(),
    }).encode()
    return MAGIC + _HEAD.pack(len(header)) + header + payload


def decode(data: bytes, key: str, document: str) -> Snapshot:
    """The snapshot in ``data``, or ``BadSnapshot`` saying why it cannot be used."""
    if len(data) < len(MAGIC) + _HEAD.size or not data.startswith(MAGIC):
        raise BadSnapshot("not a KV snapshot (bad magic)" if len(data) >= len(MAGIC) else "truncated")
    (n,) = _HEAD.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _HEAD.size
    if n > _MAX_HEADER:
        raise BadSnapshot("corrupt header")
    if len(data) < start + n:
        raise BadSnapshot("truncated")
    try:
        h = json.loads(data[start : start + n])
        version, sizes, count, chunk = h["version"], h["sizes"], h["tokens"], h["chunk"]
    except (ValueError, KeyError, TypeError):
        raise BadSnapshot("corrupt header") from None
    if version != VERSION:
        raise BadSnapshot(f"stale (format {version}, this version reads {VERSION})")
    if h.get("key") != key or h.get("document") != document:
        raise BadSnapshot("foreign (saved for another model, KV type, prompt settings or document)")
    payload = data[start + n :]
    try:
        expected = 4 * int(count) + int(sizes[0]) + int(sizes[1])
    except (ValueError, TypeError, IndexError):
        raise BadSnapshot("corrupt header") from None
    if len(payload) != expected:
        raise BadSnapshot("truncated" if len(payload) < expected else "corrupt (trailing bytes)")
    if hashlib.blake2b(payload, digest_size=16).hexdigest() != h.get("digest"):
        raise BadSnapshot("corrupt (digest mismatch)")
    tokens = tuple(int(t) for t in np.frombuffer(payload[: 4 * count], dtype="<i4"))
    span = Span(int(chunk[0]), int(chunk[1])) if chunk else None
    if (span is not None and not 0 <= span.start < span.end <= len(tokens)) or (span is None) != (sizes[1] == 0):
        raise BadSnapshot("corrupt (suffix chunk outside the tokens)")
    body = h.get("body")  # absent in files written before it was kept: then unknown
    if body is not None and not (isinstance(body, int) and 0 <= body <= len(tokens)):
        raise BadSnapshot("corrupt (document start outside the tokens)")
    seq0 = payload[4 * count : 4 * count + sizes[0]]
    return Snapshot(tokens, span, seq0, payload[4 * count + sizes[0] :], body)


class DiskStore:
    """Snapshots on disk for one store key, with an LRU cap on the whole directory."""

    def __init__(self, root: Path, key: str, cap_bytes: int) -> None:
        self.root = root
        self.key = key
        self.cap = cap_bytes
        self.unwritable = ""  # why nothing is saved any more (the user was told)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codeshell-kv-writer")
        self._pending: list[Future[None]] = []
        try:
            private_dir(root)
        except OSError as e:
            self._give_up(e)
        else:
            self._clean_temps()

    def path(self, document: str) -> Path:
        digest = hashlib.sha256(f"{self.key}\0{document}".encode("utf-8", "replace")).hexdigest()[:40]
        return self.root / f"{digest}.kv"

    def load(self, document: str) -> Snapshot | None:
        """The document's saved snapshot, if a usable one exists (a bad one is deleted)."""
        path = self.path(document)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            log.warning("KV snapshot %s unreadable (%s): ignored", path, e)
            return None
        try:
            snap = decode(data, self.key, document)
        except BadSnapshot as e:
            self.discard(document, str(e))
            return None
        try:
            os.utime(path)  # recently used: last to be evicted
        except OSError:
            pass
        return snap

    def discard(self, document: str, why: str) -> None:
        """Delete a snapshot that must not be used, saying why once."""
        path = self.path(document)
        log.warning("KV snapshot %s for %s ignored and deleted: %s", path.name, document, why)
        try:
            path.unlink(missing_ok=True)
        except OSError as e:  # a read-only folder: it stays, and is refused again next time
            log.debug("could not delete %s: %s", path, e)

    def save(self, document: str, snap: Snapshot) -> Future[None]:
        """Encode and write on the writer thread (a snapshot never changes)."""
        fut = self._writer.submit(self._write, document, snap)
        self._pending = [f for f in self._pending if not f.done()] + [fut]
        return fut

    def flush(self) -> None:
        for fut in self._pending:
            fut.result()
        self._pending = []

    def close(self) -> None:
        self.flush()
        self._writer.shutdown(wait=True)

    def _write(self, document: str, snap: Snapshot) -> None:
        if self.unwritable:
            return
        path, data = self.path(document), encode(self.key, document, snap)
        if len(data) > self.cap:
            log.info("KV snapshot of %d MB is larger than cache.diskMB: not saved", len(data) >> 20)
            return
        try:
            write_private(path, data)  # its folder again: it may have been deleted since
        except OSError as e:
            self._give_up(e)
            return
        self._evict(keep=path)

    def _give_up(self, e: OSError) -> None:
        self.unwritable = f"{e.strerror or e}"
        tell_user(log, (
            f"KV snapshots cannot be saved in {self.root} ({self.unwritable}): completions go on, but each "
            f"document's KV is evaluated afresh after a restart. Make that folder writable (it follows "
            f"$XDG_CACHE_HOME), or set codeshell.cache.persist to false"
        ))

    def _evict(self, keep: Path) -> None:
        """Delete the least recently used snapshots until the directory fits the cap;
        temporary files count too (another server's write in progress)."""
        files, total = [], 0
        for p in self.root.iterdir() if self.root.is_dir() else ():
            try:
                st = p.stat()
            except OSError:  # another server evicted it meanwhile
                continue
            total += st.st_size
            if p.suffix == ".kv":
                files.append((st.st_mtime, st.st_size, p))
        for _, size, p in sorted(files):
            if total <= self.cap:
                break
            if p != keep:
                with contextlib.suppress(OSError):
                    p.unlink(missing_ok=True)
                    total -= size

    def _clean_temps(self) -> None:
        """Delete temporary files whose writer is gone (its process no longer runs, or
        it is older than an hour: a process id can be reused)."""
        now = time.time()
        for p in self.root.glob(f"*.kv{_TEMP}*"):
            try:
                if not _alive(p.name.rsplit(_TEMP, 1)[1]) or now - p.stat().st_mtime > _TEMP_AGE_S:
                    p.unlink()
            except OSError:
                pass


def write_private(path: Path, data: bytes) -> None:
    """``data`` into ``path`` atomically (a temporary file, then a rename), readable by the
    user only: the file 0600, its folder and that folder's parent 0700 (``private_dir``)."""
    tmp = path.with_name(f"{path.name}{_TEMP}{os.getpid()}")
    private_dir(path.parent)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def private_dir(path: Path) -> None:
    """``path`` and its parent (``codeshell-lsp/``) as folders only the user can read
    (0700), created or, when the user owns them, made so."""
    path.parent.parent.mkdir(parents=True, exist_ok=True)
    for d in (path.parent, path):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            st = d.stat()
            if not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, f"{d} is not a folder") from None
            if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) != 0o700:
                os.chmod(d, 0o700)


def _alive(pid: str) -> bool:
    """Whether process ``pid`` runs (this one's own leftovers are from a previous life)."""
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but another user's
        return True
    return True


class Parked:
    """Snapshots of the documents not in the KV cache right now, least recently used first
    out, within a count and a byte budget. ``dirty``: changed since last written to disk."""

    def __init__(self, max_documents: int, max_bytes: int) -> None:
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[Snapshot, bool]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s, _ in self._items.values())

    def pop(self, document: str) -> tuple[Snapshot, bool] | None:
        return self._items.pop(document, None)

    def put(self, document: str, snap: Snapshot, dirty: bool) -> list[tuple[str, Snapshot, bool]]:
        """Park ``snap``; returns what no longer fits (``snap`` itself when it alone is too big)."""
        self._items.pop(document, None)
        if snap.nbytes > self.max_bytes or self.max_documents < 1:
            return [(document, snap, dirty)]
        self._items[document] = (snap, dirty)  # the most recent
        out = []
        while self._items and (len(self._items) > self.max_documents or self.nbytes > self.max_bytes):
            doc, (s, d) = self._items.popitem(last=False)
            out.append((doc, s, d))
        return out

    def dirty(self) -> list[tuple[str, Snapshot]]:
        return [(doc, s) for doc, (s, d) in self._items.items() if d]

    def mark_clean(self, document: str) -> None:
        item = self._items.get(document)
        if item is not None:
            self._items[document] = (item[0], False)
