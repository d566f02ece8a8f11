"""The language server: LSP features translated into engine calls and back.

Module-level ``@server.feature`` handlers, each a few lines. Everything stateful
lives in the ``Engine`` (model, queue, cache, stats); the server keeps the settings
and what the user was already told. Settings are merged and judged in ``options``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from . import __version__, documents, transport, trust, user_config
from .context import Cursor, Encoding, clamp_position, cursor_at
from .context import index_to_column
from .engine import Completion, Engine, Status
from .errors import CodeshellError
from .extra_context import SELECT_BUDGET_MS, Extra, Sources
from .kvstore import cache_dir, write_private
from .log import LOGGER_NAME, USER_NOTICE, get_logger
from .options import Settings, camel, flags_tree, merge
from .workspace_index import WorkspaceIndex, uri_path

log = get_logger(__name__)

STATS_METHOD = "codeshell/stats"
# What the editor reports about suggestions (counted locally; nothing leaves the machine).
SHOWN_METHOD = "codeshell/didShowCompletion"
ACCEPTED_METHOD = "codeshell/didAcceptCompletion"
PARTIALLY_ACCEPTED_METHOD = "codeshell/didPartiallyAcceptCompletion"
CONFIG_SECTION = "codeshell"
SWITCH_INTERVAL_S = 0.001
CONTEXT_SETTLE_S = 0.3  # documents opened or closed this close together are one change of context
# Files whose change the workspace index hears of (workspace/didChangeWatchedFiles).
WATCHED = "**/{*.py,*.pyi,*.js,*.mjs,*.cjs,*.jsx,*.ts,*.mts,*.tsx,*.go,*.rs,*.java,*.c,*.h,*.cc,*.cpp,*.cxx,*.hpp,*.hh,*.kt,*.swift,*.rb,*.php,*.cs,*.scala,*.lua,.gitignore}"
REFRESH_S = 60.0  # without watched-file events, a save re-checks the workspace's mtimes at most this often


class _Rejected:
    """A request whose params did not deserialize: already answered with InvalidParams."""


class Protocol(LanguageServerProtocol):
    """pygls' protocol, plus an answer for requests whose params fail to deserialize.

    pygls 2.1 logs "Unable to handle message" and never answers such a request, so
    the editor waits forever; LSP wants an InvalidParams error carrying its id.
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and "method" in data:
                cause = exc.__cause__ or exc
                message = f"invalid params for {data['method']}: {str(cause).splitlines()[0] if str(cause) else type(cause).__name__}"
                log.warning("%s (request %s)", message, data["id"])
                error = JsonRpcInvalidParams(message) if isinstance(exc, JsonRpcInvalidParams) else exc
                self._send_response(data["id"], error=error.to_response_error())
                return _Rejected()
            raise

    def _execute_handler(self, msg_id: Any, handler: Any, callback: Any, args: Any = None, kwargs: Any = None) -> None:
        # pygls 2.1 keeps the future of every notification whose handler is a coroutine, a
        # generator (its own didOpen/didChange/didClose are) or a thread function in
        # _request_futures under a random id and never takes it out: one per didChange,
        # ~2 kB each, for the life of the server. Taken out once it is done — unless it was
        # cancelled: only shutdown cancels these, while it iterates over that dict.
        if callback == self._check_handler_result:
            notified = callback

            def callback(future: Any) -> None:
                if not future.cancelled():
                    self._request_futures.pop(msg_id, None)
                notified(future)

        super()._execute_handler(msg_id, handler, callback, args, kwargs)

    # --- lifecycle: what LSP allows before initialize and after shutdown ----------------

    initialize_seen = False
    exit_code: int | None = None  # set by the exit notification: 0 after shutdown, else 1
    on_exit: Callable[[], None] | None = None  # stops the transport

    def refuse(self, msg_id: Any, code: int, message: str) -> None:
        log.warning("request %s refused: %s", msg_id, message)
        self._send_response(msg_id, error=types.ResponseError(code=code, message=message))

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Rejected):
            return
        method = getattr(message, "method", None)
        if isinstance(method, str) and hasattr(message, "id"):  # a request
            if method == types.INITIALIZE:
                if self.initialize_seen:
                    self.refuse(message.id, types.ErrorCodes.InvalidRequest, "initialize was already received")
                    return
                self.initialize_seen = True
            elif not self.initialize_seen:
                self.refuse(message.id, types.ErrorCodes.ServerNotInitialized, f"{method} before initialize: send initialize first")
                return
            elif self._shutdown:
                self.refuse(message.id, types.ErrorCodes.InvalidRequest, f"{method} after shutdown: only exit is accepted now")
                return
        elif method == types.EXIT:
            self.exit_code = 0 if self._shutdown else 1
            log.info("exit %s shutdown: exit code %d", "after" if self._shutdown else "without", self.exit_code)
            if self.on_exit is not None:
                self.on_exit()
            return
        elif isinstance(method, str) and not self.initialize_seen:
            log.info("notification %s before initialize: dropped", method)
            return
        super().handle_message(message)


class CodeshellServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "codeshell-lsp",
            __version__,
            protocol_cls=Protocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.cli_model: str | None = None
        self.cli_settings: dict[str, Any] = {}
        self.settings = Settings()
        self.engine = Engine(self.settings)
        self.sources = Sources(SELECT_BUDGET_MS)  # other open documents, recent edits: extra context
        self._told: set[str] = set()
        self._loaded_key: tuple[Any, ...] | None = None
        self._load: Future[Any] | None = None
        self._initialized = False
        self._init_options: dict[str, Any] = {}
        self._context_check: asyncio.TimerHandle | None = None
        self._closing: threading.Thread | None = None
        # The levels settings come from (see trust.py): the user's own (initializationOptions,
        # then unscoped workspace/configuration or a pushed tree over it) and the workspace
        # folder's (workspace/configuration scoped to it), which wins but is less trusted.
        self._user_tree: dict[str, Any] = {}
        self._workspace_tree: dict[str, Any] = {}
        self._root: str | None = None  # the first workspace folder (the scope of its settings)
        self.index: WorkspaceIndex | None = None  # files not open: definitions (context.workspaceFiles)
        self._index_key: tuple[Any, ...] | None = None
        self._watching = False  # the client sends workspace/didChangeWatchedFiles
        self._refreshed = 0.0

    def close_engine(self) -> threading.Thread:
        """Stop the engine and save what it keeps (KV, the context chosen per document)
        on a thread; the same thread for every call."""
        if self._closing is None:
            self._closing = threading.Thread(target=self._close, name="codeshell-close")
            self._closing.start()
        return self._closing

    def _close(self) -> None:
        try:
            self.engine.close()
            if self.index is not None:
                self.index.close()
        finally:
            if self.settings.cache.persist and self._initialized:
                try:
                    write_private(self.context_file(), self.sources.choices())
                except OSError as e:
                    log.warning("could not save the context choices to %s: %s", self.context_file(), e)

    def context_file(self) -> Path:
        """Where the context chosen per document is kept across restarts (one file per set of workspace folders)."""
        digest = hashlib.blake2b("\n".join(sorted(self.sources.roots)).encode(), digest_size=8).hexdigest()
        return cache_dir().parent / "context" / f"{digest}.json"

    def configure(self, cli_model: str | None, cli_settings: dict[str, Any]) -> None:
        """The model and settings given on the command line (they win over the editor's)."""
        self.cli_model, self.cli_settings = cli_model, cli_settings
        self.settings, _ = Settings.from_dict(cli_settings)
        self.engine.settings = self.settings

    # --- telling the user -------------------------------------------------------------

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Warning, logged: bool = False) -> None:
        """window/showMessage, once per distinct message (and logged, unless it came from the log)."""
        if message in self._told:
            return
        self._told.add(message)
        if not logged:
            log.warning("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"codeshell-lsp: {message}"))

    def report_server_error(self, error: Exception, source: Any) -> None:
        # Bad notifications are logged, not shown: one broken client message must not pop
        # a dialog on every keystroke.
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)

    # --- settings and model --------------------------------------------------------------

    def apply_settings(self, source: str) -> None:
        """Take the settings trees (workspace over user, both over the user config, CLI
        flags over all), report problems, keep an API key from a URL it must not go to,
        reload the model if needed."""
        user = user_config.read()
        for p in user.problems:
            self.tell(p)
        settings, problems = Settings.layered(merge(self._user_tree, self._workspace_tree), self.cli_settings, user.settings())
        for p in problems:
            self.tell(f"setting {p} ({source})")
        levels = [(trust.Level.USER, self._user_tree), (trust.Level.WORKSPACE, self._workspace_tree),
                  (trust.Level.COMMAND_LINE, self.cli_settings)]
        layers = [(level, Settings.from_dict(tree)[0]) for level, tree in levels] + [(trust.Level.USER, user.settings())]
        settings, why = trust.guard_key(settings, layers)
        if why:
            self.tell(why)
        self.settings = settings
        key = (*settings.load_key(self.cli_model), user_config.model_choice(user))
        self.engine.settings = settings
        if key != self._loaded_key:
            self._loaded_key = key
            # Queued now (in order with completions, which wait behind it); reported later.
            self._load = self.engine.load(self.cli_model, settings)
            asyncio.ensure_future(self.report_load(self._load, time.perf_counter()))
            if self._initialized:
                asyncio.ensure_future(self.report_load_progress(self._load))
        if self._initialized:
            self.ensure_index()

    async def report_load(self, future: Future[Any], t0: float) -> None:
        """Tell the outcome of a model load: an error once, success in the log."""
        try:
            backend = await asyncio.wrap_future(future)
        except CodeshellError as e:
            where = "codeshell.model.path" if self.settings.backend.kind == "local" else "codeshell.backend.url"
            self.tell(f"{e}. Completions are off until this is fixed (set {where}).", types.MessageType.Error)
            return
        log.info(
            "%s ready in %.1f s (template %s; %s)",
            backend.model_name, time.perf_counter() - t0, backend.template_name, backend.template_note,
        )
        if backend.template_name == "prefix-only":
            self.tell(backend.template_note, types.MessageType.Info)

    async def begin_progress(self, message: str) -> str | None:
        """A $/progress token, begun with ``message`` (None for clients without workDoneProgress)."""
        if not _supports_progress(self.client_capabilities):
            return None
        token = f"codeshell-{uuid.uuid4().hex[:8]}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception as e:  # a client that refuses progress still gets the work done
            log.debug("no progress: %s", e)
            return None
        self.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="codeshell-lsp", message=message, cancellable=False))
        return token

    async def report_load_progress(self, future: Future[Any]) -> None:
        """$/progress from now until the load ends (for clients with workDoneProgress)."""
        token = await self.begin_progress("loading model")
        if token is None:
            return
        await asyncio.wait([asyncio.wrap_future(future)])
        failed = future.exception() is not None
        self.work_done_progress.end(token, types.WorkDoneProgressEnd(message="model failed to load" if failed else "model ready"))

    async def pull_configuration(self, source: str) -> None:
        """Ask for the ``codeshell`` section (workspace/configuration) as the user's own
        settings and as the workspace folder's, and apply them (nothing if the client
        cannot be asked)."""
        caps = self.client_capabilities
        if not (caps.workspace and caps.workspace.configuration):
            return
        items = [types.ConfigurationItem(section=CONFIG_SECTION)]
        if self._root:
            items.append(types.ConfigurationItem(section=CONFIG_SECTION, scope_uri=self._root))
        try:
            trees = await asyncio.wait_for(self.workspace_configuration_async(types.ConfigurationParams(items=items)), timeout=5)
        except (Exception, asyncio.TimeoutError) as e:
            log.warning("workspace/configuration failed: %s", e or "no answer in 5 s")
            return
        user, workspace = [t if isinstance(t, dict) else {} for t in [*(trees or []), {}, {}][:2]]
        self.receive(user, workspace, source)

    def receive(self, user: dict[str, Any], workspace: dict[str, Any], source: str) -> None:
        """New user and workspace trees from the client (over initializationOptions)."""
        self._user_tree, self._workspace_tree = merge(self._init_options, user), workspace
        self.apply_settings(source)

    # --- completion ----------------------------------------------------------------------

    @property
    def encoding(self) -> Encoding:
        """The negotiated position encoding as a plain string ('utf-16', 'utf-8', 'utf-32')."""
        enc = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return getattr(enc, "value", enc)  # type: ignore[return-value]

    async def complete_at(self, uri: str, position: types.Position) -> tuple[Completion, Cursor, types.Position] | None:
        doc = self.workspace.text_documents.get(unquote(uri))
        if doc is None:
            log.info("completion for %s, which is not open: no result", uri)
            return None
        encoding = self.encoding
        text = doc.source
        line, character = clamp_position(text, position.line, position.character, encoding)
        cursor = cursor_at(text, line, character, encoding)
        self.sources.focus(uri)
        extra = self.extra_for(uri, cursor, doc.language_id or "")
        # Submitted before any await: requests reach the engine in the order they came.
        job = self.engine.submit(uri, cursor, self.settings, doc.language_id or "", extra)
        try:
            if self.engine.backend is None:
                # Queued behind a load in progress: wait for it, up to completion.loadTimeoutMs.
                timeout = self.settings.completion.load_timeout_ms / 1000
                if not await asyncio.to_thread(self.engine.wait_loaded, timeout):
                    log.info("model still loading after %.0f s: empty result", timeout)
                    self.engine.cancel(job, Status.LOAD_TIMEOUT)
            result = await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            self.engine.cancel(job)
            raise
        if result.status is Status.ERROR:
            self.tell(result.error)
        if result.status is Status.CANCELLED:
            # $/cancelRequest reached a running job: LSP's RequestCancelled answer.
            raise asyncio.CancelledError()
        return result, cursor, types.Position(line, character)


    def extra_for(self, uri: str, cursor: Cursor, language: str) -> Extra | None:
        """The other documents' chunks for a completion at ``cursor`` (None when off or none)."""
        x = self.settings.context
        if not x.other_files or x.max_chunks == 0 or x.extra_tokens == 0:
            return None
        chunks = self.sources.select(uri, cursor)
        return Extra(chunks, x.extra_tokens, x.max_chunks, self.sources.path(uri), language) if chunks else None

    def context_changed(self) -> None:
        """A document opened or closed: once the editor has stopped opening and closing
        them (a burst at start-up is one check), evaluate the last request's new extra
        context while idle."""
        if self._context_check is not None:
            self._context_check.cancel()
        self._context_check = asyncio.get_running_loop().call_later(CONTEXT_SETTLE_S, self._prewarm_context)

    def _prewarm_context(self) -> None:
        self._context_check = None
        last = self.engine.last
        if last is None or last.speculative or last.key not in self.sources:
            return
        extra = self.extra_for(last.key, last.cursor, last.language)
        if extra != last.extra:
            self.engine.prewarm(last, extra)

    # --- workspace index -----------------------------------------------------------------

    def ensure_index(self) -> None:
        """The workspace index for the current folders and ``context.workspaceFiles``,
        (re)started in the background when either changed."""
        roots = [p for p in (uri_path(u) for u in self.sources.roots) if p]
        cap = self.settings.context.workspace_files
        if (tuple(roots), cap) == self._index_key:
            return
        self._index_key = (tuple(roots), cap)
        if self.index is not None:
            self.index.close()
        self.index = WorkspaceIndex(roots, cap) if roots and cap else None
        self.sources.attach(self.index)
        if self.index is not None:
            self.index.start()
            asyncio.ensure_future(self.report_index_progress(self.index))

    async def report_index_progress(self, index: WorkspaceIndex) -> None:
        """$/progress while the first walk runs; the cap, once, when it was hit."""
        t0 = time.perf_counter()
        token = await self.begin_progress("indexing workspace")
        while not (p := index.progress()).done and index is self.index:
            await asyncio.sleep(0.25)
            if token is not None:
                self.work_done_progress.report(token, types.WorkDoneProgressReport(message=f"indexing workspace: {p.indexed} files"))
        p = index.progress()
        log.info("workspace index: %d files in %.1f s", p.indexed, time.perf_counter() - t0)
        if p.capped:
            self.tell(
                f"the workspace has more than {index.max_files} source files: only the first {index.max_files} are "
                f"indexed for context. Raise codeshell.context.workspaceFiles or list what is not yours in .gitignore.",
                types.MessageType.Info,
            )
        if token is not None:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"{p.indexed} workspace files indexed"))

    async def watch_files(self) -> None:
        """Ask the client for workspace/didChangeWatchedFiles (where it registers dynamically)."""
        caps = self.client_capabilities
        watched = caps.workspace and caps.workspace.did_change_watched_files
        if self.index is None or not (watched and watched.dynamic_registration):
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(watchers=[types.FileSystemWatcher(glob_pattern=WATCHED)])
        registration = types.Registration(id="codeshell-watch", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options)
        try:
            await asyncio.wait_for(self.client_register_capability_async(types.RegistrationParams([registration])), 5)
            self._watching = True
        except (Exception, asyncio.TimeoutError) as e:
            log.info("no watched-file events (%s): saves re-check the workspace instead", e or "no answer in 5 s")

    def file_saved(self, uri: str) -> None:
        """Parse a saved file again; without watched-file events, also re-check mtimes now and then."""
        if self.index is None:
            return
        self.index.update(uri_path(uri))
        if not self._watching and time.monotonic() - self._refreshed > REFRESH_S:
            self._refreshed = time.monotonic()
            self.index.refresh()


