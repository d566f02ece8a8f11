"""The workspace index: every source file under the workspace folders, parsed once, kept fresh.

One background thread owns all file I/O and parsing (a walk at start, a file at each
save or watched-file event, a stat-only walk on request that reparses what changed);
a completion only calls ``candidates``, which looks up what that thread prepared and
ranks the line chunks of at most ``RELATED_FILES`` files against the cursor's context
(1-3 ms in a tree of 3,000 files; no I/O, no parsing). Line chunks are kept for files
until they hold ``LINE_CHUNK_CHARS`` characters (about twice that in memory); the files
past it give their outline and definitions only. The walk respects ``.gitignore``
files, skips version-control folders, files of no known programming language, binary
files and files over ``MAX_FILE_BYTES``, and stops at ``max_files``
(``context.workspaceFiles``), saying so.
"""

from __future__ import annotations

import heapq
import logging
import os
import queue
import stat
import sys
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Collection, Iterable, Iterator
from urllib.parse import unquote, urlparse

from ..extra_context import MAX_QUERY_SIMILARITY, Chunk, chunk_lines, identifiers, jaccard
from ..foreground import FOREGROUND
from ..languages import language_id_for_path
from . import gitignore
from .parse import FileFacts, parse

log = logging.getLogger(__name__)

DIRS_PER_FILE = 10  # folders walked per file of the cap at most
MAX_FILE_BYTES = 512 * 1024  # bigger files are generated or data, not code someone imports
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__"})
# Languages of markup and data: nothing in them is a definition code uses.
NOT_CODE = frozenset({"json", "markdown", "html", "xml", "css", "less", "scss", "yaml", "toml", "latex", "tex", ""})

NEAR_FOLDERS = 2  # a module found by its name alone must be this close to the importing file
GENERIC_NAME = 64  # a name defined in more files than this, none of them imported, says nothing
IMPORTED_BOOST = 1.0  # the outline of a module the file imports (as for an open document)
IMPORTED_NAME_BOOST = 0.5  # the definition of a name the file imports
NEAR_NAME_BOOST = 0.25  # the definition of a name used near the cursor
SAME_MODULE_BOOST = 0.1  # ... defined in a module the file imports
RELATED_FILES = 16  # files not open whose line chunks a completion ranks (as ``Sources`` ranks open documents)
NEAR_MEMO = 64  # files whose related files are remembered (until the index changes)
LINE_CHUNK_CHARS = 16 << 20  # files keep line chunks until theirs hold this many characters in all (memory: ~2x)


def uri_path(uri: str) -> str:
    """The file system path of a ``file:`` URI ("" for other schemes)."""
    return _uri_path(uri)


@lru_cache(maxsize=4096)
def _uri_path(uri: str) -> str:
    parsed = urlparse(uri)
    return os.path.normpath(unquote(parsed.path)) if parsed.scheme == "file" else ""


@dataclass(frozen=True)
class IndexedFile:
    path: str  # absolute
    shown: str  # relative to its workspace folder: the name the prompt shows
    mtime_ns: int
    size: int
    order: int  # stable per path: where its chunks go in the prompt
    facts: FileFacts
    outline_ids: frozenset[str]  # identifiers(facts.outline), computed once here
    # Its text cut into line chunks as an open document's is: (first line, text, identifiers).
    # Plain tuples of strings, which the garbage collector stops tracking.
    chunks: tuple[tuple[int, str, tuple[str, ...]], ...] = ()
    ids: tuple[str, ...] = ()  # every chunk's identifiers, once each


@dataclass(frozen=True)
class Progress:
    indexed: int  # files parsed so far
    found: int  # files the walk found so far
    done: bool  # the first walk is over
    capped: bool  # the walk stopped at max_files


def indexable(path: str) -> str:
    """The languageId of a file worth indexing ("" when it is not code)."""
    language = language_id_for_path(path)
    return "" if language in NOT_CODE else language


