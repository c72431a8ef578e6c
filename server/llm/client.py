"""One streaming chat completion, made reliable, against Groq or an OpenAI-compatible server.

The groq SDK's own retries are switched off (`max_retries=0`): they cannot see a stream that drops
or stalls after it began (httpx raises `RemoteProtocolError` / `ReadTimeout`, unwrapped), and they
do not tell the pacer about 429s. Every attempt here goes through tenacity instead: 408, 409, 429
(honouring `retry-after`), 5xx, connection failures, drops and stalls are retried with backoff,
under one overall deadline per call. Everything else becomes an error that says what to fix.

Providers are taken as they are (`server.llm.provider` remembers what each accepts): Groq gets
`max_completion_tokens`, OpenAI-compatible servers `max_tokens` (llama.cpp's server ignores the
other); a refused `response_format`, `reasoning_effort` or `stream_options` is dropped and the call
made again at once; a server that breaks off a stream when a second one starts is then sent one
request at a time. Reasoning text never reaches the answer.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

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
from server.llm.accounting import Prediction, PromptAccounting
from server.llm.answers import prompt_text, usage_of, visible_text
from server.llm.errors import (
    LLMAuthError,
    LLMBadOutputError,
    LLMContextError,
    LLMError,
    LLMModelError,
    LLMUnavailableError,
)
from server.llm.http_errors import (
    broken_off_reason,
    describe,
    error_code,
    error_message,
    refused_connection,
    tpm_limit,
)
from server.llm.limits import apply_limits, read_limits
from server.llm.messages import ChatMessage
from server.llm.pacing import RateLimitPacer, parse_duration
from server.llm.provider import (
    ResponseFormat,
    reasoning_effort_value,
    takes_reasoning_effort,
    traits_for,
)
from server.llm.tokens import estimate_tokens

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 60.0
MIN_ANSWER_TOKENS = 256
Purpose = Literal["plan", "file", "change"]
DEFAULT_EFFORT: dict[Purpose, str] = {"plan": "medium", "file": "low", "change": "medium"}


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
    response_format: ResponseFormat
    json_schema: dict[str, Any] | None
    purpose: Purpose
    prediction: Prediction
    on_text: TextCallback | None


class _StreamError(Exception):
    """The server reported an error inside an open stream, or broke the stream off."""


class _Refused(Exception):
    """The provider refused a parameter of the request (not the request itself)."""

    def __init__(self, parameter: str, why: str) -> None:
        super().__init__(f"{parameter}: {why}")
        self.parameter = parameter
        self.why = why


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, groq.APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    if refused_connection(error):  # nothing listens there: asking again will not help
        return False
    # Connection failures before the answer, and drops or stalls while it streams.
    return isinstance(error, groq.APIConnectionError | httpx.TransportError | _StreamError)


def _names_the_model(error: groq.APIStatusError) -> bool:
    """Whether a 404 or 400 is about the model (Groq's codes, or a message naming it)."""
    if error_code(error) in ("model_not_found", "model_decommissioned"):
        return True
    return isinstance(error, groq.NotFoundError) and "model" in error_message(error).lower()


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


class LLMClient:
    """Streaming chat completions against Groq or an OpenAI-compatible server."""

    def __init__(self, settings: Settings, pacer: RateLimitPacer | None = None) -> None:
        self.settings = settings
        self.traits = traits_for(settings.provider, settings.base_url, settings.model)
        self.pacer = pacer or RateLimitPacer(self._allowed(settings.concurrency))
        self.accounting = PromptAccounting()
        self._client: AsyncGroq | None = None
        self._streams = 0
        self._prepared = False
        self._prepare_lock = anyio.Lock()
        self.notes: list[str] = []

    @property
    def key_setting(self) -> str:
        return self.settings.name_of("api_key")

    @property
    def url_setting(self) -> str:
        return self.settings.name_of("base_url")

    def _read_timeout(self) -> float:
        return max(self.settings.first_token_timeout, self.settings.stall_timeout)

    def _allowed(self, concurrency: int) -> int:
        return 1 if self.traits.one_stream_at_a_time else concurrency

    def set_concurrency(self, value: int) -> None:
        """Calls at once for a run (one, whatever asked, for a server that serves one stream)."""
        self.pacer.set_max_concurrency(self._allowed(value))

    async def prepare(self) -> None:
        """Read the model's limits once for the daemon's life (settings the user set win)."""
        async with self._prepare_lock:
            if self._prepared:
                return
            self._sdk()  # configuration errors first, with their clear message
            if self.traits.limits is None:
                self.traits.limits = await read_limits(self.settings)
            self.notes = apply_limits(self.settings, self.traits.limits)
            for note in self.notes:
                log.info("%s", note)
            self._prepared = True

    def _sdk(self) -> AsyncGroq:
        if self._client is None:
            key = self.settings.api_key_value()
            if self.settings.provider == "groq" and not key:
                raise ConfigurationError(
                    "GROQ_API_KEY is not set: "
                    + (
                        "set it (export GROQ_API_KEY=...)."
                        if self.settings.client_kind == "cli"
                        else "set it, or pass apiKey in initializationOptions."
                    )
                )
            if self.settings.provider == "openai-compatible" and not self.settings.base_url:
                raise ConfigurationError(
                    f"No server URL: set {self.url_setting}: the openai-compatible provider needs "
                    "the server's URL ending in /v1 (for Ollama: http://127.0.0.1:11434/v1)."
                )
            self._client = AsyncGroq(
                # Local OpenAI-compatible servers usually ignore the key but the SDK wants one.
                api_key=key or "not-needed",
                base_url=self.settings.base_url,
                max_retries=0,
                # The socket's read timeout only backs up the waits `_read` bounds itself: the
                # answer's start (the server reads the prompt first) and each gap while it streams.
                timeout=httpx.Timeout(
                    max(self.settings.first_token_timeout, self.settings.stall_timeout),
                    connect=15.0,
                ),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def estimate(self, text: str) -> int:
        """Tokens of `text`, the byte estimate corrected by what the provider reported so far."""
        return self.accounting.calibrated(estimate_tokens(text))

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        json_mode: bool = False,
        json_schema: dict[str, Any] | None = None,
        purpose: Purpose = "file",
        on_text: TextCallback | None = None,
    ) -> Completion:
        """Stream one answer. `on_text` gets the whole text so far after each chunk (a retry after
        a dropped stream starts again from the empty string). `json_schema` (a `json_schema`
        response format: name and schema) asks for structured output where the provider takes
        it, falling back to JSON mode, then to plain text; `json_mode` asks for JSON mode."""
        sdk = self._sdk()
        prediction = self.accounting.predict(prompt_text(messages))
        # A request's prompt plus its output budget must fit the per-minute limit (cached tokens
        # included, to be safe: a 413 is never retried).
        cap = self.pacer.output_cap(prediction.prompt_tokens)
        if cap is not None and cap < MIN_ANSWER_TOKENS:
            raise LLMContextError(
                f"The prompt (about {prediction.prompt_tokens} tokens) leaves no room for an "
                f"answer within the provider's limit of {self.pacer.limit_tokens} tokens per "
                "minute: lower STEPFORGE_CONTEXT_WINDOW or use a model with a higher limit."
            )
        wanted: ResponseFormat = (
            "json_schema" if json_schema is not None else "json_object" if json_mode else "text"
        )
        call = _Call(
            messages,
            min(max_tokens, cap) if cap is not None else max_tokens,
            self._best_format(wanted),
            json_schema,
            purpose,
            prediction,
            on_text,
        )
        while True:
            try:
                return await self._complete_learning_limits(sdk, call)
            except _Refused as refused:
                call = self._without(call, refused)

    def _best_format(self, wanted: ResponseFormat) -> ResponseFormat:
        order: tuple[ResponseFormat, ...] = ("json_schema", "json_object", "text")
        return max(wanted, self.traits.response_format, key=order.index)

    def _without(self, call: _Call, refused: _Refused) -> _Call:
        """The call again without the parameter the provider refused (remembered)."""
        if refused.parameter == "response_format":
            following = self.traits.downgrade_format(call.response_format, refused.why)
            if following is None:
                raise LLMUnavailableError(f"The LLM request failed ({refused.why}).")
            return replace(call, response_format=following)
        if refused.parameter == "reasoning_effort":
            self.traits.reasoning_effort = False
        elif refused.parameter == "stream_options":
            self.traits.include_usage = False
        log.info("the provider refused %s (%s); asking without it", refused.parameter, refused.why)
        return call

    async def _complete_learning_limits(self, sdk: AsyncGroq, call: _Call) -> Completion:
        try:
            return await self._complete_with_retries(sdk, call)
        except LLMContextError as error:
            # A 413 names the tokens-per-minute limit the output budget must fit in: learn it and
            # ask once more with an answer that fits (Groq refuses, and never retries, otherwise).
            learned = self.pacer.output_cap(call.prediction.prompt_tokens)
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
                        return await self._attempt(sdk, call, attempt.retry_state.attempt_number)
        except TimeoutError:
            raise LLMUnavailableError(
                f"No complete answer from {self._endpoint()} within "
                f"{self.settings.call_deadline:.0f} s (retries included): the endpoint is slow "
                "or unreachable; try again, or raise STEPFORGE_CALL_DEADLINE."
            ) from None
        except (LLMError, _Refused):
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
            broken_off_reason(error, self._read_timeout()) if error else "?",
        )

    async def _attempt(self, sdk: AsyncGroq, call: _Call, attempt: int) -> Completion:
        await self.pacer.wait_for_budget(
            call.prediction.counted + self.pacer.expected_output(call.max_tokens)
        )
        async with self.pacer.limiter:
            self._streams += 1
            try:
                stream = await self._open(sdk, call, attempt)
                async with stream:
                    self.pacer.observe(stream.response.headers)
                    completion = await self._read(stream, call.on_text)
            except (_StreamError, httpx.TransportError):
                # (Once a stream has begun, httpx's errors arrive unwrapped by the SDK.)
                if self._streams > 1 and self.settings.provider == "openai-compatible":
                    # Broken off while another stream ran: this server serves one at a time.
                    self.traits.serve_one_stream_at_a_time()
                    self.pacer.set_max_concurrency(1)
                raise
            finally:
                self._streams -= 1
        reported = completion.usage.prompt_tokens > 0
        if not reported:  # the server reported no usage: estimate it
            completion.usage = Usage(
                prompt_tokens=call.prediction.prompt_tokens,
                completion_tokens=self.estimate(completion.text),
                calls=1,
            )
        self.accounting.observe(call.prediction, completion.usage, reported)
        self.pacer.on_success(completion.usage.completion_tokens)
        return completion

    def _body(self, call: _Call) -> dict[str, Any]:
        settings = self.settings
        body: dict[str, Any] = {"model": settings.model, "messages": call.messages}
        # llama.cpp's server (and others) ignore max_completion_tokens: the old name is the one
        # every OpenAI-compatible server knows.
        limit = "max_completion_tokens" if settings.provider == "groq" else "max_tokens"
        body[limit] = call.max_tokens
        body["temperature"] = 0.2
        if call.response_format == "json_schema" and call.json_schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": call.json_schema}
        elif call.response_format in ("json_schema", "json_object"):
            body["response_format"] = {"type": "json_object"}
        if self.traits.reasoning_effort and takes_reasoning_effort(settings.model):
            effort = settings.reasoning_effort or DEFAULT_EFFORT[call.purpose]
            body["reasoning_effort"] = reasoning_effort_value(settings.model, effort)
        return body

    async def _open(
        self, sdk: AsyncGroq, call: _Call, attempt: int
    ) -> AsyncStream[ChatCompletionChunk]:
        body = self._body(call)
        try:
            if self.settings.provider == "groq":
                return await sdk.chat.completions.create(**body, stream=True)
            # OpenAI-compatible servers serve /v1/chat/completions, not Groq's /openai/v1/ path.
            body["stream"] = True
            if self.traits.include_usage:
                body["stream_options"] = {"include_usage": True}
            return await sdk.post(
                "/chat/completions",
                body=body,
                cast_to=ChatCompletion,
                stream=True,
                stream_cls=AsyncStream[ChatCompletionChunk],
            )
        except groq.APIStatusError as error:
            refused = self._refused_parameter(error, body, attempt)
            if refused is not None:
                raise _Refused(refused, describe(error)) from error
            raise

    @staticmethod
    def _refused_parameter(
        error: groq.APIStatusError, body: dict[str, Any], attempt: int
    ) -> str | None:
        """Which optional parameter a 4xx (or, from llama.cpp, a first 500) refuses, if any."""
        status = error.status_code
        if status in (401, 403, 404, 413, 429) or error_code(error) == "json_validate_failed":
            return None
        message = error_message(error).lower()
        for parameter in ("reasoning_effort", "stream_options"):
            if parameter in body and parameter in message:
                return parameter
        if "response_format" in body:
            if status in (400, 422) and any(
                word in message for word in ("response_format", "json_schema", "json", "schema")
            ):
                return "response_format"
            if status in (400, 422, 500) and attempt == 1:
                # llama.cpp's server answers a schema it cannot compile with a bare 500.
                return "response_format"
        return None

    async def _read(
        self, stream: AsyncStream[ChatCompletionChunk], on_text: TextCallback | None
    ) -> Completion:
        parts: list[str] = []
        finish_reason: str | None = None
        usage = Usage(calls=1)
        shown = ""
        chunks = stream.__aiter__()
        # Until the first chunk the server may still be reading the prompt (slowly, on a busy
        # CPU); after it, a silence longer than the stall timeout is a stall.
        wait, waiting_for = self.settings.first_token_timeout, "the answer to begin"
        try:
            while True:
                try:
                    with anyio.fail_after(wait):
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise _StreamError(
                        f"no data for {wait:g} s while waiting for {waiting_for}"
                    ) from None
                wait, waiting_for = self.settings.stall_timeout, "the next part of the answer"
                reported = (chunk.x_groq.usage if chunk.x_groq else None) or chunk.usage
                if reported is not None:
                    usage = usage_of(reported)
                for choice in chunk.choices:
                    # Only `content` is the answer: `reasoning` / `reasoning_content` never are.
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        visible = visible_text("".join(parts))
                        if on_text is not None and visible != shown:
                            shown = visible
                            result = on_text(visible)
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
            raise _StreamError("the stream ended before the answer was finished")
        return Completion(
            text=visible_text("".join(parts)), finish_reason=finish_reason, usage=usage
        )

    def _endpoint(self) -> str:
        if self.settings.provider == "groq":
            return self.settings.base_url or "Groq"
        return self.settings.base_url or "the OpenAI-compatible server"

    def _translate(self, error: BaseException) -> LLMError:
        """A final error, in words that say what to do."""
        if isinstance(error, groq.AuthenticationError | groq.PermissionDeniedError):
            return LLMAuthError(
                f"The API key was rejected by {self._endpoint()} (HTTP {error.status_code}): "
                f"check {self.key_setting}."
            )
        if isinstance(error, groq.NotFoundError | groq.BadRequestError) and _names_the_model(error):
            return LLMModelError(
                f"The model {self.settings.model!r} is not available at {self._endpoint()} "
                f"({error_message(error)}): set {self.settings.name_of('model')} to a model the "
                "provider serves."
            )
        if isinstance(error, groq.NotFoundError):
            # A 404 that is not about the model: the URL leads nowhere the chat API lives.
            expected = (
                "the API root, e.g. https://api.groq.com"
                if self.settings.provider == "groq"
                else "the server's URL ending in /v1"
            )
            return LLMUnavailableError(
                f"Nothing serves the chat API at {error.request.url} (HTTP 404: "
                f"{error_message(error)}): check {self.url_setting} ({expected})."
            )
        if isinstance(error, groq.APIStatusError) and (
            error.status_code == 413 or error_code(error) == "context_length_exceeded"
        ):
            limit = tpm_limit(error)
            if limit is not None:
                self.pacer.limit_tokens = limit
            return LLMContextError(
                f"The request is too large for {self.settings.model!r} ({describe(error)}): "
                "lower STEPFORGE_CONTEXT_WINDOW or STEPFORGE_MAX_OUTPUT_TOKENS.",
                data={"tokensPerMinute": limit} if limit is not None else None,
            )
        if isinstance(error, groq.BadRequestError) and error_code(error) == "json_validate_failed":
            return LLMBadOutputError(
                f"The model's answer was not valid JSON ({error_message(error)})."
            )
        attempts = self.settings.llm_retries + 1
        reason = broken_off_reason(error, self._read_timeout())
        if refused_connection(error):
            return LLMUnavailableError(
                f"Nothing answers at {self._endpoint()} (connection refused): start the server, "
                f"or set {self.url_setting} to the right URL."
            )
        broken_off = isinstance(error, _StreamError | httpx.TransportError)
        if broken_off and self.traits.one_stream_at_a_time:
            return LLMUnavailableError(
                f"{self._endpoint()} broke off its answer {attempts} times, even with one request "
                f"at a time (last: {reason}): the server stopped streaming mid-answer (it may have "
                "crashed, run out of memory or context, or been restarted, or be too slow for "
                "STEPFORGE_STALL_TIMEOUT). Check the server's log; a smaller "
                "STEPFORGE_MAX_OUTPUT_TOKENS or STEPFORGE_CONTEXT_WINDOW may help."
            )
        if broken_off:
            return LLMUnavailableError(
                f"{self._endpoint()} broke off its answer {attempts} times (last: {reason}): the "
                "connection or the server is unstable; check it, then try again."
            )
        if isinstance(error, groq.APIConnectionError):
            return LLMUnavailableError(
                f"{self._endpoint()} could not be reached after {attempts} attempts "
                f"(last: {reason}): check {self.url_setting} and the network, then try again."
            )
        if _is_retryable(error):
            return LLMUnavailableError(
                f"{self._endpoint()} kept failing after {attempts} attempts "
                f"(last: {reason}); try again later."
            )
        if isinstance(error, groq.APIStatusError) and error.status_code in (400, 422):
            return LLMUnavailableError(
                f"{self._endpoint()} refused the request ({describe(error)}): check "
                "STEPFORGE_MODEL and that the server speaks the OpenAI chat API."
            )
        return LLMUnavailableError(f"The LLM request failed ({describe(error)}).")
