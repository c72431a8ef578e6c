"""LLM providers behind one streaming call: retries, pacing by rate limits, token accounting."""

from server.llm.client import Completion, LLMClient
from server.llm.errors import (
    LLMAuthError,
    LLMBadOutputError,
    LLMContextError,
    LLMError,
    LLMModelError,
    LLMUnavailableError,
)
from server.llm.messages import ChatMessage

__all__ = [
    "ChatMessage",
    "Completion",
    "LLMAuthError",
    "LLMBadOutputError",
    "LLMClient",
    "LLMContextError",
    "LLMError",
    "LLMModelError",
    "LLMUnavailableError",
]