def _binary(head: bytes) -> bool:
    return b"\0" in head


def read_source(path: str) -> str | None:
    """A file's text, or None when it is binary, too big or unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        log.debug("workspace index: %s unreadable: %s", path, e)
        return None
    if len(data) > MAX_FILE_BYTES or _binary(data[:8192]):
        return None
    return data.decode("utf-8", "replace")


def walk(root: str, max_files: int) -> Iterator[tuple[str, os.stat_result | None]]:
    """Source files under ``root`` (absolute paths with their stat), ``.gitignore`` files
    respected, at most ``max_files``; then ``(root, None)`` if the walk stopped before its
    end: more files, or more than ``DIRS_PER_FILE`` folders per file of the cap (a home
    folder opened as a workspace is not walked to its end)."""
    count = 0
    folders = 0
    stack: list[tuple[str, list[gitignore.Rule]]] = [("", [])]
    while stack:
        rel_dir, rules = stack.pop()
        folders += 1
        if folders > DIRS_PER_FILE * max(max_files, 100):
            yield root, None
            return
        here = os.path.join(root, rel_dir) if rel_dir else root
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as e:
            log.debug("workspace index: %s unreadable: %s", here, e)
            continue
        if any(e.name == ".gitignore" for e in entries):
            text = read_source(os.path.join(here, ".gitignore"))
            rules = rules + gitignore.parse(text or "", rel_dir)
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if not is_dir and not entry.is_file(follow_symlinks=False):
                    continue
            except OSError:
                continue
            if is_dir and entry.name in SKIPPED_DIRS:
                continue
            if gitignore.ignored(rules, rel, is_dir):
                continue
            if is_dir:
                subdirs.append((rel, rules))
            elif indexable(entry.name):
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if st.st_size > MAX_FILE_BYTES:
                    continue
                if count == max_files:
                    yield root, None
                    return
                yield entry.path, st
                count += 1
        stack.extend(reversed(subdirs))


class WorkspaceIndex:
    """The files under ``roots`` (folders), at most ``max_files`` of them. ``start`` walks
    them on a background thread; ``update``/``remove``/``refresh`` queue work for it."""

    def __init__(self, roots: Iterable[str], max_files: int) -> None:
        self.roots = [os.path.normpath(r) for r in dict.fromkeys(roots) if r]
        self.max_files = max_files
        self.version = 0  # bumped at each change: what Sources' choice depends on
        self._lock = threading.Lock()
        self._files: dict[str, IndexedFile] = {}
        self._by_name: dict[str, list[tuple[IndexedFile, int]]] = {}  # name -> (file, definition index)
        self._by_stem: dict[str, list[IndexedFile]] = {}
        self._importers: dict[str, list[IndexedFile]] = {}  # a module's stem -> the files importing a module of that name
        self._chunk_chars = 0  # characters held in line chunks (``LINE_CHUNK_CHARS``)
        self._orders: dict[str, int] = {}
        self._resolved: tuple[tuple[object, ...], dict[str, IndexedFile]] | None = None
        self._near: dict[tuple[object, ...], list[IndexedFile]] = {}  # see _importing
        self._near_version = -1
        self._found = 0
        self._done = False
        self._capped = False
        self._chunks_full = False  # said once: line chunks reached LINE_CHUNK_CHARS
        self._jobs: queue.Queue[tuple[str, str, str] | None] = queue.Queue()
        self._open: set[str] = set()  # paths whose entry holds the editor's text (the worker's own)
        self._thread: threading.Thread | None = None

    # --- the background thread ------------------------------------------------------

    def start(self) -> None:
        self._jobs.put(("walk", "", ""))
        self._thread = threading.Thread(target=self._run, name="workspace-index", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._jobs.put(None)

    def update(self, path: str) -> None:
        """``path`` was saved or changed on disk: parse it again (in the background)."""
        self._jobs.put(("file", path, ""))

    def opened(self, uri: str, text: str) -> None:
        """The editor opened ``uri`` with ``text``: it is indexed from that text, not the disk."""
        self._jobs.put(("open", uri_path(uri), text))

    def closed(self, uri: str) -> None:
        """The editor closed ``uri``: back to the copy on disk."""
        self._jobs.put(("close", uri_path(uri), ""))

    def remove(self, path: str) -> None:
        self._jobs.put(("gone", path, ""))

    def refresh(self) -> None:
        """Walk again, parsing only files whose size or mtime changed (in the background)."""
        self._jobs.put(("walk", "", ""))

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the queued work is done (tests, benchmarks)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._jobs.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _run(self) -> None:
        _lower_priority()
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                kind, path, text = job
                if kind == "walk":
                    self._walk()
                elif kind == "open":
                    self._open.add(path)
                    self._index_file(path, text=text)
                elif kind in ("file", "close"):
                    if kind == "close":
                        self._open.discard(path)
                    self._index_file(path)
                else:
                    self._drop(path)
            except Exception:  # one bad file must not end the index
                log.exception("workspace index: %s failed", job)
            finally:
                self._jobs.task_done()

    def _walk(self) -> None:
        seen: set[str] = set()
        self._capped = False
        for root in self.roots:
            for path, st in walk(root, self.max_files - len(seen)):
                if st is None:
                    self._capped = True
                    break
                seen.add(path)
                self._found = len(seen)
                old = self._files.get(path)
                if path in self._open:
                    continue  # the editor's text wins over the disk
                if old is None or (old.mtime_ns, old.size) != (st.st_mtime_ns, st.st_size):
                    self._index_file(path, st)
            if self._capped:
                break
        for path in [p for p in self._files if p not in seen and p not in self._open]:
            self._drop(path)
        self._done = True

    def _index_file(self, path: str, st: os.stat_result | None = None, text: str | None = None) -> None:
        """Parse ``path`` (``text`` when given: an open document's, else the file's on disk) into the maps."""
        path = os.path.normpath(path)
        root = next((r for r in self.roots if path.startswith(r + os.sep)), None)
        language = indexable(path)
        if root is None or not language:
            return
        if path not in self._files and len(self._files) >= self.max_files:
            self._capped = True
            return
        if text is None:
            try:
                st = st or os.stat(path)
            except OSError:
                self._drop(path)
                return
            text = read_source(path) if stat.S_ISREG(st.st_mode) else None
            if text is None:
                self._drop(path)
                return
        elif len(text) > MAX_FILE_BYTES:
            return
        old = self._files.get(path)
        held = self._chunk_chars - (sum(len(t) for _, t, _ in old.chunks) if old else 0)
        with FOREGROUND.background():
            facts = parse(text, language)
            chunks = _line_chunks(text) if held + len(text) <= LINE_CHUNK_CHARS else ()
        order = self._orders.setdefault(path, len(self._orders))
        shown = os.path.relpath(path, root).replace(os.sep, "/")
        if not chunks and held + len(text) > LINE_CHUNK_CHARS and not self._chunks_full:
            self._chunks_full = True
            log.info("workspace index: line chunks held for %d characters of files; the rest give definitions only", held)
        ids = tuple({w: None for _, _, c in chunks for w in c})
        entry = IndexedFile(
            path, shown, st.st_mtime_ns if st else -1, st.st_size if st else -1, order, facts,
            identifiers(facts.outline), chunks, ids,
        )
        with self._lock:
            self._unlink(path)
            self._files[path] = entry
            self._chunk_chars += sum(len(t) for _, t, _ in chunks)
            for stem in _stems(path):
                self._by_stem.setdefault(stem, []).append(entry)
            for stem in _import_stems(facts.imports, path):
                self._importers.setdefault(stem, []).append(entry)
            for i, d in enumerate(facts.definitions):
                self._by_name.setdefault(d.name, []).append((entry, i))
            self.version += 1

    def _drop(self, path: str) -> None:
        with self._lock:
            if self._unlink(os.path.normpath(path)):
                self.version += 1

    def _unlink(self, path: str) -> bool:
        """Take ``path`` out of the maps (the lock held)."""
        old = self._files.pop(path, None)
        if old is None:
            return False
        self._chunk_chars -= sum(len(t) for _, t, _ in old.chunks)
        for stem in _stems(path):
            self._by_stem[stem] = [f for f in self._by_stem[stem] if f.path != path]
        for stem in _import_stems(old.facts.imports, path):
            rest = [f for f in self._importers[stem] if f.path != path]
            if rest:
                self._importers[stem] = rest
            else:
                del self._importers[stem]
        for name in {d.name for d in old.facts.definitions}:
            rest = [(f, i) for f, i in self._by_name[name] if f.path != path]
            if rest:
                self._by_name[name] = rest
            else:
                del self._by_name[name]
        return True

    def _imports_of(self, current: IndexedFile | None, here: str) -> dict[str, IndexedFile]:
        """The files ``current``'s imports resolve to, by the name the file is known by
        (the lock held; remembered until the index changes)."""
        key = (here, self.version)
        if self._resolved is not None and self._resolved[0] == key:
            return self._resolved[1]
        modules: dict[str, IndexedFile] = {}
        for module in current.facts.imports if current else ():
            f = self._resolve(module, here)
            if f is not None:
                modules.setdefault(_stems(f.path)[-1], f)
        self._resolved = (key, modules)
        return modules

    def _resolve(self, module: str, here: str) -> IndexedFile | None:
        """The indexed file an import names (the lock held): relative imports from ``here``'s
        folder (``./util``, ``.models``, ``..pkg.mod``), others by their trailing path
        (``requests.adapters`` -> ``…/requests/adapters.py``, ``foo.h``), nearest first."""
        target, exact = _module_path(module, here)
        if not target:
            return None
        stem = target.rsplit("/", 1)[-1]
        return _closest([f for f in self._by_stem.get(stem, ()) if _names(f, target, exact)], here, set())

    # --- what the event loop asks -------------------------------------------------------

    @property
    def walked(self) -> bool:
        """The first walk over the folders is over (``Sources`` makes its choices again then)."""
        return self._done

    def progress(self) -> Progress:
        return Progress(len(self._files), self._found, self._done, self._capped)

    def __len__(self) -> int:
        return len(self._files)

    def candidates(
        self, uri: str, imported: dict[str, str], query_ids: frozenset[str], open_uris: Iterable[str], limit: int
    ) -> list[tuple[Chunk, frozenset[str], float]]:
        """Chunks for a completion in ``uri``, best first, with their identifier sets and
        boosts: the outlines of the modules it imports, the definitions of the names it
        imports or uses near the cursor (``query_ids``), and line chunks of the files
        related to it (the modules it imports, the files importing them too) as an open
        document gives them. Files open in the editor are left to ``Sources`` (which has
        their current text), but for the definitions, which come from the text they were
        opened or saved with. Lookups only: no I/O, no parsing."""
        here = uri_path(uri)
        skip = {uri_path(u) for u in open_uris} | {here}
        with self._lock:
            current = self._files.get(here)
            modules = dict(self._imports_of(current, here))
            # The open text's imports that the disk copy lacks, by name alone (unless an open document has it).
            for stem in imported.keys() - modules.keys() - {_stems(p)[-1] for p in skip}:
                f = _closest(self._by_stem.get(stem, ()), here, skip)
                if f is not None and _distance(here, f.path) <= NEAR_FOLDERS:
                    modules[stem] = f
            out: list[tuple[float, float, Chunk, Collection[str]]] = []  # (score, boost, chunk, identifiers)

            def offer(boost: float, chunk: Chunk, ids: Collection[str]) -> None:
                out.append((boost + jaccard(query_ids, ids), boost, chunk, ids))

            for f in modules.values():
                if f.facts.outline and f.path not in skip:
                    offer(IMPORTED_BOOST, _chunk(f, f.facts.outline, -1, "outline"), f.outline_ids)
            module_paths = {f.path for f in modules.values()}
            own = {d.name for d in current.facts.definitions} if current else set()
            for name in (query_ids | imported.keys()) - own:
                found = self._by_name.get(name)
                if not found:
                    continue
                known = [(f, i) for f, i in found if f.path in module_paths]
                if not known and len(found) > GENERIC_NAME:
                    continue
                best = _closest_def(known or found, here, {here})
                if best is None:
                    continue
                f, i = best
                d = f.facts.definitions[i]
                boost = (IMPORTED_NAME_BOOST if name in imported else NEAR_NAME_BOOST) + (SAME_MODULE_BOOST if known else 0.0)
                offer(boost, _chunk(f, d.text, d.line, "definition"), identifiers(d.text))
            for f in self._related(modules.values(), query_ids, here, skip):
                if f.path not in module_paths and f.facts.outline and jaccard(query_ids, f.outline_ids) > 0:
                    offer(0.0, _chunk(f, f.facts.outline, -1, "outline"), f.outline_ids)
                for start, text, ids in f.chunks:
                    sim = jaccard(query_ids, ids)
                    if 0 < sim <= MAX_QUERY_SIMILARITY:  # more would repeat the cursor's own context
                        out.append((sim, 0.0, _chunk(f, text, start, "lines"), ids))
        best = heapq.nsmallest(limit, out, key=lambda t: (-t[0], t[2].order))
        return [(chunk, frozenset(ids), boost) for _, boost, chunk, ids in best]

    def _related(
        self, modules: Iterable[IndexedFile], query_ids: frozenset[str], here: str, skip: set[str]
    ) -> list[IndexedFile]:
        """The ``RELATED_FILES`` files not open whose line chunks are worth ranking (the lock
        held): the modules ``here`` imports, and the files importing most of them too
        (nearest first), by how many of the query's identifiers they hold."""
        pool = [(True, f) for f in modules] + [(False, g) for g in self._importing(tuple(modules), here)]
        ranked = heapq.nlargest(
            RELATED_FILES,
            ((is_module, f) for is_module, f in pool if f.path not in skip),
            key=lambda t: (t[0], len(query_ids.intersection(t[1].ids)), -t[1].order),
        )
        return [f for _, f in ranked]

    def _importing(self, modules: tuple[IndexedFile, ...], here: str) -> list[IndexedFile]:
        """The ``2 * RELATED_FILES`` files that import most of ``modules`` too, nearest to
        ``here`` first (the lock held; remembered until the index changes: it walks every
        importer of every module, a few thousand in a big tree)."""
        if self._near_version != self.version:
            self._near.clear()
            self._near_version = self.version
        key = (here, tuple(f.path for f in modules))
        if key in self._near:
            return self._near[key]
        shared: dict[str, int] = {}
        files: dict[str, IndexedFile] = {}
        for f in modules:
            for g in self._importers.get(_stems(f.path)[-1], ()):
                if g.path != here:
                    shared[g.path] = shared.get(g.path, 0) + 1
                    files[g.path] = g
        best = heapq.nsmallest(2 * RELATED_FILES, shared, key=lambda p: (-shared[p], _distance(here, p), p))
        if len(self._near) >= NEAR_MEMO:
            self._near.pop(next(iter(self._near)))
        self._near[key] = [files[p] for p in best]
        return self._near[key]


