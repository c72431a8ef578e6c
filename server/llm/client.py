"""One streaming chat completion, made reliable.

The groq SDK's own retries are switched off (`max_retries=0`): they cannot see a stream that drops
or stalls after it began (httpx raises `RemoteProtocolError` / `ReadTimeout`, unwrapped), and they
do not tell the pacer about 429s. Every attempt here goes through tenacity instead: 408, 409, 429
(honouring `retry-after`), 5xx, connection failures, drops and stalls are retried with backoff,
under one overall deadline per call. Everything else becomes an error that says what to fix.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypedDict

import anyio
import groq
import httpx
from groq import AsyncGroq, AsyncStream
from groq.types.chat import ChatCompletion, ChatCompletionChunk
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from protocol.models import Usage
from server.config import Settings
from server.errors import ConfigurationError
from server.llm.errors import (
    LLMAuthError,
    LLMBadOutputError,
    LLMContextError,
    LLMError,
    LLMModelError,
    LLMUnavailableError,
)
from server.llm.pacing import RateLimitPacer, parse_duration
from server.llm.tokens import estimate_tokens

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 60.0
MIN_ANSWER_TOKENS = 256


class ChatMessage(TypedDict):
    role: str
    content: str


@dataclass
class Completion:
    text: str
    finish_reason: str | None
    usage: Usage

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


TextCallback = Callable[[str], Awaitable[None] | None]


@dataclass(frozen=True)
class _Call:
    """One request, as every attempt of it is made."""

    messages: list[ChatMessage]
    max_tokens: int
    json_mode: bool
    prompt_tokens: int
    on_text: TextCallback | None


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, groq.APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    # Connection failures before the answer, and drops or stalls while it streams.
    return isinstance(error, groq.APIConnectionError | httpx.TransportError | _StreamError)


class _StreamError(Exception):
    """The server reported an error inside an open stream."""


def _retry_after(error: BaseException | None) -> float | None:
    if isinstance(error, groq.APIStatusError):
        value = error.response.headers.get("retry-after")
        seconds = parse_duration(value) if value else None
        if seconds is not None:
            return min(seconds, MAX_RETRY_AFTER)
    return None


class _WaitRetryAfterOrBackoff:
    """Wait what the server asked for (retry-after), else exponential backoff with jitter."""

    def __init__(self, initial: float) -> None:
        self._backoff = wait_exponential_jitter(multiplier=initial, max=8.0, jitter=initial)

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = _retry_after(error)
        return retry_after if retry_after is not None else self._backoff(state)


def _describe(error: BaseException) -> str:
    if isinstance(error, groq.APIStatusError):
        return f"HTTP {error.status_code}: {_error_message(error)}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _error_message(error: groq.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return error.message


def _tpm_limit(error: groq.APIStatusError) -> int | None:
    """The tokens-per-minute limit a 413 names, in its headers or in its message."""
    header = error.response.headers.get("x-ratelimit-limit-tokens")
    if header and header.isdigit():
        return int(header)
    found = re.search(r"\(TPM\)\W+Limit (\d+)", _error_message(error))
    return int(found.group(1)) if found else None


def _error_code(error: groq.APIStatusError) -> str:
    body = error.body
    inner = body.get("error", body) if isinstance(body, dict) else None
    code = inner.get("code") if isinstance(inner, dict) else None
    return code if isinstance(code, str) else ""


class LLMClient:
    """Streaming chat completions against Groq or an OpenAI-compatible server."""

    def __init__(self, settings: Settings, pacer: RateLimitPacer | None = None) -> None:
        self.settings = settings
        self.pacer = pacer or RateLimitPacer(settings.concurrency)
        self._client: AsyncGroq | None = None

    @property
    def key_setting(self) -> str:
        return "GROQ_API_KEY" if self.settings.provider == "groq" else "STEPFORGE_API_KEY"

    def _sdk(self) -> AsyncGroq:
        if self._client is None:
            key = self.settings.api_key_value()
            if self.settings.provider == "groq" and not key:
                raise ConfigurationError(
                    "GROQ_API_KEY is not set: set it, or pass apiKey in initializationOptions."
                )
            if self.settings.provider == "openai-compatible" and not self.settings.base_url:
                raise ConfigurationError(
                    "STEPFORGE_BASE_URL is not set: the openai-compatible provider needs the "
                    "server's URL ending in /v1 (for Ollama: http://127.0.0.1:11434/v1)."
                )
            self._client = AsyncGroq(
                # Local OpenAI-compatible servers usually ignore the key but the SDK wants one.
                api_key=key or "not-needed",
                base_url=self.settings.base_url,
                max_retries=0,
                timeout=httpx.Timeout(self.settings.stall_timeout, connect=15.0),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        json_mode: bool = False,
        on_text: TextCallback | None = None,
    ) -> Completion:
        """Stream one answer. `on_text` gets the whole text so far after each chunk (a retry after
        a dropped stream starts again from the empty string)."""
        sdk = self._sdk()
        prompt_tokens = sum(estimate_tokens(m["content"]) for m in messages)
        cap = self.pacer.output_cap(prompt_tokens)
        if cap is not None and cap < MIN_ANSWER_TOKENS:
            raise LLMContextError(
                f"The prompt (about {prompt_tokens} tokens) leaves no room for an answer within "
                f"the provider's limit of {self.pacer.limit_tokens} tokens per minute: lower "
                "STEPFORGE_CONTEXT_WINDOW or use a model with a higher limit."
            )
        call = _Call(
            messages,
            min(max_tokens, cap) if cap is not None else max_tokens,
            json_mode,
            prompt_tokens,
            on_text,
        )
        try:
            return await self._complete_with_retries(sdk, call)
        except LLMContextError as error:
            # A 413 names the tokens-per-minute limit the output budget must fit in: learn it and
            # ask once more with an answer that fits (Groq refuses, and never retries, otherwise).
            learned = self.pacer.output_cap(prompt_tokens)
            if (
                error.data is None
                or learned is None
                or not MIN_ANSWER_TOKENS <= learned < call.max_tokens
            ):
                raise
            log.info("output budget lowered to %d tokens to fit the per-minute limit", learned)
            return await self._complete_with_retries(sdk, replace(call, max_tokens=learned))

    async def _complete_with_retries(self, sdk: AsyncGroq, call: _Call) -> Completion:
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_retryable),
            wait=_WaitRetryAfterOrBackoff(self.settings.retry_backoff),
            stop=stop_after_attempt(self.settings.llm_retries + 1),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            with anyio.fail_after(self.settings.call_deadline):
                async for attempt in retrying:
                    with attempt:
                        return await self._attempt(sdk, call)
        except TimeoutError:
            raise LLMUnavailableError(
                f"No complete answer from {self._endpoint()} within "
                f"{self.settings.call_deadline:.0f} s (retries included): the endpoint is slow "
                "or unreachable; try again, or raise STEPFORGE_CALL_DEADLINE."
            ) from None
        except LLMError:
            raise
        except Exception as error:
            raise self._translate(error) from error
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _before_sleep(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, groq.RateLimitError):
            self.pacer.on_rate_limited(_retry_after(error))
        log.warning(
            "LLM call attempt %d failed (%s); retrying",
            state.attempt_number,
            _describe(error) if error else "?",
        )

    async def _attempt(self, sdk: AsyncGroq, call: _Call) -> Completion:
        await self.pacer.wait_for_budget(
            call.prompt_tokens + self.pacer.expected_output(call.max_tokens)
        )
        async with self.pacer.limiter:
            stream = await self._open_stream(sdk, call.messages, call.max_tokens, call.json_mode)
            async with stream:
                self.pacer.observe(stream.response.headers)
                completion = await self._read(stream, call.on_text)
        if completion.usage.prompt_tokens == 0:  # the server reported no usage: estimate it
            completion.usage = Usage(
                prompt_tokens=call.prompt_tokens,
                completion_tokens=estimate_tokens(completion.text),
                calls=1,
            )
        self.pacer.on_success(completion.usage.completion_tokens)
        return completion

    async def _open_stream(
        self, sdk: AsyncGroq, messages: list[ChatMessage], max_tokens: int, json_mode: bool
    ) -> AsyncStream[ChatCompletionChunk]:
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "max_completion_tokens": max_tokens,
            "temperature": 0.2,
        }
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        if self.settings.provider == "groq":
            return await sdk.chat.completions.create(**body, stream=True)
        # OpenAI-compatible servers serve /v1/chat/completions, not Groq's /openai/v1/ path.
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        return await sdk.post(
            "/chat/completions",
            body=body,
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )

    async def _read(
        self, stream: AsyncStream[ChatCompletionChunk], on_text: TextCallback | None
    ) -> Completion:
        parts: list[str] = []
        finish_reason: str | None = None
        usage = Usage(calls=1)
        try:
            async for chunk in stream:
                reported = (chunk.x_groq.usage if chunk.x_groq else None) or chunk.usage
                if reported is not None:
                    usage = Usage(
                        prompt_tokens=reported.prompt_tokens,
                        completion_tokens=reported.completion_tokens,
                        calls=1,
                    )
                for choice in chunk.choices:
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        if on_text is not None:
                            result = on_text("".join(parts))
                            if inspect.isawaitable(result):
                                await result
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
        except groq.APIError as error:
            if isinstance(error, groq.APIStatusError):
                raise
            raise _StreamError(error.message) from error
        if finish_reason is None:
            # A stream that ends without a finish reason was cut by the network, not the model.
            raise _StreamError("the stream ended without a finish reason")
        return Completion(text="".join(parts), finish_reason=finish_reason, usage=usage)

    def _endpoint(self) -> str:
        if self.settings.provider == "groq":
            return self.settings.base_url or "Groq"
        return self.settings.base_url or "the OpenAI-compatible server"

    def _translate(self, error: BaseException) -> LLMError:
        """A final error, in words that say what to do."""
        if isinstance(error, groq.AuthenticationError | groq.PermissionDeniedError):
            return LLMAuthError(
                f"The API key was rejected by {self._endpoint()} (HTTP {error.status_code}): "
                f"check {self.key_setting}, or pass apiKey in initializationOptions."
            )
        if isinstance(error, groq.NotFoundError) or (
            isinstance(error, groq.BadRequestError)
            and _error_code(error) in ("model_not_found", "model_decommissioned")
        ):
            return LLMModelError(
                f"The model {self.settings.model!r} is not available at {self._endpoint()} "
                f"({_error_message(error)}): set STEPFORGE_MODEL to a model the provider serves."
            )
        if isinstance(error, groq.APIStatusError) and (
            error.status_code == 413 or _error_code(error) == "context_length_exceeded"
        ):
            limit = _tpm_limit(error)
            if limit is not None:
                self.pacer.limit_tokens = limit
            return LLMContextError(
                f"The request is too large for {self.settings.model!r} ({_describe(error)}): "
                "lower STEPFORGE_CONTEXT_WINDOW or STEPFORGE_MAX_OUTPUT_TOKENS.",
                data={"tokensPerMinute": limit} if limit is not None else None,
            )
        if isinstance(error, groq.BadRequestError) and _error_code(error) == "json_validate_failed":
            return LLMBadOutputError(
                f"The model's answer was not valid JSON ({_error_message(error)})."
            )
        if _is_retryable(error):
            return LLMUnavailableError(
                f"{self._endpoint()} kept failing after {self.settings.llm_retries + 1} attempts "
                f"(last: {_describe(error)}); try again later."
            )
        return LLMUnavailableError(f"The LLM request failed ({_describe(error)}).")
