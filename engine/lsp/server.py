"""The protocol layer of `fulfil lsp` (pygls): documents in, diagnostics and answers out.

Each request is answered by a pure function of the document's text (`engine.lsp.diagnostics`,
`engine.lsp.features`); this module only converts between the protocol's types and ours.
Diagnostics are published when a document is opened, changed and saved; on save a process
that loads is also model-checked (`fulfil check` at a bounded depth) and its findings are
added as warnings.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .diagnostics import FolderCache, diagnose
from .types import Diagnostic

__all__ = ["build_server"]


def _version() -> str:
    try:
        return version("fulfil")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        return "0"


def _path(uri: str) -> Path | None:
    if not uri.startswith("file:"):
        return None
    fs = to_fs_path(uri)
    return Path(fs) if fs else None


def _lsp_range(r: Any) -> lsp.Range:
    return lsp.Range(
        start=lsp.Position(line=r.start.line, character=r.start.character),
        end=lsp.Position(line=r.end.line, character=r.end.character),
    )


def _lsp_diagnostic(d: Diagnostic) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=_lsp_range(d.range),
        message=d.message,
        severity=lsp.DiagnosticSeverity(d.severity),
        source="fulfil",
    )


class FulfilServer(LanguageServer):
    """The language server, with the processes of the folders it has seen kept loaded."""

    def __init__(self) -> None:
        super().__init__(
            "fulfil", _version(), text_document_sync_kind=lsp.TextDocumentSyncKind.Full
        )
        self.folders = FolderCache()

    def publish(self, uri: str, *, extra: list[Diagnostic] | None = None) -> None:
        document = self.workspace.get_text_document(uri)
        try:
            found = diagnose(document.source, _path(uri), self.folders)
        except Exception as exc:  # a bug of ours must not end the editor's session
            self.window_log_message(
                lsp.LogMessageParams(type=lsp.MessageType.Error, message=f"fulfil: {exc!r}")
            )
            return
        diagnostics = [_lsp_diagnostic(d) for d in [*found, *(extra or [])]]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=document.version)
        )


def build_server() -> FulfilServer:
    """A server ready for `start_io()`."""
    server = FulfilServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: FulfilServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: FulfilServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: FulfilServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: FulfilServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    return server
