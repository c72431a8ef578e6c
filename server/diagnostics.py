"""Problems in the editor: LSP diagnostics (source `stepforge`) and the "Regenerate to fix" quick
fix, whose command is the daemon's own `stepforge.regenerateFile` with the problems as its
instructions (so any LSP client runs it, VS Code through its language client, Neovim by
`workspace/executeCommand`)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from protocol import methods
from protocol.models import Problem, Severity

SOURCE = "stepforge"
QUICK_FIX_TITLE = "Regenerate to fix"
_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
}


def diagnostic(item: Problem) -> types.Diagnostic:
    start = types.Position(line=item.line - 1, character=item.column - 1)
    end = (
        types.Position(line=(item.end_line or item.line) - 1, character=item.end_column - 1)
        if item.end_column
        else types.Position(line=item.line - 1, character=item.column - 1 + 1)
    )
    return types.Diagnostic(
        range=types.Range(start=start, end=end),
        message=item.message,
        severity=_SEVERITY[item.severity],
        code=item.code,
        source=SOURCE,
        data={"checker": item.source},
    )


def publication(root: Path, path: str, problems: list[Problem]) -> types.PublishDiagnosticsParams:
    """The diagnostics of one file (an empty list clears them)."""
    return types.PublishDiagnosticsParams(
        uri=(root / path).as_uri(), diagnostics=[diagnostic(p) for p in problems]
    )


def instructions_for(diagnostics: list[types.Diagnostic]) -> str:
    lines = ["Fix these problems the checks found (keep everything else as it is):"]
    for item in sorted(diagnostics, key=lambda d: (d.range.start.line, d.range.start.character)):
        lines.append(f"- line {item.range.start.line + 1}: {item.message} [{item.code}]")
    return "\n".join(lines)


def quick_fixes(params: types.CodeActionParams, root: Path | None) -> list[types.CodeAction] | None:
    ours = [d for d in params.context.diagnostics if d.source == SOURCE]
    if not ours or root is None:
        return None
    if params.context.only and types.CodeActionKind.QuickFix not in params.context.only:
        return None
    arguments = {
        "path": params.text_document.uri,
        "instructions": instructions_for(ours),
        "workspace": str(root),
    }
    return [
        types.CodeAction(
            title=QUICK_FIX_TITLE,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=ours,
            is_preferred=True,
            command=types.Command(
                title=QUICK_FIX_TITLE,
                command=methods.command_name(methods.REGENERATE_FILE),
                arguments=[arguments],
            ),
        )
    ]
