"""The language server: LSP features translated into engine calls and back.

Module-level ``@server.feature`` handlers, each a few lines. Everything stateful
lives in the ``Engine`` (model, queue, cache, stats); the server keeps the settings
and what the user was already told. Settings are merged and judged in ``options``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import uuid
from concurrent.futures import Future
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from . import __version__
from .context import Cursor, Encoding, clamp_position, cursor_at
from .context import index_to_column
from .engine import Completion, Engine, Status
from .errors import CodeshellError
from .log import LOGGER_NAME, get_logger
from .options import Settings, camel, flags_tree, merge

log = get_logger(__name__)

STATS_METHOD = "codeshell/stats"
# What the editor reports about suggestions (counted locally; nothing leaves the machine).
SHOWN_METHOD = "codeshell/didShowCompletion"
ACCEPTED_METHOD = "codeshell/didAcceptCompletion"
PARTIALLY_ACCEPTED_METHOD = "codeshell/didPartiallyAcceptCompletion"
CONFIG_SECTION = "codeshell"


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

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Rejected):
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
        self._told: set[str] = set()
        self._loaded_key: tuple[Any, ...] | None = None
        self._load: Future[Any] | None = None
        self._initialized = False
        self._init_options: dict[str, Any] = {}

    def configure(self, cli_model: str | None, cli_settings: dict[str, Any]) -> None:
        """The model and settings given on the command line (they win over the editor's)."""
        self.cli_model, self.cli_settings = cli_model, cli_settings
        self.settings, _ = Settings.from_dict(cli_settings)
        self.engine.settings = self.settings

    # --- telling the user -------------------------------------------------------------

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """window/showMessage, once per distinct message."""
        if message in self._told:
            return
        self._told.add(message)
        log.warning("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"codeshell-lsp: {message}"))

    def report_server_error(self, error: Exception, source: Any) -> None:
        # Bad notifications are logged, not shown: one broken client message must not pop
        # a dialog on every keystroke.
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)

    # --- settings and model --------------------------------------------------------------

    def apply_settings(self, tree: Any, source: str) -> None:
        """Take a settings tree (CLI flags win), report problems, reload the model if needed."""
        settings, problems = Settings.layered(tree, self.cli_settings)
        for p in problems:
            self.tell(f"setting {p} ({source})")
        self.settings = settings
        key = settings.load_key(self.cli_model)
        self.engine.settings = settings
        if key != self._loaded_key:
            self._loaded_key = key
            # Queued now (in order with completions, which wait behind it); reported later.
            self._load = self.engine.load(self.cli_model, settings)
            asyncio.ensure_future(self.report_load(self._load, time.perf_counter()))
            if self._initialized:
                asyncio.ensure_future(self.report_load_progress(self._load))

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

    async def report_load_progress(self, future: Future[Any]) -> None:
        """$/progress from now until the load ends (for clients with workDoneProgress)."""
        if not _supports_progress(self.client_capabilities):
            return
        token = f"codeshell-load-{uuid.uuid4().hex[:8]}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception as e:  # a client that refuses progress still gets its model loaded
            log.debug("no progress: %s", e)
            return
        self.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title="codeshell-lsp", message="loading model", cancellable=False)
        )
        await asyncio.wait([asyncio.wrap_future(future)])
        failed = future.exception() is not None
        self.work_done_progress.end(token, types.WorkDoneProgressEnd(message="model failed to load" if failed else "model ready"))

    async def pull_configuration(self) -> dict[str, Any]:
        """The ``codeshell`` section of workspace/configuration ({} if the client has none)."""
        caps = self.client_capabilities
        if not (caps.workspace and caps.workspace.configuration):
            return {}
        try:
            items = await asyncio.wait_for(
                self.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section=CONFIG_SECTION)])
                ),
                timeout=5,
            )
        except (Exception, asyncio.TimeoutError) as e:
            log.warning("workspace/configuration failed: %s", e or "no answer in 5 s")
            return {}
        return items[0] if items and isinstance(items[0], dict) else {}

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
        # Submitted before any await: requests reach the engine in the order they came.
        job = self.engine.submit(uri, cursor, self.settings, doc.language_id or "")
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
    ls._init_options = opts if isinstance(opts, dict) else {}
    if opts is not None and not isinstance(opts, dict):
        log.warning("initializationOptions is not an object; ignored")
    # Start loading at once; initialize still answers immediately.
    ls.apply_settings(ls._init_options, "initializationOptions")


@server.feature(types.INITIALIZED)
async def initialized(ls: CodeshellServer, params: types.InitializedParams) -> None:
    _forward_logs(ls)
    ls._initialized = True
    if ls._load is not None and not ls._load.done():
        asyncio.ensure_future(ls.report_load_progress(ls._load))
    pulled = await ls.pull_configuration()
    if pulled:
        ls.apply_settings(merge(ls._init_options, pulled), "workspace configuration")


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: CodeshellServer, params: types.DidChangeConfigurationParams) -> None:
    pushed = params.settings
    if isinstance(pushed, dict) and isinstance(pushed.get(CONFIG_SECTION), dict):
        ls.apply_settings(merge(ls._init_options, pushed[CONFIG_SECTION]), "didChangeConfiguration")
    else:
        pulled = await ls.pull_configuration()
        ls.apply_settings(merge(ls._init_options, pulled), "workspace configuration")


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: CodeshellServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.engine.keystroke()


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
    return {camel(k): v for k, v in ls.engine.stats.to_json().items()}


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
    ls.engine.close()


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

    def emit(self, record: logging.LogRecord) -> None:
        kind = self._LEVELS.get(record.levelno, types.MessageType.Log)
        params = types.LogMessageParams(type=kind, message=self.format(record))
        try:
            self.loop.call_soon_threadsafe(self.ls.window_log_message, params)
        except RuntimeError:  # loop closed during shutdown: the file log still has it
            pass


def _forward_logs(ls: CodeshellServer) -> None:
    root = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, _LspLogHandler) for h in root.handlers):
        root.addHandler(_LspLogHandler(ls, asyncio.get_running_loop()))


def run_serve(args: argparse.Namespace) -> int:
    server.configure(getattr(args, "model", None), flags_tree(args))
    if getattr(args, "tcp", False):
        log.info("listening on %s:%d", args.host, args.port)
        server.start_tcp(args.host, args.port)
    else:
        server.start_io()
    return 0