def _supports_progress(caps: types.ClientCapabilities | None) -> bool:
    return bool(caps and caps.window and caps.window.work_done_progress)


def _word_range(cursor: Cursor, pos: types.Position, encoding: Encoding) -> types.Range:
    word = cursor.word_before
    line = cursor.line_before
    start_col = index_to_column(line, len(line) - len(word), encoding)
    return types.Range(types.Position(pos.line, start_col), pos)


server = CodeshellServer()


@server.feature(types.INITIALIZE)
def initialize(ls: CodeshellServer, params: types.InitializeParams) -> None:
    opts = params.initialization_options
    # LSP allows window/logMessage during initialize: the client hears from the first
    # load on which model it uses and which level chose it.
    _forward_logs(ls)
    documents.adopt(ls.workspace)  # LSP line semantics for every document from now on
    ls._init_options = ls._user_tree = opts if isinstance(opts, dict) else {}
    if opts is not None and not isinstance(opts, dict):
        log.warning("initializationOptions is not an object; ignored")
    # Start loading at once; initialize still answers immediately.
    ls.apply_settings("initializationOptions")
    ls.sources.roots = [f.uri for f in params.workspace_folders or []] + ([params.root_uri] if params.root_uri else [])
    ls._root = ls.sources.roots[0] if ls.sources.roots else None
    if ls.settings.cache.persist:
        try:
            ls.sources.take_choices(ls.context_file().read_bytes())
        except FileNotFoundError:
            pass
        except OSError as e:
            log.info("saved context choices in %s not used: %s", ls.context_file(), e)
    ls.sources.start_indexer()


