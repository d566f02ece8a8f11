"""Context beyond the current file: what of the other open documents goes before the prefix.

Sources are what the editor already sends: the other open documents, the ranges the
user recently edited in them (didChange), and the document the user just left.

- Documents are cut into line chunks at top-level statements (whole definitions where
  they fit, at most ``CHUNK_LINES`` lines), plus one *outline* per document: its
  definition lines (``def``/``class``/``function``/top-level names), which tells a small
  model most compactly which names another module offers.
- Candidates are ranked by Jaccard similarity of identifier sets against the text
  around the cursor, with boosts for the outline of a module the current file imports,
  recent edits and the document just left. As in llama.vim: a chunk more than
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
  prefix; the rest by when the document was opened, then line), so the set — and the
  KV cache holding it — changes only when the choice does. The ranking query ends on a
  grid line, so typing on the lines since does not change the choice.

- Files that are not open come from the workspace index (``Sources.workspace``): the
  outlines of the modules the file imports and the definitions of the names it uses,
  ranked with the rest.

Everything but ``Sources`` (the state fed by the server's handlers) is pure.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Iterable, Protocol, Sequence
from urllib.parse import unquote, urlparse

from .budget import split_lines
from .context import Cursor

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
LEFT_BOOST = 0.15  # chunks of the document the user just left

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
_PY_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[\w \t,*]+)|import[ \t]+([\w. \t,]+))", re.M)
_JS_IMPORT = re.compile(r"""(?:from|require\(|import\()\s*['"]([^'"]+)['"]""")


@dataclass(frozen=True)
class Chunk:
    """Whole lines of another document, with where they come from."""

    path: str  # the document's name as the prompt shows it
    language: str  # its LSP languageId
    text: str  # whole lines; ends with a newline
    order: tuple[int, int]  # place in the prompt: (document opened, first line; -1 for the outline)
    kind: str = "lines"  # "lines", "outline", "usage" (an outline as the importing file names it), "definition" (workspace_index)

    @property
    def place(self) -> tuple[bool, int, int]:
        """Where it goes among the chosen chunks: usage outlines last (nearest the
        prefix, where a small model looks), the rest by document and line."""
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
    return frozenset(w for w in _IDENT.findall(text) if len(w) > 1 and w.lower() not in _COMMON)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
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
    for body in (line.rstrip("\r\n") for line in split_lines(text)):
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


@dataclass
class _Doc:
    path: str
    language: str
    opened: int
    text: str = ""
    chunks: list[tuple[Chunk, frozenset[str]]] | None = None  # cut when first needed after a change


def _rank(
    candidates: Iterable[tuple[Chunk, frozenset[str], float]], query: frozenset[str]
) -> list[Chunk]:
    """Best first: similarity plus boost; near-copies of the cursor's context and of
    better chunks dropped."""
    scored = []
    for chunk, ids, boost in candidates:
        sim = jaccard(ids, query)
        if chunk.kind == "lines" and sim > MAX_QUERY_SIMILARITY:
            continue
        scored.append((sim + boost, chunk, ids))
    scored.sort(key=lambda t: (-t[0], t[1].order))
    kept: list[tuple[Chunk, frozenset[str]]] = []
    for score, chunk, ids in scored:
        if score <= 0:
            continue
        if any(jaccard(ids, other) > DUPLICATE_SIMILARITY for _, other in kept):
            continue
        kept.append((chunk, ids))
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

    def opened(self, uri: str, text: str) -> None: ...

    def closed(self, uri: str) -> None: ...

    def candidates(
        self, uri: str, imported: dict[str, str], query_ids: frozenset[str], open_uris: Iterable[str], limit: int
    ) -> list[tuple[Chunk, frozenset[str], float]]: ...


class Sources:
    """The open documents, recent edits and the document just left, as the server's
    didOpen/didChange/didClose handlers report them; ``select`` ranks their chunks for
    a cursor. Used from the server's event loop only."""

    def __init__(self) -> None:
        self._docs: dict[str, _Doc] = {}
        self._opened = itertools.count()
        self._edits: deque[tuple[str, int]] = deque(maxlen=RECENT_EDITS)
        self._current: str | None = None
        self._left: str | None = None
        self._last: tuple[tuple[object, ...], tuple[Chunk, ...]] | None = None  # the last choice and what it depended on
        self.roots: list[str] = []
        self.workspace: Workspace | None = None  # definitions from files not open (workspace_index)

    def open(self, uri: str, language: str, text: str) -> None:
        self._docs[uri] = _Doc(display_path(uri, self.roots), language, next(self._opened))
        self._set_text(uri, text)
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
            self._set_text(uri, text)
        for line in lines:
            if (uri, line) in self._edits:
                self._edits.remove((uri, line))
            self._edits.append((uri, line))
        self.focus(uri)

    def close(self, uri: str) -> None:
        if self._docs.pop(uri, None) is not None and self.workspace is not None:
            self.workspace.closed(uri)
        self._edits = deque(((u, n) for u, n in self._edits if u != uri), maxlen=RECENT_EDITS)
        if self._left == uri:
            self._left = None
        if self._current == uri:
            self._current = None

    def focus(self, uri: str) -> None:
        """The user works in ``uri`` now; the document worked in before is the one just left."""
        if uri != self._current:
            if self._current is not None and self._current in self._docs:
                self._left = self._current
            self._current = uri

    def __contains__(self, uri: object) -> bool:
        return uri in self._docs

    def path(self, uri: str) -> str:
        doc = self._docs.get(uri)
        return doc.path if doc else display_path(uri, self.roots)

    def _set_text(self, uri: str, text: str) -> None:
        doc = self._docs[uri]
        if text != doc.text:
            doc.text, doc.chunks = text, None

    @staticmethod
    def _chunks(doc: _Doc) -> list[tuple[Chunk, frozenset[str]]]:
        if doc.chunks is not None:
            return doc.chunks
        text = doc.text
        chunks = [
            (Chunk(doc.path, doc.language, t, (doc.opened, start)), identifiers(t)) for start, t in chunk_lines(text)
        ]
        head = outline(text)
        if head:
            chunks.insert(0, (Chunk(doc.path, doc.language, head, (doc.opened, -1), "outline"), identifiers(head)))
        doc.chunks = chunks
        return chunks

    def select(self, uri: str, cursor: Cursor, limit: int = 32) -> tuple[Chunk, ...]:
        """Chunks of the other documents for ``cursor`` in ``uri``, best first (at most ``limit``)."""
        if self.workspace is None and not any(u != uri for u in self._docs):
            return ()
        imported = imported_modules(cursor.prefix[:20000])
        query = query_text(cursor)
        around = cursor.prefix[-20000:] + cursor.suffix[:5000]
        # How much the file uses each import, in steps of 10 uses (0-2), so typing ``module.`` does not reorder the ranking.
        uses = {stem: min(around.count(f"{alias or stem}.") // 10, 2) for stem, alias in imported.items()}
        # Everything the choice depends on (texts compare by identity first: cheap while unchanged).
        key = (uri, query, tuple(imported.items()), tuple(uses.values()), limit, self._left,
               tuple(e for e in self._edits if e[0] != uri), tuple((u, d.text) for u, d in self._docs.items() if u != uri),
               self.workspace.version if self.workspace is not None else None)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        chosen = self._select(uri, imported, uses, query, limit)
        self._last = (key, chosen)
        return chosen

    def _select(
        self, uri: str, imported: dict[str, str], uses: dict[str, int], query: str, limit: int
    ) -> tuple[Chunk, ...]:
        near = words(query)
        edits = list(self._edits)
        candidates = []
        for u, doc in ((u, d) for u, d in self._docs.items() if u != uri):
            stem = PurePosixPath(doc.path).stem
            lines = [(n, age) for age, (eu, n) in enumerate(reversed(edits)) if eu == u]
            for chunk, ids in self._chunks(doc):
                boost = LEFT_BOOST if u == self._left else 0.0
                if chunk.kind == "outline" and stem in imported:
                    chunk, more = _as_imported(chunk, imported[stem], uses[stem], near)
                    boost += IMPORTED_BOOST + more
                else:
                    end = chunk.order[1] + chunk.text.count("\n")
                    hits = [age for n, age in lines if chunk.order[1] <= n < end]
                    if hits:
                        boost += EDIT_BOOST * (1 - min(hits) / RECENT_EDITS)
                candidates.append((chunk, ids, boost))
        query_ids = identifiers(query)
        if self.workspace is not None:  # its outlines already carry IMPORTED_BOOST
            for chunk, ids, boost in self.workspace.candidates(uri, imported, query_ids, self._docs.keys(), limit):
                stem = PurePosixPath(chunk.path).stem
                if chunk.kind == "outline" and stem in imported:
                    chunk, more = _as_imported(chunk, imported[stem], uses[stem], near)
                    boost += more
                candidates.append((chunk, ids, boost))
        return tuple(_rank(candidates, query_ids)[:limit])
