"""What an HTTP error of a provider says, whatever the shape of its body (OpenAI's, Groq's,
FastAPI's `detail`, a bare string): its message, its code, the tokens-per-minute limit a 413 names."""

from __future__ import annotations

import re

import groq


def describe(error: BaseException) -> str:
    if isinstance(error, groq.APIStatusError):
        return f"HTTP {error.status_code}: {error_message(error)}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


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