@server.feature(types.INITIALIZED)
async def initialized(ls: CodeshellServer, params: types.InitializedParams) -> None:
    ls._initialized = True
    if ls._load is not None and not ls._load.done():
        asyncio.ensure_future(ls.report_load_progress(ls._load))
    await ls.pull_configuration("workspace configuration")
    ls.ensure_index()
    await ls.watch_files()


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def did_change_workspace_folders(ls: CodeshellServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    gone = {f.uri for f in params.event.removed}
    ls.sources.roots = [r for r in ls.sources.roots if r not in gone] + [f.uri for f in params.event.added]
    ls.ensure_index()


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: CodeshellServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.file_saved(params.text_document.uri)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: CodeshellServer, params: types.DidChangeWatchedFilesParams) -> None:
    for change in params.changes if ls.index is not None else ():
        path = uri_path(change.uri)
        if path.endswith(".gitignore"):
            ls.index.refresh()
        elif change.type == types.FileChangeType.Deleted:
            ls.index.remove(path)
        else:
            ls.index.update(path)


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: CodeshellServer, params: types.DidChangeConfigurationParams) -> None:
    pushed = params.settings
    if isinstance(pushed, dict) and isinstance(pushed.get(CONFIG_SECTION), dict):
        # A pushed tree is all the client has, and the user's own: it replaces both levels.
        ls.receive(pushed[CONFIG_SECTION], {}, "didChangeConfiguration")
    else:
        await ls.pull_configuration("workspace configuration")


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: CodeshellServer, params: types.DidOpenTextDocumentParams) -> None:
    d = params.text_document
    ls.sources.open(d.uri, d.language_id, d.text)
    ls.context_changed()


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: CodeshellServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.sources.close(params.text_document.uri)
    ls.context_changed()


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: CodeshellServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.engine.keystroke()
    uri = params.text_document.uri
    doc = ls.workspace.text_documents.get(unquote(uri))
    if doc is not None:
        lines = [c.range.start.line for c in params.content_changes if isinstance(c, types.TextDocumentContentChangePartial)]
        ls.sources.change(uri, doc.source, lines)


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=[".", "(", " ", "\n"], resolve_provider=False),
)
async def completion(ls: CodeshellServer, params: types.CompletionParams) -> types.CompletionList:
    empty = types.CompletionList(is_incomplete=True, items=[])
    found = await ls.complete_at(params.text_document.uri, params.position)
    if found is None or not found[0].text:
        return empty
    result, cursor, pos = found
    encoding = ls.encoding
    new_text = cursor.word_before + result.text
    first = new_text.split("\n", 1)[0]
    item = types.CompletionItem(
        label=first.strip() or new_text.strip().split("\n", 1)[0],
        kind=types.CompletionItemKind.Text,
        detail=result.model,
        documentation=types.MarkupContent(kind=types.MarkupKind.PlainText, value=new_text),
        filter_text=new_text,
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=_word_range(cursor, pos, encoding), new_text=new_text),
    )
    # Incomplete: typing on should ask again (the next suggestion may differ).
    return types.CompletionList(is_incomplete=True, items=[item])


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: CodeshellServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    found = await ls.complete_at(params.text_document.uri, params.position)
    if found is None or not found[0].text:
        return types.InlineCompletionList(items=[])
    result, _, pos = found
    return types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text=result.text, range=types.Range(pos, pos))]
    )


