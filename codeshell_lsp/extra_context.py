"""Context beyond the current file: what of the other open documents goes before the prefix.

Sources are what the editor already sends: the other open documents, the ranges the
user recently edited in them (didChange), and the document the user just left.

- Documents are cut into line chunks at top-level statements (whole definitions where
  they fit, at most ``CHUNK_LINES`` lines), plus one *outline* per document: its
  definition lines (``def``/``class``/``function``/top-level names), which tells a small
  model most compactly which names another module offers.
- Candidates are ranked by Jaccard similarity of identifier sets against the text
  around the cursor, with boosts for the outline of a module the current file imports
  and recent edits; the document just left is among the documents whose chunks are
  ranked at all (it gets no boost of its own: that reshuffled the whole set at every
  switch, and the KV cache with it). As in llama.vim: a chunk more than
  ``MAX_QUERY_SIMILARITY`` similar to the cursor's own context is dropped (it pushes the
  model to repeat), and one more than ``DUPLICATE_SIMILARITY`` similar to a better one
  is a duplicate.
- The outline of a module the file imports under a name is written as the file uses
  it (``nodes.Name(Expr)``: a *usage* outline), its lines sharing words with the
  cursor's context last: a small model copies what follows ``nodes.`` from the nearest
  place it saw ``nodes.`` (on Gemma-3-270M this took member-access holes from 11/32 with
  plain definition lines to 15/32, against 10/32 for the file alone; ``bench/crossfile.py``).
- The prompt stage fits the ranked list into the token budget and lays the chosen
  chunks out in a stable order (``Chunk.place``: usage outlines last, nearest the
  prefix; the rest by file path, then line), so the set — and the
  KV cache holding it — changes only when the choice does. The ranking query ends on a
  grid line, so typing on the lines since does not change the choice.

- Files that are not open come from the workspace index (``Sources.workspace``): the
  outlines of the modules the file imports, the definitions of the names it uses, and
  the line chunks of the files related to it (the modules it imports, the files that
  import them too), cut as an open document's are, ranked with the rest.

Everything but ``Sources`` (the state fed by the server's handlers, see its docstring for
what keeps it cheap at workspace scale) is pure.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import re
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Collection, Iterable, Protocol, Sequence
from urllib.parse import unquote, urlparse

from .budget import split_lines
from .context import Cursor
from .foreground import FOREGROUND
from .log import get_logger

log = get_logger(__name__)

CHUNK_LINES = 32  # a chunk is at most this many lines (llama.vim: 64)
OUTLINE_CHARS = 2400  # an outline is cut to this size (about 600 tokens), whole lines
QUERY_LINES = 48  # lines before the cursor that make the ranking query
QUERY_GRID = 8  # the query's end moves in steps of this many lines: the choice stays put while the user types
RECENT_EDITS = 16  # edited places remembered (across documents)
MAX_QUERY_SIMILARITY = 0.5  # a chunk this similar to the cursor's context repeats it: dropped
DUPLICATE_SIMILARITY = 0.9  # a chunk this similar to a better-ranked one adds nothing: dropped
IMPORTED_BOOST = 1.0  # the outline of a module the current file imports comes first,
USE_BOOST = 0.5  # the more so the more often the file uses it (``module.``), up to this much more
EDIT_BOOST = 0.3  # a chunk the user edited lately (decays with each newer edit)
RANKED_DOCUMENTS = 16  # documents whose chunks are ranked for a request (the rest by shared identifiers only)
DEDUP_POOL = 3  # near-duplicates are looked for among this many times ``limit`` best chunks
MAX_INDEX_CHARS = 1 << 20  # larger documents give no chunks (a generated or data file, not code to copy from)
INLINE_INDEX_CHARS = 100_000  # a document opened but not indexed yet is cut at a request up to this size (a few ms)
SAVED_VERSION = 1  # of what ``Sources.choices`` gives the server to keep
MEMO_DOCUMENTS = 64  # documents whose last choice is remembered
# While documents are being cut into chunks and the workspace indexed, a remembered choice
# is made again at most this often (each new index would otherwise cost a whole new choice
# at every keystroke: ~17 ms at 1,000 open files, for seconds after they open).
INDEXING_RECHOOSE_S = 2.0
SELECT_BUDGET_MS = 15.0  # the server's: the most a selection spends cutting documents the indexer has not reached

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Words every program repeats: they would make all chunks look alike.
_COMMON = frozenset(
    "and as assert async await break case catch class const continue def default del elif else except export "
    "extends false finally fn for from func function if import in is let new none not null or pass private "
    "public raise return self static struct this throw true try type var void while with yield".split()
)
_DEFINITION = re.compile(
    r"^\s*(?:@|(?:export\s+)?(?:default\s+)?(?:pub(?:\([a-z]+\))?\s+)?(?:async\s+)?"
    r"(?:def|class|function|func|fn|struct|enum|trait|impl|interface|type|module|const|let|var)\b)"
)
_TOP_LEVEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*(?::[^=]*)?=[^=]")
# A line that may match _TOP_LEVEL_NAME or _DEFINITION (a cheap superset, \n-separated text only).
_CANDIDATE_LINE = re.compile(
    r"^(?:[A-Za-z_][A-Za-z0-9_]*[ \t]*(?::[^=\n]*)?=[^=\n]|[ \t]*(?:@|(?:export[ \t]+)?(?:default[ \t]+)?"
    r"(?:pub(?:\([a-z]+\))?[ \t]+)?(?:async[ \t]+)?(?:def|class|function|func|fn|struct|enum|trait|impl|interface|type"
    r"|module|const|let|var)\b)).*",
    re.M,
)
_PY_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[\w \t,*]+)|import[ \t]+([\w. \t,]+))", re.M)
_JS_IMPORT = re.compile(r"""(?:from|require\(|import\()\s*['"]([^'"]+)['"]""")


@dataclass(frozen=True)
class Chunk:
    """Whole lines of another document, with where they come from."""

    path: str  # the document's name as the prompt shows it
    language: str  # its LSP languageId
    text: str  # whole lines; ends with a newline
    order: tuple[str, int]  # place in the prompt: (document path, first line; -1 for the outline)
    kind: str = "lines"  # "lines", "outline", "usage" (an outline as the importing file names it), "definition" (workspace_index)

    @property
    def place(self) -> tuple[bool, str, int]:
        """Where it goes among the chosen chunks: usage outlines last (nearest the
        prefix, where a small model looks), the rest by document and line: the same
        whatever order the editor opened the documents in (a restart finds its saved KV)."""
        return self.kind == "usage", *self.order


@dataclass(frozen=True)
class Extra:
    """What the prompt stage gets: candidate chunks best first, the limits, and the
    current document's own name and language (for its header)."""

    chunks: tuple[Chunk, ...]
    tokens: int
    max_chunks: int
    path: str = ""
    language: str = ""


def identifiers(text: str) -> frozenset[str]:
    """The identifier tokens of ``text`` that tell code apart (common keywords left out)."""
    return frozenset(w for w in set(_IDENT.findall(text)) if len(w) > 1 and w.lower() not in _COMMON)


def jaccard(a: frozenset[str], b: Collection[str]) -> float:
    """Jaccard similarity of ``a`` and ``b`` (any collection of distinct items: a chunk's
    identifier tuple needs no set of its own)."""
    if not a or not b:
        return 0.0
    inter = len(a.intersection(b))
    return inter / (len(a) + len(b) - inter)


def chunk_lines(text: str, max_lines: int = CHUNK_LINES) -> list[tuple[int, str]]:
    """``text`` cut into (first line, text) chunks of whole lines: top-level statements
    (with their decorators and leading comments) packed together up to ``max_lines``,
    longer ones cut every ``max_lines`` lines. Blank-only chunks are left out."""
    lines = split_lines(text)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
    starts = [0]
    for i in range(1, len(lines)):
        line, prev = lines[i], lines[i - 1]
        top = line.strip() and not line[0].isspace() and line[0] not in ")]}"
        glued = prev.strip() and not prev[0].isspace() and prev.lstrip().startswith(("@", "#", "//", "/*", "*"))
        if top and not glued:
            starts.append(i)
    blocks = [(s, e) for s, e in zip(starts, starts[1:] + [len(lines)])]
    out: list[tuple[int, str]] = []
    cur_start, cur_end = 0, 0
    for s, e in blocks:
        if cur_end > cur_start and e - cur_start > max_lines:
            out.append((cur_start, "".join(lines[cur_start:cur_end])))
            cur_start = s
        while e - cur_start > max_lines:
            out.append((cur_start, "".join(lines[cur_start : cur_start + max_lines])))
            cur_start += max_lines
        cur_end = e
    if cur_end > cur_start:
        out.append((cur_start, "".join(lines[cur_start:cur_end])))
    return [(s, t) for s, t in out if t.strip()]


def outline(text: str, max_chars: int = OUTLINE_CHARS) -> str:
    """The definition lines of ``text`` (functions, classes, top-level names), in order;
    when they exceed ``max_chars``, the top-level ones (what other modules use), cut
    at a line."""
    keep = []
    # Only lines that can be definitions are looked at (one regex pass over the text).
    lines = _CANDIDATE_LINE.findall(text) if "\r" not in text else [ln.rstrip("\r\n") for ln in split_lines(text)]
    for body in lines:
        if _TOP_LEVEL_NAME.match(body):
            keep.append(body[:80] + "\n")
        elif _DEFINITION.match(body) and not body.lstrip().startswith("@"):
            keep.append(body[:160] + "\n")
    if sum(map(len, keep)) > max_chars:
        keep = [line for line in keep if not line[0].isspace()]
    out, size = [], 0
    for line in keep:
        size += len(line)
        if size > max_chars:
            break
        out.append(line)
    return "".join(out)


@lru_cache(maxsize=16)  # asked at every keystroke with the same head of the file
def imported_modules(text: str) -> dict[str, str]:
    """The modules ``text`` imports, by file stem, with the name the code calls them by
    (``from . import utils`` -> utils: utils, ``import a.b as c`` -> b: c,
    ``from .models import User`` -> models: "" — its names are used bare). Shared: read only."""
    out: dict[str, str] = {}
    for m in _PY_IMPORT.finditer(text):
        if m.group(1) is not None:
            out.setdefault(m.group(1).lstrip(".").rsplit(".", 1)[-1], "")
            for part in m.group(2).strip("()").split(","):
                name, _, alias = part.strip().partition(" as ")
                if name.strip():
                    out[name.strip()] = (alias or name).strip()
        else:
            for part in m.group(3).split(","):
                name, _, alias = part.strip().partition(" as ")
                out[name.strip().rsplit(".", 1)[-1]] = (alias or name).strip()
    for m in _JS_IMPORT.finditer(text):
        out.setdefault(PurePosixPath(m.group(1)).stem, "")
    out.pop("", None)
    return out


_DEFINED_NAME = re.compile(
    r"^(?:(?:export|default|pub|async|def|class|function|func|fn|struct|enum|trait|interface|type|const|let|var)\s+)*"
    r"([A-Za-z_][A-Za-z0-9_]*)"
)


def qualified(outline_text: str, alias: str) -> str:
    """An outline as the importing file uses it: its top-level names behind ``alias.``
    (``class Name(Expr):`` -> ``nodes.Name(Expr)``), so a small model that reads
    ``nodes.`` at the cursor finds the same tokens before it, ready to copy."""
    out = []
    for line in split_lines(outline_text):
        if line[:1].isspace():
            continue
        m = _DEFINED_NAME.match(line)
        if m:
            out.append(f"{alias}.{line[m.start(1):].rstrip().rstrip(':{').rstrip()}\n")
    return "".join(out)


def _lines_at_end(text: str, n: int) -> list[str]:
    """``split_lines(text)[-n:]`` (n > 0) without splitting all of a long text."""
    size = 8192
    while True:
        lines = split_lines(text[-size:])
        if size >= len(text) or len(lines) > n:  # more than wanted: the first may be cut
            return lines[-n:]
        size *= 4


def _lines_at_start(text: str, n: int) -> list[str]:
    """``split_lines(text)[:n]`` without splitting all of a long text."""
    size = 4096
    while True:
        lines = split_lines(text[:size])
        if size >= len(text) or len(lines) > n:  # more than wanted: the last may be cut
            return lines[:n]
        size *= 4


def query_text(cursor: Cursor) -> str:
    """The text the ranking compares against: ``QUERY_LINES`` lines before the cursor
    ending on a grid line, and a few after it — what the user types on the lines since
    that grid line does not count, so the choice (and the KV cache) stays put."""
    head = cursor.prefix[: max(cursor.prefix.rfind("\n"), cursor.prefix.rfind("\r")) + 1]
    n = head.count("\n") + head.count("\r") - head.count("\r\n")  # whole lines before the cursor line
    end = (n // QUERY_GRID) * QUERY_GRID
    start = max(0, end - QUERY_LINES)
    lines = _lines_at_end(head, n - start)[: end - start] if n > start else []
    return "".join(lines + _lines_at_start(cursor.suffix, 9)[1:])


_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def words(text: str) -> frozenset[str]:
    """Lower-case words of the identifiers in ``text`` (``nb_redirects`` -> nb, redirects;
    ``IsCoroutine`` -> is, coroutine), the short and common ones left out."""
    return frozenset(w.lower() for w in _WORD.findall(text) if len(w) > 2 and w.lower() not in _COMMON)


def by_relevance(usage: str, query: frozenset[str]) -> str:
    """A usage outline's lines, the ones sharing most words with ``query`` last (nearest
    the cursor, where a small model copies from); ties keep the module's order."""
    lines = split_lines(usage)
    ranked = sorted(range(len(lines)), key=lambda i: (len(words(lines[i].split("(", 1)[0]) & query), i))
    return "".join(lines[i] for i in ranked)


def display_path(uri: str, roots: Sequence[str] = ()) -> str:
    """A document's name for the prompt: its path relative to a workspace root, else the path."""
    parsed = urlparse(uri)
    path = unquote(parsed.path) if parsed.scheme in ("file", "") else uri
    for root in roots:
        r = unquote(urlparse(root).path).rstrip("/")
        if r and path.startswith(r + "/"):
            return path[len(r) + 1 :]
    return path.lstrip("/") if parsed.scheme == "file" else path


@dataclass(frozen=True)
class _Index:
    """A document's chunks and identifiers, computed once per text (off the message thread).

    Chunks are kept as plain tuples of strings and numbers — (first line, -1 for the
    outline; text; identifiers) — which the garbage collector stops tracking: at a
    thousand open files, sets and objects per chunk made each full collection take
    160-280 ms, a pause on whichever thread ran it, the message thread included."""

    text: str  # what it was computed from
    chunks: tuple[tuple[int, str, tuple[str, ...]], ...]  # the outline first, then line chunks
    ids: frozenset[str]  # every chunk's identifiers: whether the document is worth ranking at all


def index_text(text: str, before: _Index | None = None) -> _Index:
    """``text`` cut into chunks with their identifiers; chunks whose text ``before``
    already had keep them (an edit re-reads only what it touched)."""
    known = {t: ids for _, t, ids in before.chunks} if before is not None else {}
    head = outline(text)
    parts = ([(-1, head)] if head else []) + chunk_lines(text)
    chunks = tuple((start, t, known.get(t) or tuple(identifiers(t))) for start, t in parts)
    return _Index(text, chunks, frozenset(w for _, _, ids in chunks for w in ids))


@dataclass
class _Doc:
    path: str
    language: str
    text: str = ""
    stem: str = ""  # the module name an import would use
    index: _Index | None = None  # of this text or, until it is redone, of an earlier one
    indexed_once: bool = False

    @property
    def fresh(self) -> bool:
        return self.index is not None and self.index.text is self.text


def _rank(scored: list[tuple[float, Chunk, Collection[str]]], limit: int) -> list[Chunk]:
    """The ``limit`` best of (score, chunk, identifiers), near-copies of better chunks
    dropped — looked for among the best few only (no pairwise work over all)."""
    best = heapq.nsmallest(DEDUP_POOL * limit, scored, key=lambda t: (-t[0], t[1].order))
    kept: list[tuple[Chunk, frozenset[str]]] = []
    for _, chunk, words_of in best:
        ids = frozenset(words_of)
        if any(jaccard(ids, other) > DUPLICATE_SIMILARITY for _, other in kept):
            continue
        kept.append((chunk, ids))
        if len(kept) == limit:
            break
    return [c for c, _ in kept]


def _as_imported(chunk: Chunk, alias: str, uses: int, near: frozenset[str]) -> tuple[Chunk, float]:
    """The outline of a module the file imports: as the file names it (a usage outline)
    when it imports it under a name, and the boost its use count earns."""
    if alias:
        chunk = dataclasses.replace(chunk, text=by_relevance(qualified(chunk.text, alias), near), kind="usage")
    return chunk, USE_BOOST * uses / 2


class Workspace(Protocol):
    """What ``Sources`` asks of the workspace index (``workspace_index.WorkspaceIndex``)."""

    version: int  # changes whenever an answer may
    walked: bool  # its first walk over the folders is over

    def opened(self, uri: str, text: str) -> None: ...

    def closed(self, uri: str) -> None: ...

    def candidates(
        self, uri: str, imported: dict[str, str], query_ids: frozenset[str], open_uris: Iterable[str], limit: int
    ) -> list[tuple[Chunk, frozenset[str], float]]: ...


class Sources:
    """The open documents, recent edits and the document just left, as the server's
    didOpen/didChange/didClose handlers report them; ``select`` ranks their chunks for
    a cursor.

    Called from the server's event loop (``choices`` also from the thread that saves at
    shutdown), and cheap there at any workspace size: documents are cut into chunks when
    they change, by a background thread
    (``start_indexer``; without one, ``select`` does it within its time budget); a
    request ranks documents by the identifiers they share with the cursor's context
    and chunks only in the best ``RANKED_DOCUMENTS``; and the choice for a document is
    remembered until its cursor context, imports or the open documents change — not
    when the user edits elsewhere and comes back: returning to a file finds the same
    chunks (as they read when chosen) and the KV cache that holds them, and recent edits
    elsewhere weigh in at its next choice. (Letting them in at once re-evaluated the
    ~900 tokens of a new set at each first return on the multi-file trace: seconds of a
    7B model on a laptop, for every switch.)
    """

    def __init__(self, budget_ms: float | None = None) -> None:
        """``budget_ms``: the most one ``select`` spends cutting documents into chunks
        itself; the ones left wait for the indexer and the choice is made without them, to
        be made again a while later (None: no limit, for benchmarks and tests that want every document)."""
        self._docs: dict[str, _Doc] = {}
        self._edits: deque[tuple[str, int]] = deque(maxlen=RECENT_EDITS)
        self._current: str | None = None
        self._left: str | None = None
        self._generation = 0  # bumped when a document opens or closes
        self._cut = 0  # bumped when a document is first cut into chunks
        # uri -> (what the choice depends on, the documents it saw, when, the chunks chosen)
        self._memo: OrderedDict[str, tuple[tuple[object, ...], tuple[object, ...], float, tuple[Chunk, ...]]] = OrderedDict()
        self._budget_s = None if budget_ms is None else budget_ms / 1000
        self._restored: dict[str, tuple[tuple[object, ...], tuple[Chunk, ...]]] = {}  # choices saved by the last run
        self._pending: deque[_Doc] = deque()
        self._cutting = False  # the indexer thread is at work
        self._wake = threading.Event()
        self._indexer: threading.Thread | None = None
        self.roots: list[str] = []
        self.workspace: Workspace | None = None  # definitions from files not open (workspace_index)

    def start_indexer(self) -> None:
        """Cut documents into chunks on a background thread from now on."""
        if self._indexer is None:
            self._indexer = threading.Thread(target=self._index_forever, name="codeshell-index", daemon=True)
            self._indexer.start()

    def _index_forever(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self._cutting = True
            while self._pending:
                with FOREGROUND.background():
                    self._index(self._pending.popleft())
            self._cutting = False

    def _index(self, doc: _Doc) -> None:
        text = doc.text
        if doc.index is not None and doc.index.text is text:
            return
        if len(text) > MAX_INDEX_CHARS:  # one regex pass holds the interpreter: not on a file this big
            index = _Index(text, (), frozenset())
        else:
            index = index_text(text, doc.index)
        if doc.text is text:  # not changed meanwhile
            doc.index = index
            if not doc.indexed_once:
                doc.indexed_once = True
                self._cut += 1

    def _queue(self, doc: _Doc) -> None:
        self._pending.append(doc)
        self._wake.set()

    def open(self, uri: str, language: str, text: str) -> None:
        path = display_path(uri, self.roots)
        doc = _Doc(path, language, text, PurePosixPath(path).stem)
        self._docs[uri] = doc
        self._generation += 1
        self._queue(doc)
        if self.workspace is not None:
            self.workspace.opened(uri, text)

    def attach(self, workspace: Workspace | None) -> None:
        """Take definitions from ``workspace`` too (None: no more), telling it what is open."""
        self.workspace = workspace
        for uri, doc in self._docs.items() if workspace is not None else ():
            workspace.opened(uri, doc.text)

    def change(self, uri: str, text: str, lines: Iterable[int] = ()) -> None:
        """``uri`` now reads ``text``; ``lines`` are where the edits landed."""
        if uri not in self._docs:
            self.open(uri, "", text)
        else:
            self._docs[uri].text = text  # its chunks are cut again once the user leaves it
        for line in lines:
            if (uri, line) in self._edits:
                self._edits.remove((uri, line))
            self._edits.append((uri, line))
        self.focus(uri)

    def close(self, uri: str) -> None:
        if self._docs.pop(uri, None) is not None:
            self._generation += 1
            if self.workspace is not None:
                self.workspace.closed(uri)
        self._memo.pop(uri, None)
        self._edits = deque(((u, n) for u, n in self._edits if u != uri), maxlen=RECENT_EDITS)
        if self._left == uri:
            self._left = None
        if self._current == uri:
            self._current = None

    def focus(self, uri: str) -> None:
        """The user works in ``uri`` now; the document worked in before is the one just left."""
        if uri != self._current:
            left = self._docs.get(self._current) if self._current is not None else None
            if left is not None:
                self._left = self._current
                self._queue(left)  # its chunks, as the user left it
            self._current = uri

    def __contains__(self, uri: object) -> bool:
        return uri in self._docs

    def path(self, uri: str) -> str:
        doc = self._docs.get(uri)
        return doc.path if doc else display_path(uri, self.roots)

    def select(self, uri: str, cursor: Cursor, limit: int = 32) -> tuple[Chunk, ...]:
        """Chunks of the other documents for ``cursor`` in ``uri``, best first (at most ``limit``)."""
        if self.workspace is None and len(self._docs) - (uri in self._docs) <= 0:
            return ()
        imported = imported_modules(cursor.prefix[:20000])
        query = query_text(cursor)
        around = cursor.prefix[-20000:] + cursor.suffix[:5000]
        # How much the file uses each import, in steps of 10 uses (0-2), so typing ``module.`` does not reorder the ranking.
        uses = {stem: min(around.count(f"{alias or stem}.") // 10, 2) for stem, alias in imported.items()}
        # What the choice depends on; not the other documents' texts or edits (a return
        # to this document finds the chunks it had, as they read then).
        key = (query, tuple(imported.items()), tuple(uses.values()), limit)
        memo = self._memo.get(uri)
        if memo is not None and memo[0] == key and self._still(memo[1], memo[2]):
            self._memo.move_to_end(uri)
            return memo[3]
        restored = self._restored.pop(uri, None)
        if memo is None and restored is not None and restored[0] == key and self._all_open(restored[1]):
            # The choice the last run made here, as its saved KV holds it.
            chosen, complete = restored[1], True
        else:
            chosen, complete = self._select(uri, imported, uses, query, limit)
        # As of the documents it saw. Made before some were cut into chunks, it is made
        # again once INDEXING_RECHOOSE_S has passed or indexing has settled (its stamp never matches).
        stamp = self._stamp() if complete else (self._settled(), None, None)
        self._memo[uri] = (key, stamp, time.monotonic(), chosen)
        if len(self._memo) > MEMO_DOCUMENTS:
            self._memo.popitem(last=False)
        return chosen

    def _stamp(self) -> tuple[object, ...]:
        """What besides the cursor a remembered choice was made with: the open documents
        and whether indexing had settled, how many are cut into chunks, and the workspace index."""
        return self._settled(), self._cut, self.workspace.version if self.workspace is not None else None

    def _settled(self) -> tuple[int, bool]:
        """The open documents, and whether indexing is over: every document cut (by the
        indexer thread, when there is one) and the workspace walked."""
        cut = self._indexer is not None and not self._pending and not self._cutting
        return self._generation, cut and (self.workspace is None or self.workspace.walked)

    def _still(self, stamp: tuple[object, ...], made: float) -> bool:
        """Whether a choice made with ``stamp`` at ``made`` holds: nothing was indexed
        since; or the same documents are open, indexing has not settled since, and it was
        made less than INDEXING_RECHOOSE_S ago."""
        now = self._stamp()
        return stamp == now or (stamp[0] == now[0] and time.monotonic() - made < INDEXING_RECHOOSE_S)

    def _all_open(self, chunks: Iterable[Chunk]) -> bool:
        paths = {doc.path for doc in self._docs.values()}
        return all(c.path in paths for c in chunks)

    def choices(self) -> bytes:
        """The remembered choices, for the server to keep across a restart: the first
        completion in each document then chooses what its saved KV holds."""
        memos = {
            uri: {"key": list(key), "chunks": [dataclasses.astuple(c) for c in chosen]}
            for uri, (key, _, _, chosen) in list(self._memo.items())
        }
        return json.dumps({"version": SAVED_VERSION, "memos": memos}).encode()

    def take_choices(self, data: bytes) -> None:
        """Take the choices a previous run kept (``choices``); unreadable ones are no choice."""
        try:
            saved = json.loads(data)
            if saved.get("version") != SAVED_VERSION:
                return
            for uri, memo in saved["memos"].items():
                query, imported, uses, limit = memo["key"]
                key = (query, tuple(tuple(kv) for kv in imported), tuple(uses), limit)
                chunks = tuple(Chunk(p, lang, text, (o[0], o[1]), kind) for p, lang, text, o, kind in memo["chunks"])
                self._restored[uri] = (key, chunks)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            log.info("saved context choices not used: %s", e)

    def _ready(self, doc: _Doc, deadline: float | None) -> _Index | None:
        """``doc``'s chunks as last cut; cut now if there is time and they are missing
        (a document just opened, not too big) or, without an indexer thread, stale."""
        missing = doc.index is None and len(doc.text) <= INLINE_INDEX_CHARS
        if (missing or (self._indexer is None and not doc.fresh)) and (deadline is None or time.perf_counter() < deadline):
            self._index(doc)
        return doc.index

    def _select(
        self, uri: str, imported: dict[str, str], uses: dict[str, int], query: str, limit: int
    ) -> tuple[tuple[Chunk, ...], bool]:
        """The ranking, and whether every document had its chunks."""
        deadline = None if self._budget_s is None else time.perf_counter() + self._budget_s
        near = words(query)
        q = identifiers(query)
        edits = list(self._edits)
        edited_docs = {u for u, _ in edits}
        # Documents first: those with a boost, then by how many of the query's identifiers
        # they hold (one set intersection each: the only work per open document).
        left, docs, complete = self._left, [], True
        for u, doc in self._docs.items():
            if u == uri:
                continue
            index = self._ready(doc, deadline)
            if index is None:
                complete = False
                continue
            docs.append((doc.stem in imported or u == left or u in edited_docs, len(index.ids & q), u, doc, index))
        scored: list[tuple[float, Chunk, Collection[str]]] = []
        for _, _, u, doc, index in heapq.nlargest(RANKED_DOCUMENTS, docs, key=lambda d: (d[0], d[1])):
            stem = doc.stem
            lines = [(n, age) for age, (eu, n) in enumerate(reversed(edits)) if eu == u]
            for start, text, words_of in index.chunks:
                sim = jaccard(q, words_of)
                boost, kind, chunk = 0.0, "outline" if start < 0 else "lines", None
                if kind == "outline" and stem in imported:
                    outline_chunk = Chunk(doc.path, doc.language, text, (doc.path, start), kind)
                    chunk, more = _as_imported(outline_chunk, imported[stem], uses[stem], near)
                    boost += IMPORTED_BOOST + more
                elif kind == "lines" and sim > MAX_QUERY_SIMILARITY:
                    continue  # it repeats the cursor's own context
                elif lines:
                    end = start + text.count("\n")
                    hits = [age for n, age in lines if start <= n < end]
                    if hits:
                        boost += EDIT_BOOST * (1 - min(hits) / RECENT_EDITS)
                if sim + boost > 0:
                    chunk = chunk or Chunk(doc.path, doc.language, text, (doc.path, start), kind)
                    scored.append((sim + boost, chunk, words_of))
        if self.workspace is not None:  # its outlines already carry IMPORTED_BOOST
            for chunk, ids, boost in self.workspace.candidates(uri, imported, q, self._docs.keys(), limit):
                stem = PurePosixPath(chunk.path).stem
                if chunk.kind == "outline" and stem in imported:
                    chunk, more = _as_imported(chunk, imported[stem], uses[stem], near)
                    boost += more
                sim = jaccard(ids, q)
                if sim + boost > 0:
                    scored.append((sim + boost, chunk, ids))
        return tuple(_rank(scored, limit)), complete
