"""Pacing calls by the provider's rate limits.

Two mechanisms, shared by every call of one client:
- a token bucket modelled from Groq's `x-ratelimit-*-tokens` headers (limit, remaining, and the
  time until the bucket is full again, which gives the refill rate): a call waits until the
  tokens it will likely use are there, instead of collecting a 429;
- additive-increase / multiplicative-decrease concurrency: a 429 halves the number of calls in
  flight, and each run of successes as long as the current limit raises it by one, up to the max.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping

import anyio

log = logging.getLogger(__name__)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float | None:
    """Seconds in a Groq reset header: `7.66s`, `2m59.56s`, `1h2m`, `250ms`, or a bare number."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


class RateLimitPacer:
    def __init__(self, max_concurrency: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_concurrency = max_concurrency
        self.limiter = anyio.CapacityLimiter(max_concurrency)
        self._clock = clock
        self._successes = 0
        self.limit_tokens: int | None = None
        self._level: float | None = None  # tokens in the bucket at `_stamp`, None: unknown
        self._stamp = 0.0
        self._rate: float | None = None  # tokens per second the bucket refills
        self._blocked_until = 0.0
        self._reserve_lock = anyio.Lock()
        self._output_average: float | None = None
        self.rate_limited = 0  # 429s seen, for benchmarks and tests

    @property
    def concurrency(self) -> int:
        return int(self.limiter.total_tokens)

    def set_max_concurrency(self, value: int) -> None:
        self.max_concurrency = value
        self.limiter.total_tokens = value

    # --- the token bucket ------------------------------------------------------------------------

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read the bucket from a response's headers."""
        limit = _int_header(headers, "x-ratelimit-limit-tokens")
        remaining = _int_header(headers, "x-ratelimit-remaining-tokens")
        reset = parse_duration(headers.get("x-ratelimit-reset-tokens", ""))
        if limit is not None:
            self.limit_tokens = limit
        if remaining is None:
            return
        if self.limit_tokens and reset and remaining < self.limit_tokens:
            self._rate = (self.limit_tokens - remaining) / reset
        self._level = float(remaining)
        self._stamp = self._clock()

    def _refill_rate(self) -> float | None:
        if self._rate is not None:
            return self._rate
        return self.limit_tokens / 60.0 if self.limit_tokens else None  # per-minute limits

    def _level_now(self) -> float | None:
        if self._level is None:
            return None
        rate = self._refill_rate() or 0.0
        level = self._level + rate * (self._clock() - self._stamp)
        return min(float(self.limit_tokens), level) if self.limit_tokens else level

    def output_cap(self, prompt_tokens: int) -> int | None:
        """The most output tokens a call may ask for: prompt plus output above the per-minute limit
        is refused with a 413 that no retry fixes."""
        if self.limit_tokens is None:
            return None
        return self.limit_tokens - prompt_tokens

    async def wait_for_budget(self, tokens: int) -> None:
        """Sleep until a call of about `tokens` fits in the bucket, then take them. Callers queue
        in order, so a big call is not starved by small ones."""
        async with self._reserve_lock:
            while True:
                now = self._clock()
                if now < self._blocked_until:
                    await anyio.sleep(self._blocked_until - now)
                    continue
                level = self._level_now()
                if level is None:
                    return
                needed = min(tokens, self.limit_tokens or tokens)
                if needed <= level:
                    self._level = level - needed
                    self._stamp = now
                    return
                rate = self._refill_rate()
                if not rate:
                    return
                wait = (needed - level) / rate
                log.debug("waiting %.2fs for %d tokens", wait, needed)
                await anyio.sleep(wait)

    def expected_output(self, max_tokens: int) -> int:
        """What a call will likely produce: the running average of answers so far, at most the max."""
        if self._output_average is None:
            return max_tokens // 2
        return min(max_tokens, int(self._output_average * 1.2) + 1)

    # --- concurrency -----------------------------------------------------------------------------

    def on_rate_limited(self, retry_after: float | None) -> None:
        self.rate_limited += 1
        self._successes = 0
        if retry_after:
            self._blocked_until = max(self._blocked_until, self._clock() + retry_after)
        lowered = max(1, self.concurrency // 2)
        if lowered != self.concurrency:
            log.info("rate limited: concurrency %d -> %d", self.concurrency, lowered)
            self.limiter.total_tokens = lowered

    def on_success(self, completion_tokens: int) -> None:
        average = self._output_average
        self._output_average = (
            completion_tokens if average is None else 0.8 * average + 0.2 * completion_tokens
        )
        self._successes += 1
        if self._successes >= self.concurrency and self.concurrency < self.max_concurrency:
            self._successes = 0
            self.limiter.total_tokens = self.concurrency + 1
