"""JSON-RPC error codes. The standard ones, then StepForge's own (outside the reserved ranges)."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    # JSON-RPC and LSP
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    REQUEST_CANCELLED = -32800

    # The workspace
    NO_WORKSPACE = -33001
    PATH_OUTSIDE_WORKSPACE = -33002
    WORKSPACE_BUSY = -33003
    UNAUTHORIZED = -33004
    WORKSPACE_READ_ONLY = -33005

    # Configuration and the LLM: the message says what to set or fix
    CONFIGURATION = -33010
    LLM_AUTH = -33011
    LLM_MODEL = -33012
    LLM_CONTEXT = -33013
    LLM_UNAVAILABLE = -33014

    # Plans and files
    PLAN_INVALID = -33020
    PLAN_MISSING = -33021
    FILE_NOT_PLANNED = -33022
    CONFLICT_UNKNOWN = -33023

    # Preview
    PREVIEW_FAILED = -33030
    RUNTIME_UNAVAILABLE = -33031


# Errors the user fixes by changing configuration or the request (the CLI exits with 3 on them).
CONFIGURATION_OR_LLM = frozenset(
    {
        ErrorCode.CONFIGURATION,
        ErrorCode.LLM_AUTH,
        ErrorCode.LLM_MODEL,
        ErrorCode.LLM_CONTEXT,
        ErrorCode.LLM_UNAVAILABLE,
        ErrorCode.PLAN_INVALID,
    }
)
