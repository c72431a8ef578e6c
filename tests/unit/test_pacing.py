import anyio
import pytest

from server.llm.pacing import RateLimitPacer, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7.66s", 7.66), ("2m59.56s", 179.56), ("1h2m", 3720), ("250ms", 0.25), ("3", 3.0)],
)
def test_reset_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


def test_garbage_durations_are_none():
    assert parse_duration("soon") is None
    assert parse_duration("5x") is None


def test_rate_limits_halve_concurrency_and_successes_raise_it_back():
    pacer = RateLimitPacer(8)
    pacer.on_rate_limited(None)
    assert pacer.concurrency == 4
    pacer.on_rate_limited(None)
    pacer.on_rate_limited(None)
    pacer.on_rate_limited(None)
    assert pacer.concurrency == 1
    for _ in range(1):
        pacer.on_success(100)
    assert pacer.concurrency == 2
    for _ in range(100):
        pacer.on_success(100)
    assert pacer.concurrency == 8


def test_output_cap_follows_the_token_limit():
    pacer = RateLimitPacer(4)
    assert pacer.output_cap(1000) is None
    pacer.observe(
        {
            "x-ratelimit-limit-tokens": "6000",
            "x-ratelimit-remaining-tokens": "5000",
            "x-ratelimit-reset-tokens": "10s",
        }
    )
    assert pacer.output_cap(1000) == 5000


async def test_a_call_that_does_not_fit_waits_for_the_bucket_to_refill():
    pacer = RateLimitPacer(4)
    # 1000 tokens a window; 100 left; full again in 0.9 s: the bucket refills 1000 tokens/s.
    pacer.observe(
        {
            "x-ratelimit-limit-tokens": "1000",
            "x-ratelimit-remaining-tokens": "100",
            "x-ratelimit-reset-tokens": "0.9s",
        }
    )
    started = anyio.current_time()
    await pacer.wait_for_budget(500)  # needs 400 more: about 0.4 s
    assert 0.35 <= anyio.current_time() - started < 0.8
    started = anyio.current_time()
    await pacer.wait_for_budget(300)  # the bucket was emptied by the first call
    assert anyio.current_time() - started >= 0.25


async def test_unknown_limits_do_not_wait():
    pacer = RateLimitPacer(4)
    with anyio.fail_after(0.1):
        await pacer.wait_for_budget(10**9)


async def test_retry_after_blocks_every_call():
    pacer = RateLimitPacer(4)
    pacer.on_rate_limited(0.2)
    started = anyio.current_time()
    await pacer.wait_for_budget(1)
    assert anyio.current_time() - started >= 0.19
