"""Method names of the wire, each with its params and result models.

Every request is also a `workspace/executeCommand` command (`COMMANDS`) taking the same params
object as its single argument, for clients that only speak commands.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import BaseModel

from protocol import models as m

PLAN = "stepforge/plan"
STATUS = "stepforge/status"
GENERATE = "stepforge/generate"
REGENERATE_FILE = "stepforge/regenerateFile"
RESOLVE_CONFLICT = "stepforge/resolveConflict"
CONFLICT_DETAILS = "stepforge/conflictDetails"
PREVIEW_START = "stepforge/preview/start"
PREVIEW_STOP = "stepforge/preview/stop"
PREVIEW_STATUS = "stepforge/preview/status"
PREVIEW_LOGS = "stepforge/preview/logs"
PREVIEW_RESET_DATA = "stepforge/preview/resetData"
CHECK = "stepforge/check"
CHANGE = "stepforge/change"
HISTORY = "stepforge/history"
UNDO = "stepforge/undo"

# Notifications, server to client.
FILE_STATUS = "stepforge/fileStatus"
PREVIEW_LOG = "stepforge/previewLog"


class Method(NamedTuple):
    params: type[BaseModel]
    result: type[BaseModel]


REQUESTS: dict[str, Method] = {
    PLAN: Method(m.PlanParams, m.PlanResult),
    STATUS: Method(m.StatusParams, m.StatusResult),
    GENERATE: Method(m.GenerateParams, m.GenerateResult),
    REGENERATE_FILE: Method(m.RegenerateFileParams, m.RegenerateFileResult),
    RESOLVE_CONFLICT: Method(m.ResolveConflictParams, m.ResolveConflictResult),
    CONFLICT_DETAILS: Method(m.ConflictDetailsParams, m.ConflictDetailsResult),
    PREVIEW_START: Method(m.PreviewStartParams, m.PreviewStartResult),
    PREVIEW_STOP: Method(m.PreviewStopParams, m.PreviewStopResult),
    PREVIEW_STATUS: Method(m.PreviewStatusParams, m.PreviewStatusResult),
    PREVIEW_LOGS: Method(m.PreviewLogsParams, m.PreviewLogsResult),
    PREVIEW_RESET_DATA: Method(m.PreviewResetDataParams, m.PreviewResetDataResult),
    CHECK: Method(m.CheckParams, m.CheckResult),
    CHANGE: Method(m.ChangeParams, m.ChangeResult),
    HISTORY: Method(m.HistoryParams, m.HistoryResult),
    UNDO: Method(m.UndoParams, m.UndoResult),
}

NOTIFICATIONS: dict[str, type[BaseModel]] = {
    FILE_STATUS: m.FileStatusNotification,
    PREVIEW_LOG: m.PreviewLogNotification,
}


def command_name(method: str) -> str:
    """`stepforge/preview/start` -> `stepforge.preview.start`."""
    return method.replace("/", ".")


COMMANDS: dict[str, str] = {command_name(method): method for method in REQUESTS}
