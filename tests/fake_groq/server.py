"""A Groq-compatible chat completions server on 127.0.0.1, for tests and benchmarks.

It serves Groq's path (`/openai/v1/chat/completions`) and the OpenAI-compatible one
(`/v1/chat/completions`), streaming (SSE over chunked transfer encoding, usage in the last chunk:
`x_groq.usage` for Groq, `usage` for OpenAI-compatible) and non-streaming. Answers come from a
responder (see `responders.py`); faults are injected per request:
429 with retry-after, 500/503, 401, 413, a stream dropped halfway, a stream that stalls,
`finish_reason: "length"` cut-offs. A latency model (time to first token, tokens per second) and a
tokens-per-minute limit with Groq's `x-ratelimit-*` headers make it usable for benchmarks.

Like Groq for gpt-oss and kimi-k2, it caches prompt prefixes: the longest common prefix with an
earlier prompt is reported as `usage.prompt_tokens_details.cached_tokens` and not counted toward
its tokens-per-minute limit. Its models endpoint states each model's context window and output
limit. It can also act like other servers: refuse `response_format` types (with 400, or llama.cpp's
500), honour only `max_tokens`, and break off a stream when a second one starts (llama.cpp).

Fake tokens are 4 characters each; the server and its tests agree on that, nothing else relies on it.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

CHARS_PER_TOKEN = 4
CONTINUE_PREFIX = "Your answer was cut off."
_FILE_PATH = re.compile(r"Write the file `([^`]+)`")


def file_path_in(prompt: str) -> str | None:
    """The file a file-writer prompt asks for (named last, by StepForge's prompt layout)."""
    found = _FILE_PATH.findall(prompt)
    return found[-1] if found and "StepForge's file writer" in prompt else None


def fake_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


@dataclass
class ChatRequest:
    url_path: str
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def max_tokens(self) -> int | None:
        value = self.body.get("max_completion_tokens") or self.body.get("max_tokens")
        return int(value) if value else None

    @property
    def file_path(self) -> str | None:
        return file_path_in(self.system + "\n" + self.first_user)

    @property
    def system(self) -> str:
        return next((str(m["content"]) for m in self.messages if m.get("role") == "system"), "")

    @property
    def response_format(self) -> str | None:
        value = self.body.get("response_format")
        return value.get("type") if isinstance(value, dict) else None

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages)

    @property
    def first_user(self) -> str:
        return next((str(m["content"]) for m in self.messages if m.get("role") == "user"), "")

    @property
    def partial_answer(self) -> str | None:
        """For a continuation request (it ends with "continue where it stopped"): what the assistant
        already said since the last real question. None for any other request, re-asks included."""
        messages = self.messages
        if (
            not messages
            or messages[-1].get("role") != "user"
            or not str(messages[-1].get("content", "")).startswith(CONTINUE_PREFIX)
        ):
            return None
        said: list[str] = []
        for message in reversed(messages[:-1]):
            if message.get("role") == "assistant":
                said.insert(0, str(message.get("content", "")))
            elif message.get("role") == "user" and not str(message.get("content", "")).startswith(
                CONTINUE_PREFIX
            ):
                break
        return "".join(said) if said else None


@dataclass
class Reply:
    text: str
    finish_reason: str = "stop"


Responder = Callable[[ChatRequest], Reply]

FaultKind = Literal["429", "500", "503", "401", "413", "drop", "stall", "length", "json_invalid"]


@dataclass
class Fault:
    """One injected failure. `match` picks the requests it applies to (None: any)."""

    kind: FaultKind
    match: Callable[[ChatRequest], bool] | None = None
    times: int = 1
    retry_after: float = 1.0
    stall_seconds: float = 30.0
    fraction: float = 0.5  # how much of the answer is sent before a drop, stall or cut-off


@dataclass
class Latency:
    first_token_seconds: float = 0.0
    tokens_per_second: float | None = None  # None: as fast as the socket goes
    chunk_tokens: int = 8


@dataclass
class Served:
    """What the server did with one request (tests assert on these)."""

    url_path: str
    model: str
    status: int
    fault: str | None
    prompt_tokens: int
    completion_tokens: int
    max_tokens: int | None
    prompt: str
    started: float
    finished: float = 0.0
    cached_tokens: int = 0
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def file_path(self) -> str | None:
        return file_path_in(self.prompt)


