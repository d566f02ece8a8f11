"""Definitions from the whole workspace: files under the workspace folders, indexed in the
background (``index``), parsed with tree-sitter (``parse``), ``.gitignore`` respected
(``gitignore``)."""

from .index import Progress, WorkspaceIndex, uri_path

__all__ = ["Progress", "WorkspaceIndex", "uri_path"]
