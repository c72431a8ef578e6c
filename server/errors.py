"""Errors that reach the user. Each carries a protocol error code and says what to do."""

from __future__ import annotations

from typing import Any

from protocol.errors import ErrorCode


class StepForgeError(Exception):
    code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, *, code: ErrorCode | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.data = data


class ConfigurationError(StepForgeError):
    code = ErrorCode.CONFIGURATION


class WorkspaceError(StepForgeError):
    code = ErrorCode.NO_WORKSPACE


class UnsafePathError(StepForgeError):
    code = ErrorCode.PATH_OUTSIDE_WORKSPACE


class WorkspaceBusyError(StepForgeError):
    code = ErrorCode.WORKSPACE_BUSY


class PlanInvalidError(StepForgeError):
    code = ErrorCode.PLAN_INVALID


class PlanMissingError(StepForgeError):
    code = ErrorCode.PLAN_MISSING