@server.feature(STATS_METHOD)
def stats(ls: CodeshellServer, params: Any) -> dict[str, Any]:
    index = ls.index.progress() if ls.index is not None else None
    workspace = {"workspaceFiles": index.indexed if index else 0, "workspaceIndexed": bool(index and index.done)}
    return {camel(k): v for k, v in ls.engine.stats.to_json().items()} | workspace


@server.feature(SHOWN_METHOD)
def did_show_completion(ls: CodeshellServer, params: Any) -> None:
    ls.engine.stats.shown += 1


@server.feature(ACCEPTED_METHOD)
def did_accept_completion(ls: CodeshellServer, params: Any) -> None:
    ls.engine.stats.accepted += 1
    ls.engine.stats.accepted_chars += len(_param(params, "text", str) or "")


@server.feature(PARTIALLY_ACCEPTED_METHOD)
def did_partially_accept_completion(ls: CodeshellServer, params: Any) -> None:
    ls.engine.stats.partially_accepted += 1
    ls.engine.stats.accepted_chars += max(0, _param(params, "acceptedLength", int) or 0)


def _param(params: Any, name: str, kind: type) -> Any:
    """A field of a notification's params (pygls hands unknown methods' params over as
    objects with attributes); None when absent or of the wrong type."""
    value = params.get(name) if isinstance(params, dict) else getattr(params, name, None)
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


