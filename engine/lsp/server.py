"""The protocol layer of `fulfil lsp` (pygls): documents in, diagnostics and answers out.

Each request is answered by a pure function of the document's text (`engine.lsp.diagnostics`,
`engine.lsp.outline`, `engine.lsp.features`); this module only converts between the protocol's
types and ours, and keeps per document the last outline of its names (for the moments its text
does not parse) and the last `fulfil check` findings.

Diagnostics are published when a document is opened, changed and saved. On save a process that
loads is also model-checked, in a background thread, and the findings are added as warnings
when it ends, if the document has not changed meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from . import features
from .diagnostics import FolderCache, check_findings, diagnose
from .outline import Outline, folder_processes, outline
from .positions import Diagnostic, Position, Range

__all__ = ["FulfilServer", "build_server"]

_KINDS = {
    "state": lsp.CompletionItemKind.EnumMember,
    "field": lsp.CompletionItemKind.Field,
    "role": lsp.CompletionItemKind.Class,
    "trigger": lsp.CompletionItemKind.Event,
    "calendar": lsp.CompletionItemKind.Constant,
    "task": lsp.CompletionItemKind.Module,
    "process": lsp.CompletionItemKind.Module,
}


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


def _lsp_range(r: Range) -> lsp.Range:
    return lsp.Range(
        start=lsp.Position(line=r.start.line, character=r.start.character),
        end=lsp.Position(line=r.end.line, character=r.end.character),
    )


def _lsp_diagnostic(d: Diagnostic) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=_lsp_range(d.range),
        message=d.message,
        severity=lsp.DiagnosticSeverity(d.severity),
        source=d.source,
        code=d.code or None,
    )


def _position(p: lsp.Position) -> Position:
    return Position(p.line, p.character)


class FulfilServer(LanguageServer):
    """The language server, with the processes of the folders it has seen kept loaded."""

    def __init__(self, *, check_on_save: bool = True) -> None:
        super().__init__(
            "fulfil", _version(), text_document_sync_kind=lsp.TextDocumentSyncKind.Full
        )
        self.check_on_save = check_on_save
        self.folders = FolderCache()
        self.outlines: dict[str, Outline] = {}
        self.findings: dict[str, tuple[int | None, list[Diagnostic]]] = {}
        self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fulfil-check")
        self.lock = threading.Lock()  # the folder cache, between the loop and the checker

    def log(self, message: str) -> None:
        self.window_log_message(
            lsp.LogMessageParams(type=lsp.MessageType.Error, message=f"fulfil: {message}")
        )

    def outline_of(self, uri: str) -> Outline:
        """The document's names: from its text, or the last text of it that parsed."""
        document = self.workspace.get_text_document(uri)
        fresh = outline(document.source)
        if fresh is not None:
            self.outlines[uri] = fresh
        return self.outlines.get(uri, Outline())

    def publish(self, uri: str) -> None:
        document = self.workspace.get_text_document(uri)
        try:
            with self.lock:
                found = diagnose(document.source, _path(uri), self.folders)
            self.outline_of(uri)
        except Exception as exc:  # a bug of ours must not end the editor's session
            self.log(repr(exc))
            return
        checked_version, checked = self.findings.get(uri, (None, []))
        if checked_version == document.version:
            found = [*found, *checked]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(
                uri=uri,
                diagnostics=[_lsp_diagnostic(d) for d in found],
                version=document.version,
            )
        )

    def check(self, uri: str) -> None:
        """Model-check the saved document in the background; publish again when done."""
        document = self.workspace.get_text_document(uri)
        text, at_version = document.source, document.version
        loop = asyncio.get_running_loop()  # handlers run on the server's loop

        def run() -> None:
            if self._stale(uri, at_version):  # saved again or closed while waiting its turn
                return
            try:
                found = check_findings(text, _path(uri))
            except Exception as exc:  # the checker's bug: reported, the session goes on
                loop.call_soon_threadsafe(self.log, f"check: {exc!r}")
                return
            loop.call_soon_threadsafe(self._checked, uri, at_version, found)

        self.checker.submit(run)

    def _stale(self, uri: str, at_version: int | None) -> bool:
        """The document was closed or changed since (its next save checks it again)."""
        if uri not in self.outlines:
            return True
        return self.workspace.get_text_document(uri).version != at_version

    def _checked(self, uri: str, at_version: int | None, found: list[Diagnostic]) -> None:
        if self._stale(uri, at_version):
            return
        self.findings[uri] = (at_version, found)
        self.publish(uri)

    def forget(self, uri: str) -> None:
        self.outlines.pop(uri, None)
        self.findings.pop(uri, None)


def build_server(*, check_on_save: bool = True) -> FulfilServer:
    """A server ready for `start_io()`."""
    server = FulfilServer(check_on_save=check_on_save)

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: FulfilServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: FulfilServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: FulfilServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)
        if ls.check_on_save:
            ls.check(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: FulfilServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)
        ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(
        lsp.TEXT_DOCUMENT_COMPLETION,
        lsp.CompletionOptions(trigger_characters=[" ", "[", "{", ","]),
    )
    def completion(ls: FulfilServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        with ls.lock:
            processes = folder_processes(_path(uri), text)
        found = features.complete(text, _position(params.position), ls.outline_of(uri), processes)
        items = [
            lsp.CompletionItem(
                label=item.label,
                kind=_KINDS.get(item.kind),
                detail=f"{item.kind}" + (f": {item.detail}" if item.detail else ""),
                documentation=item.documentation or None,
            )
            for item in found
        ]
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: FulfilServer, params: lsp.HoverParams) -> lsp.Hover | None:
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        found = features.hover(text, _position(params.position), ls.outline_of(uri))
        if found is None:
            return None
        content = lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=found.markdown)
        return lsp.Hover(contents=content, range=_lsp_range(found.range))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: FulfilServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        found = features.definition(text, _position(params.position), ls.outline_of(uri))
        return None if found is None else lsp.Location(uri=uri, range=_lsp_range(found))

    return server
