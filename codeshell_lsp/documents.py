"""Open text documents as LSP defines them, kept in sync with the editor's edits.

pygls' ``TextDocument`` splits lines with ``str.splitlines``, which also breaks at
\\x0b \\x0c \\x1c-\\x1e \\x85 U+2028 U+2029, and clamps a character past the end of the
last line to one before its end; incremental edits then land in the wrong place. Here
lines end only at \\n, \\r\\n and \\r, and a position past the end of a line means the
end of that line (a line past the end: the end of the document). A range whose end
comes before its start is taken with its ends swapped, as VS Code's own text
document library does. A didChange whose version does not increase is applied (the
edits are the client's and later ones build on them) and logged.

``adopt`` turns the workspace pygls creates at initialize into one of these.
"""

from __future__ import annotations

from typing import Any, Sequence
from urllib.parse import unquote

from lsprotocol import types
from pygls.workspace import TextDocument as PyglsTextDocument
from pygls.workspace import Workspace as PyglsWorkspace

from .budget import split_lines
from .context import Encoding, offset_at
from .log import get_logger

log = get_logger(__name__)


def _encoding(value: Any) -> Encoding:
    value = getattr(value, "value", value) or "utf-16"
    return value if value in ("utf-8", "utf-16", "utf-32") else "utf-16"  # type: ignore[return-value]


def apply_edit(text: str, change_range: types.Range, new_text: str, encoding: Encoding = "utf-16") -> str:
    """``text`` with ``change_range`` replaced by ``new_text`` (positions clamped, LSP lines)."""
    start = offset_at(text, change_range.start.line, change_range.start.character, encoding)
    end = offset_at(text, change_range.end.line, change_range.end.character, encoding)
    if end < start:
        start, end = end, start
    return text[:start] + new_text + text[end:]


class TextDocument(PyglsTextDocument):
    """pygls' document with LSP line semantics and clamping."""

    @property
    def encoding(self) -> Encoding:
        return _encoding(self.position_codec.encoding)

    @property
    def lines(self) -> Sequence[str]:
        return tuple(split_lines(self.source))

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        self._source = apply_edit(self.source, change.range, change.text, self.encoding)

    def offset_at_position(self, client_position: types.Position) -> int:
        return offset_at(self.source, client_position.line, client_position.character, self.encoding)


class Workspace(PyglsWorkspace):
    """pygls' workspace holding ``TextDocument``s of this module; logs out-of-order versions."""

    def _create_text_document(
        self, doc_uri: str, source: str | None = None, version: int | None = None, language_id: str | None = None
    ) -> TextDocument:
        return TextDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=self._sync_kind,
            position_codec=self._position_codec,
        )

    def update_text_document(
        self, text_doc: types.VersionedTextDocumentIdentifier, change: types.TextDocumentContentChangeEvent
    ) -> None:
        doc = self.text_documents.get(unquote(text_doc.uri))
        if doc is None:
            log.warning("didChange for %s, which is not open: ignored", text_doc.uri)
            return
        old, new = doc.version, text_doc.version
        if isinstance(old, int) and isinstance(new, int) and new < old:
            # Applied: the client's later edits are relative to this one; dropping it
            # would desynchronise the document for good.
            log.warning("didChange for %s has version %d, below the current %d: applied anyway", text_doc.uri, new, old)
        super().update_text_document(text_doc, change)


def adopt(workspace: PyglsWorkspace) -> None:
    """Make the workspace pygls created at initialize hold this module's documents."""
    if not isinstance(workspace, Workspace):
        workspace.__class__ = Workspace
        for uri, doc in list(workspace.text_documents.items()):
            if not isinstance(doc, TextDocument):
                doc.__class__ = TextDocument