@server.feature(types.SHUTDOWN)
def shutdown(ls: CodeshellServer, params: Any) -> None:
    # Answered at once: stopping the worker and saving the KV happen on a thread of
    # their own, and the process waits for them before it exits.
    ls.close_engine()


class _LspLogHandler(logging.Handler):
    """Mirrors the package log into window/logMessage (from any thread)."""

    _LEVELS = {
        logging.ERROR: types.MessageType.Error,
        logging.WARNING: types.MessageType.Warning,
        logging.INFO: types.MessageType.Info,
    }

    def __init__(self, ls: CodeshellServer, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.INFO)
        self.ls, self.loop = ls, loop

    def sends(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` goes to the client: INFO and above while it still reads what
        it is sent (the loop runs, no shutdown yet). Decided once per record, so the stderr
        filter and this handler agree even when a shutdown lands in between."""
        if not hasattr(record, "_to_client"):
            record._to_client = record.levelno >= self.level and self.loop.is_running() and not self.ls.protocol._shutdown
        return record._to_client

    def emit(self, record: logging.LogRecord) -> None:
        if not self.sends(record):
            return  # stderr and the log file have it
        kind = self._LEVELS.get(record.levelno, types.MessageType.Log)
        params = types.LogMessageParams(type=kind, message=self.format(record))
        try:
            self.loop.call_soon_threadsafe(self.ls.window_log_message, params)
        except RuntimeError:  # loop closed during shutdown: the file log still has it
            pass


class _NoticeHandler(logging.Handler):
    """Shows the log records marked for the user (``log.tell_user``, from any thread)
    as window/showMessage, once each, while the client still reads what it is sent."""

    def __init__(self, ls: CodeshellServer, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.WARNING)
        self.ls, self.loop = ls, loop

    def emit(self, record: logging.LogRecord) -> None:
        if not getattr(record, USER_NOTICE, False) or self.ls.protocol._shutdown:
            return
        try:
            self.loop.call_soon_threadsafe(lambda: self.ls.tell(record.getMessage(), logged=True))
        except RuntimeError:  # loop closed during shutdown: the file log still has it
            pass


def _forward_logs(ls: CodeshellServer) -> None:
    """From now on the client gets INFO and above as window/logMessage; stderr (``-v``)
    keeps only what it is not sent, so an editor that shows both (VS Code's output shows
    the server's stderr too) shows each line once. After shutdown, stderr has it all."""
    root = logging.getLogger(LOGGER_NAME)
    if any(isinstance(h, _LspLogHandler) for h in root.handlers):
        return
    forward = _LspLogHandler(ls, asyncio.get_running_loop())
    root.addHandler(forward)
    for h in root.handlers:
        if type(h) is logging.StreamHandler and h.stream is sys.stderr:
            h.addFilter(lambda r: not forward.sends(r))


def run_serve(args: argparse.Namespace) -> int:
    """Serve until exit, EOF or a signal; the process ends here with the LSP exit code
    (0 after shutdown and exit, 1 for exit without shutdown, 130 on SIGINT, 143 on SIGTERM)."""
    server.configure(getattr(args, "model", None), flags_tree(args))
    # The message thread shares the interpreter with the engine's and the indexer's Python
    # work: hand it over every 1 ms (not 5) so a cancel or shutdown waits less for it.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    code: list[int] = []

    def on_signal(number: int) -> None:
        log.warning("%s: exiting", signal.Signals(number).name)
        code.append(128 + number)
        stop.set()

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, on_signal, number)
    logging.getLogger(LOGGER_NAME).addHandler(_NoticeHandler(server, loop))
    server.protocol.on_exit = stop.set
    try:
        if getattr(args, "tcp", False):
            loop.run_until_complete(_serve_tcp(args.host, args.port, stop))
        else:
            server.protocol.set_writer(_StdoutWriter(sys.stdout.buffer))
            read = transport.stdin_source(sys.stdin.buffer.fileno(), loop)
            loop.run_until_complete(transport.serve(read, server.protocol, stop))
    except OSError as e:
        log.error("serving failed: %s", e)
        code.append(1)
    finally:
        server.close_engine().join()
    exit_code = code[0] if code else server.protocol.exit_code or 0
    # Threads still blocked (a request waiting for a model load, the stdin reader) must
    # not hold the process: an editor waits for it to end.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(exit_code)


class _StdoutWriter:
    """pygls' writer interface over stdout; a closed pipe means the client is gone."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def write(self, data: bytes) -> None:
        try:
            self.out.write(data)
            self.out.flush()
        except (BrokenPipeError, ValueError):
            log.info("stdout is closed: the client is gone")

    def close(self) -> None:
        pass


async def _serve_tcp(host: str, port: int, stop: asyncio.Event) -> None:
    """One client at a time: a second connection is told so and closed, and the first
    keeps its documents and answers. The server ends when its client disconnects."""
    connected = False

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connected
        if connected:
            await _refuse_client(reader, writer, f"{host}:{port}")
            return
        connected = True
        log.info("client connected from %s", writer.get_extra_info("peername"))
        server.protocol.set_writer(transport.StreamWriter(writer))
        try:
            await transport.serve(transport.stream_source(reader), server.protocol, stop)
        finally:
            writer.close()
            stop.set()

    listener = await asyncio.start_server(connection, host, port)
    log.info("listening on %s:%d", host, port)
    async with listener:
        await stop.wait()


REFUSED_WAIT_S = 5.0


async def _refuse_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str) -> None:
    """Tell a second TCP client it is not served: a window/showMessage, an error for
    each request it sends in the next few seconds, then the connection is closed."""
    message = (
        f"codeshell-lsp at {where} already serves another client (TCP serves one at a time): "
        f"start another server on another port for this one"
    )
    log.warning("refused a second TCP client from %s", writer.get_extra_info("peername"))
    params = {"type": types.MessageType.Error.value, "message": message}
    writer.write(transport.frame({"jsonrpc": "2.0", "method": types.WINDOW_SHOW_MESSAGE, "params": params}))
    framer = transport.Framer()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REFUSED_WAIT_S
    try:
        while (left := deadline - loop.time()) > 0:
            chunk = await asyncio.wait_for(reader.read(transport.CHUNK), left)
            if not chunk:
                break
            for event in framer.feed(chunk):
                msg_id = transport.request_id(event)
                if msg_id is not None:
                    error = {"code": types.LSPErrorCodes.RequestFailed.value, "message": message}
                    writer.write(transport.frame({"jsonrpc": "2.0", "id": msg_id, "error": error}))
                    await writer.drain()
    except (asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
