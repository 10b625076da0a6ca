"""`fulfil lsp`: fulfil as a language server for process, scenario and people files.

The editor gets what `fulfil validate` says, as it types; names completed where a name is
expected; a state's, field's or role's description on hover; the place a state or field is
declared. Everything here is a pure function of a document's text and a position
(`engine.lsp.diagnostics`, `engine.lsp.outline`, `engine.lsp.features`), testable without a
client; `engine.lsp.server` is the thin layer that speaks the protocol (pygls).
"""

from __future__ import annotations

from .positions import Diagnostic, Position, Range

__all__ = ["Diagnostic", "Position", "Range"]