class TokenWindow:
    """A tokens-per-minute bucket refilled continuously, as Groq reports it in headers.
    (`window` shortens the minute, so that tests of pacing run in seconds.)"""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self.remaining = float(limit)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.remaining = min(
            self.limit, self.remaining + (now - self._stamp) * self.limit / self.window
        )
        self._stamp = now

    def take(self, tokens: int) -> float | None:
        """Reserve tokens; None when granted, else the seconds until they would be."""
        with self._lock:
            self._refill()
            if tokens > self.remaining:
                return (tokens - self.remaining) * self.window / self.limit
            self.remaining -= tokens
            return None

    def give_back(self, tokens: int) -> None:
        self._refill()
        self.remaining = min(self.limit, self.remaining + tokens)

    def headers(self) -> dict[str, str]:
        self._refill()
        reset = (self.limit - self.remaining) * self.window / self.limit
        return {
            "x-ratelimit-limit-tokens": str(self.limit),
            "x-ratelimit-remaining-tokens": str(int(self.remaining)),
            "x-ratelimit-reset-tokens": f"{reset:.2f}s",
        }


@dataclass
class FakeGroq:
    responder: Responder
    api_key: str | None = "gsk-test-key"
    models: set[str] = field(default_factory=lambda: {"openai/gpt-oss-120b", "test-model"})
    # model -> (context window, max completion tokens) on the models endpoint
    model_limits: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"openai/gpt-oss-120b": (131072, 65536)}
    )
    prompt_cache: bool = True  # for models named gpt-oss or kimi-k2, as Groq does
    refuse_formats: dict[str, int] = field(default_factory=dict)  # response_format type -> status
    only_max_tokens: bool = False  # ignore max_completion_tokens (llama.cpp's server)
    one_stream_at_a_time: bool = False  # a new stream breaks off the one in flight (llama.cpp)
    reasoning_tokens: int = 0  # reported as completion_tokens_details.reasoning_tokens
    latency: Latency = field(default_factory=Latency)
    tpm_limit: int | None = None
    tpm_window_seconds: float = 60.0
    faults: list[Fault] = field(default_factory=list)
    served: list[Served] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._window = (
            TokenWindow(self.tpm_limit, self.tpm_window_seconds) if self.tpm_limit else None
        )
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._prompts: list[str] = []
        self._streaming: list[threading.Event] = []  # one per open stream: set = break it off

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeGroq:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeGroq:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """For GROQ_BASE_URL (the SDK appends /openai/v1/...)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """For the openai-compatible provider (STEPFORGE_BASE_URL)."""
        return f"{self.base_url}/v1"

    def env(self) -> dict[str, str]:
        """Environment for a daemon that should talk to this server through the groq SDK."""
        return {"GROQ_BASE_URL": self.base_url, "GROQ_API_KEY": self.api_key or "unused"}

    # --- faults and records --------------------------------------------------------------------

    def add_fault(
        self, kind: FaultKind, match: Callable[[ChatRequest], bool] | None = None, **kw: Any
    ) -> Fault:
        fault = Fault(kind=kind, match=match, **kw)
        with self._lock:
            self.faults.append(fault)
        return fault

    def _take_fault(self, request: ChatRequest) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and (fault.match is None or fault.match(request)):
                    fault.times -= 1
                    return fault
        return None

    def _record(self, served: Served) -> Served:
        with self._lock:
            self.served.append(served)
        return served

    def count(self, *, status: int | None = None, fault: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for s in self.served
                if (status is None or s.status == status) and (fault is None or s.fault == fault)
            )

    def cached_prefix_tokens(self, request: ChatRequest) -> int:
        """Tokens of the longest prefix this prompt shares with an earlier one (then remembered)."""
        prompt = request.prompt
        cached = 0
        model = request.model
        if self.prompt_cache and ("gpt-oss" in model or "kimi-k2" in model):
            with self._lock:
                best = max(
                    (_common_prefix(earlier, prompt) for earlier in self._prompts), default=0
                )
            cached = best // CHARS_PER_TOKEN
        with self._lock:
            self._prompts.append(prompt)
        return cached

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def _common_prefix(a: str, b: str) -> int:
    limit = min(len(a), len(b))
    index = 0
    while index < limit and a[index] == b[index]:
        index += 1
    return index


def _chunk(
    model: str, content: str | None, finish: str | None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    delta: dict[str, Any] = {"role": "assistant"}
    if content is not None:
        delta["content"] = content
    data: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    data.update(extra or {})
    return data


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGroq
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # --- plumbing ------------------------------------------------------------------------------

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(
        self, status: int, message: str, code: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send_json(
            status,
            {"error": {"message": message, "type": "invalid_request_error", "code": code}},
            headers,
        )

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _sse(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._write_chunk(f"data: {text}\n\n".encode())

    def _abort_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- routes --------------------------------------------------------------------------------

    def _model_entry(self, model: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": model, "object": "model", "owned_by": "fake"}
        if model in self.fake.model_limits:
            window, output = self.fake.model_limits[model]
            entry.update(context_window=window, max_completion_tokens=output)
        return entry

    def do_GET(self) -> None:
        path = self.path.rstrip("/")
        if path in ("/openai/v1/models", "/v1/models"):
            models = [self._model_entry(m) for m in sorted(self.fake.models)]
            self._send_json(200, {"object": "list", "data": models})
        elif path.startswith("/openai/v1/models/") or path.startswith("/v1/models/"):
            model = path.split("/models/", 1)[1]
            if model in self.fake.models:
                self._send_json(200, self._model_entry(model))
            else:
                self._error(404, f"The model `{model}` does not exist", "model_not_found")
        else:
            self._error(404, f"no route {self.path}", "not_found")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(length)
        if self.path not in ("/openai/v1/chat/completions", "/v1/chat/completions"):
            self._error(404, f"no route {self.path}", "not_found")
            return
        request = ChatRequest(self.path, json.loads(raw or b"{}"))
        fake = self.fake
        fake._enter()
        try:
            self._complete(request)
        finally:
            fake._leave()

    def _complete(self, request: ChatRequest) -> None:
        fake = self.fake
        served = Served(
            url_path=request.url_path,
            model=request.model,
            status=200,
            fault=None,
            prompt_tokens=fake_tokens(request.prompt),
            completion_tokens=0,
            max_tokens=request.max_tokens,
            prompt=request.prompt,
            started=time.monotonic(),
            body=request.body,
        )
        fake._record(served)

        def refuse(
            status: int,
            message: str,
            code: str,
            headers: dict[str, str] | None = None,
            fault: str | None = None,
        ) -> None:
            served.status, served.fault, served.finished = status, fault, time.monotonic()
            self._error(status, message, code, headers)

        if fake.api_key and self.headers.get("authorization") != f"Bearer {fake.api_key}":
            refuse(401, "Invalid API Key", "invalid_api_key")
            return
        if request.model not in fake.models:
            refuse(
                404,
                f"The model `{request.model}` does not exist or you do not have access to it.",
                "model_not_found",
            )
            return
        refused = fake.refuse_formats.get(request.response_format or "")
        if refused is not None:
            if refused >= 500:  # llama.cpp: a bare internal error
                served.status, served.finished = refused, time.monotonic()
                self._send_json(refused, {"detail": "Internal Server Error"})
            else:
                refuse(
                    refused,
                    f"response_format `{request.response_format}` is not supported with this model",
                    "invalid_request_error",
                )
            return
        fault = fake._take_fault(request)
        if fault is not None and fault.kind in ("429", "500", "503", "401", "413", "json_invalid"):
            status = {"json_invalid": 400}.get(
                fault.kind, int(fault.kind) if fault.kind.isdigit() else 400
            )
            headers = (
                {"retry-after": f"{fault.retry_after:g}"} if fault.kind in ("429", "503") else None
            )
            code = {
                "429": "rate_limit_exceeded",
                "413": "request_too_large",
                "json_invalid": "json_validate_failed",
            }.get(fault.kind, "server_error")
            refuse(status, f"injected {fault.kind}", code, headers, fault=fault.kind)
            return

        reply = fake.responder(request)
        served.cached_tokens = fake.cached_prefix_tokens(request)
        # Continuations answer with what follows the part already said.
        text, finish = reply.text, reply.finish_reason
        budget = (
            (int(request.body["max_tokens"]) if request.body.get("max_tokens") else None)
            if fake.only_max_tokens
            else request.max_tokens
        )
        if budget is not None and fake_tokens(text) > budget:
            text, finish = text[: budget * CHARS_PER_TOKEN], "length"
        if fault is not None and fault.kind == "length":
            text, finish = text[: max(1, int(len(text) * fault.fraction))], "length"

        rate_headers: dict[str, str] = {}
        if fake._window is not None:
            requested = served.prompt_tokens + (request.max_tokens or 0)
            if requested > fake._window.limit:
                refuse(
                    413,
                    f"Request too large for model `{request.model}` on tokens per minute (TPM): Limit {fake._window.limit}, Requested {requested}, please reduce your message size and try again.",
                    "rate_limit_exceeded",
                    fake._window.headers(),
                )
                return
            # Cached prompt tokens do not count toward the limit (as on Groq).
            needed = served.prompt_tokens - served.cached_tokens + fake_tokens(text)
            wait = fake._window.take(needed)
            if wait is not None:
                refuse(
                    429,
                    "Rate limit reached for tokens per minute",
                    "rate_limit_exceeded",
                    {"retry-after": f"{wait:.2f}", **fake._window.headers()},
                    fault="tpm",
                )
                return
            rate_headers = fake._window.headers()

        served.completion_tokens = fake_tokens(text)
        if not request.stream:
            self._send_whole(request, text, finish, served, rate_headers)
        else:
            self._stream(request, text, finish, served, fault, rate_headers)
        served.finished = time.monotonic()

    def _usage(self, served: Served) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": served.prompt_tokens,
            "completion_tokens": served.completion_tokens,
            "total_tokens": served.prompt_tokens + served.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": served.cached_tokens},
        }
        if self.fake.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.fake.reasoning_tokens}
        return usage

    def _send_whole(
        self, request: ChatRequest, text: str, finish: str, served: Served, headers: dict[str, str]
    ) -> None:
        latency = self.fake.latency
        time.sleep(latency.first_token_seconds)
        if latency.tokens_per_second:
            time.sleep(fake_tokens(text) / latency.tokens_per_second)
        self._send_json(
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": finish,
                        "logprobs": None,
                    }
                ],
                "usage": self._usage(served),
            },
            headers,
        )

    def _stream(
        self,
        request: ChatRequest,
        text: str,
        finish: str,
        served: Served,
        fault: Fault | None,
        headers: dict[str, str],
    ) -> None:
        broken = threading.Event()
        if self.fake.one_stream_at_a_time:
            with self.fake._lock:
                for other in self.fake._streaming:
                    other.set()  # llama.cpp: the newcomer breaks off the stream in flight
                self.fake._streaming.append(broken)
        try:
            self._stream_body(request, text, finish, served, fault, headers, broken)
        finally:
            with self.fake._lock:
                if broken in self.fake._streaming:
                    self.fake._streaming.remove(broken)

    def _stream_body(
        self,
        request: ChatRequest,
        text: str,
        finish: str,
        served: Served,
        fault: Fault | None,
        headers: dict[str, str],
        broken: threading.Event,
    ) -> None:
        latency = self.fake.latency
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        time.sleep(latency.first_token_seconds)

        step = latency.chunk_tokens * CHARS_PER_TOKEN
        pieces = [text[i : i + step] for i in range(0, len(text), step)] or [""]
        cut_at = (
            len(pieces)
            if fault is None or fault.kind not in ("drop", "stall")
            else max(1, int(len(pieces) * fault.fraction))
        )
        for index, piece in enumerate(pieces):
            if broken.is_set():
                served.fault = "broken_off"
                self._abort_connection()
                return
            if index == cut_at:
                assert fault is not None
                served.fault = fault.kind
                if fault.kind == "stall":
                    time.sleep(fault.stall_seconds)
                self._abort_connection()
                return
            if latency.tokens_per_second:
                time.sleep(fake_tokens(piece) / latency.tokens_per_second)
            try:
                self._sse(_chunk(request.model, piece, None))
            except OSError:  # the client went away (cancelled): stop quietly
                served.fault = "client_closed"
                self.close_connection = True
                return
        usage = self._usage(served)
        try:
            if request.url_path.startswith("/openai/"):
                self._sse(
                    _chunk(
                        request.model, None, finish, {"x_groq": {"id": "req_fake", "usage": usage}}
                    )
                )
            else:
                self._sse(_chunk(request.model, None, finish))
                if (request.body.get("stream_options") or {}).get("include_usage"):
                    self._sse(
                        {
                            "id": "chatcmpl-fake",
                            "object": "chat.completion.chunk",
                            "created": int(time.time()),
                            "model": request.model,
                            "choices": [],
                            "usage": usage,
                        }
                    )
            self._sse("[DONE]")
            self._write_chunk(b"")
        except OSError:
            served.fault = "client_closed"
            self.close_connection = True
        if fault is not None and fault.kind == "length":
            served.fault = "length"