def _chunk(f: IndexedFile, text: str, line: int, kind: str) -> Chunk:
    return Chunk(f.shown, f.facts.language, text, (f.shown, line), kind)


_SOURCE_SUFFIXES = (".h", ".hpp", ".hh", ".js", ".ts", ".mjs", ".cjs", ".tsx", ".jsx", ".py")


def _module_path(module: str, here: str) -> tuple[str, bool]:
    """Where an import points, without the file's extension, and whether that is an
    absolute path (relative imports) or a trailing part of one: ``./util.js`` in
    ``/p/a.js`` -> (/p/util, True), ``..pkg.mod`` in ``/p/q/a.py`` -> (/p/pkg/mod, True),
    ``requests.adapters`` -> (requests/adapters, False), ``foo.h`` -> (foo, False)."""
    module = module.strip()
    if module.endswith(_SOURCE_SUFFIXES):
        module = module.rsplit(".", 1)[0]
    folder = os.path.dirname(here)
    if module.startswith(("./", "../")):
        return os.path.normpath(os.path.join(folder, module)).replace(os.sep, "/"), True
    if "/" not in module and module.startswith("."):  # Python: one dot per level up
        dots = len(module) - len(module.lstrip("."))
        for _ in range(dots - 1):
            folder = os.path.dirname(folder)
        rest = module[dots:].replace(".", "/")
        return (os.path.join(folder, rest).replace(os.sep, "/") if rest else ""), True
    return module.replace("::", "/").replace(".", "/").strip("/"), False


