"""What an HTTP error of a provider says, whatever the shape of its body (OpenAI's, Groq's,
FastAPI's `detail`, a bare string): its message, its code, the tokens-per-minute limit a 413 names."""

from __future__ import annotations

import re

import groq
import httpx


def describe(error: BaseException) -> str:
    if isinstance(error, groq.APIStatusError):
        return f"HTTP {error.status_code}: {error_message(error)}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def refused_connection(error: BaseException) -> bool:
    """Whether nothing listens at the address (connection refused), anywhere in the cause chain."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "connection refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def broken_off_reason(error: BaseException, read_timeout: float) -> str:
    """What happened to an answer that did not arrive, in words (several httpx errors, the
    timeouts among them, have an empty message)."""
    if isinstance(error, groq.APIStatusError):
        return describe(error)
    if refused_connection(error):
        return "connection refused: nothing listens there (the server is not running)"
    cause = error.__cause__ if isinstance(error, groq.APIConnectionError) else None
    inner = cause if isinstance(cause, httpx.HTTPError) else error
    if isinstance(inner, httpx.TimeoutException) or isinstance(error, groq.APITimeoutError):
        if isinstance(inner, httpx.ConnectTimeout):
            return f"could not connect ({type(inner).__name__})"
        return f"no answer within {read_timeout:g} s ({type(inner).__name__})"
    if isinstance(inner, httpx.RemoteProtocolError):
        return f"the server closed the connection mid-answer ({describe(inner)})"
    if isinstance(inner, httpx.ReadError | httpx.WriteError):
        return f"the connection broke ({describe(inner)})"
    if isinstance(inner, httpx.ConnectError):
        return f"could not connect ({describe(inner)})"
    return str(error) or type(error).__name__


def error_message(error: groq.APIStatusError) -> str:
    """The message of an error body, whatever its shape (OpenAI's, FastAPI's, a bare string)."""
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, str):
            return inner
        if isinstance(inner, dict):
            for key in ("message", "detail"):
                if isinstance(inner.get(key), str):
                    return str(inner[key])
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return error.message


def tpm_limit(error: groq.APIStatusError) -> int | None:
    """The tokens-per-minute limit a 413 names, in its headers or in its message."""
    header = error.response.headers.get("x-ratelimit-limit-tokens")
    if header and header.isdigit():
        return int(header)
    found = re.search(r"\(TPM\)\W+Limit (\d+)", error_message(error))
    return int(found.group(1)) if found else None


def error_code(error: groq.APIStatusError) -> str:
    body = error.body
    inner = body.get("error", body) if isinstance(body, dict) else None
    code = inner.get("code") if isinstance(inner, dict) else None
    return code if isinstance(code, str) else ""
