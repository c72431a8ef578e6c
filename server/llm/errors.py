"""LLM errors, each with the protocol code the user sees and a message that says what to fix."""

from __future__ import annotations

from protocol.errors import ErrorCode
from server.errors import StepForgeError


class LLMError(StepForgeError):
    code = ErrorCode.LLM_UNAVAILABLE


class LLMAuthError(LLMError):
    code = ErrorCode.LLM_AUTH


class LLMModelError(LLMError):
    code = ErrorCode.LLM_MODEL


class LLMContextError(LLMError):
    code = ErrorCode.LLM_CONTEXT


class LLMUnavailableError(LLMError):
    code = ErrorCode.LLM_UNAVAILABLE


class LLMBadOutputError(LLMError):
    """The provider refused the model's own output (Groq's `json_validate_failed`): ask again."""
