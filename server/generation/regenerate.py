"""Regenerating one file from the editor ("make this page sortable"), keeping the user's edits."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

import anyio

from protocol.errors import ErrorCode
from protocol.models import RegenerateFileParams, RegenerateFileResult, RegenerateOutcome
from protocol.plan import Plan
from server.config import Settings
from server.errors import StepForgeError
from server.generation.generator import BadAnswerError, FileAsk, FileGenerator
from server.llm import LLMClient, LLMError
from server.progress import Progress
from server.workspace.session import WorkspaceSession
from server.workspace.writer import WriteOutcome

log = logging.getLogger(__name__)

_MESSAGES = {
    WriteOutcome.WRITTEN: "{path} was regenerated.",
    WriteOutcome.MERGED: "{path} was regenerated and merged with your edits.",
    WriteOutcome.CONFLICT: "{path}: the new version conflicts with your edits. Your file is unchanged; "
    "resolve conflict {conflict} (mine, generated or merged).",
    WriteOutcome.UNCHANGED: "{path}: the new version is the same as the file.",
}


def planned_path(root: Path, plan: Plan, requested: str) -> str:
    """A planned file's workspace-relative path from a relative path, an absolute path or a URI."""
    if requested.startswith("file:"):
        requested = unquote(urlparse(requested).path)
    candidate = requested
    if requested.startswith("/"):
        try:
            candidate = Path(requested).resolve().relative_to(root).as_posix()
        except ValueError:
            raise StepForgeError(
                f"{requested} is not inside the workspace {root}.",
                code=ErrorCode.PATH_OUTSIDE_WORKSPACE,
            ) from None
    if candidate not in plan.file_paths():
        raise StepForgeError(
            f"{candidate} is not a planned file: only files of .stepforge/plan.json can be regenerated.",
            code=ErrorCode.FILE_NOT_PLANNED,
        )
    return candidate


async def regenerate_file(
    session: WorkspaceSession,
    plan: Plan,
    llm: LLMClient,
    settings: Settings,
    params: RegenerateFileParams,
    progress: Progress,
) -> RegenerateFileResult:
    """Only while holding the workspace lock."""
    path = planned_path(session.root, plan, params.path)
    record = session.store.record(path)
    exists = await anyio.to_thread.run_sync(session.exists, path)
    if not exists and record.written_hash is not None and not params.force:
        return RegenerateFileResult(
            path=path,
            outcome=RegenerateOutcome.SKIPPED,
            message=f"{path} was deleted; it is not recreated unless you ask (force).",
        )
    generator = FileGenerator(session, plan, llm, settings)

    def on_attempt(attempt: int) -> None:
        progress.report(
            f"Regenerating {path}" + (f" (attempt {attempt})" if attempt > 1 else ""), 10
        )

    try:
        result = await generator.generate_with_retries(
            path,
            FileAsk(instructions=params.instructions, recreate=params.force, show_current=exists),
            on_attempt=on_attempt,
        )
    except (BadAnswerError, LLMError) as error:
        raise StepForgeError(
            f"Could not regenerate {path}: {error.message}", code=error.code
        ) from None
    outcome = RegenerateOutcome(result.outcome.value)
    message = _MESSAGES.get(result.outcome, "{path} was not recreated.").format(
        path=path, conflict=result.conflict_id
    )
    progress.report(message, 100)
    return RegenerateFileResult(
        path=path,
        outcome=outcome,
        conflict_id=result.conflict_id,
        message=message,
        usage=result.usage,
    )