def _line_chunks(text: str) -> tuple[tuple[int, str, tuple[str, ...]], ...]:
    """``text`` cut into line chunks as an open document is (``extra_context.chunk_lines``),
    with their identifiers (interned: the same name in many chunks is one string)."""
    return tuple((start, t, tuple(sys.intern(w) for w in identifiers(t))) for start, t in chunk_lines(text))


def _import_stems(imports: Iterable[str], path: str) -> set[str]:
    """The last part of each module a file imports (``..pkg.mod`` -> mod, ``./util.js`` -> util)."""
    return {stem for m in imports if (stem := _module_path(m, path)[0].rsplit("/", 1)[-1])}


def _stems(path: str) -> tuple[str, ...]:
    """The names an import may call a file by: its stem, and for a package's
    ``__init__``/``index`` file its folder's name (the last is the one it is known by)."""
    folder, name = os.path.split(path)
    stem = name.split(".", 1)[0]
    return (stem, os.path.basename(folder)) if stem in ("__init__", "index") else (stem,)


def _names(f: IndexedFile, target: str, exact: bool) -> bool:
    """Whether ``f`` is what ``target`` (from ``_module_path``) names: the file itself or
    its package's ``__init__``/``index``. An absolute module name matches the end of the
    path within the workspace folder; a one-part name (``utils``) only a top-level module
    (``utils.py``, ``src/utils.py``), not any ``utils.py`` deep in someone's package."""
    bare = (f.path if exact else f.shown).replace(os.sep, "/").rsplit(".", 1)[0]
    if bare.endswith(("/__init__", "/index")) or bare in ("__init__", "index"):
        bare = bare.rpartition("/")[0]
    if exact or bare == target:
        return bare == target
    head = bare[: -len(target) - 1] if bare.endswith("/" + target) else None
    return head is not None and ("/" in target or "/" not in head)


def _distance(a: str, b: str) -> int:
    """How far apart two files are: folders up from ``a`` then down to ``b``."""
    pa, pb = a.split(os.sep)[:-1], b.split(os.sep)[:-1]
    common = 0
    for x, y in zip(pa, pb):
        if x != y:
            break
        common += 1
    return len(pa) + len(pb) - 2 * common


def _closest(files: Iterable[IndexedFile], here: str, skip: set[str]) -> IndexedFile | None:
    best = None
    for f in files:
        if f.path not in skip and (best is None or (_distance(here, f.path), f.path) < (_distance(here, best.path), best.path)):
            best = f
    return best


def _closest_def(
    found: list[tuple[IndexedFile, int]], here: str, skip: set[str]
) -> tuple[IndexedFile, int] | None:
    kept = [(f, i) for f, i in found if f.path not in skip]
    return min(kept, key=lambda t: (_distance(here, t[0].path), t[0].path, t[1]), default=None)


def _lower_priority() -> None:
    """Indexing yields the CPU to completions (Linux: a thread has its own nice value)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass

