"""The LLM client through the real groq SDK against the fake server: streaming, usage, faults."""

import itertools
import time

import pytest

from server.config import load_settings
from server.errors import ConfigurationError
from server.llm import LLMAuthError, LLMClient, LLMContextError, LLMModelError, LLMUnavailableError
from server.llm.continuation import TruncatedAnswerError, complete_whole, stitch
from server.prompts import FILE_REQUEST, FILE_WRITER_SYSTEM
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp, fenced

PATH = "backend/models/task.py"
MESSAGES = [
    {"role": "system", "content": FILE_WRITER_SYSTEM},
    {"role": "user", "content": FILE_REQUEST.format(path=PATH)},
]
EXPECTED = fenced(PATH, ScriptedApp.fixture().files[PATH])


@pytest.fixture
def fake():
    with FakeGroq(AppResponder(ScriptedApp.fixture())) as server:
        yield server


def client_for(fake, **options):
    settings, warnings = load_settings(
        {"retryBackoff": 0.05, "stallTimeout": 1, **options}, fake.env()
    )
    assert not warnings
    return LLMClient(settings)


async def test_streams_the_answer_with_usage(fake):
    seen = []
    completion = await client_for(fake).complete(MESSAGES, max_tokens=4000, on_text=seen.append)
    assert completion.text == EXPECTED
    assert completion.finish_reason == "stop"
    assert completion.usage.completion_tokens == fake.served[0].completion_tokens > 0
    assert completion.usage.prompt_tokens == fake.served[0].prompt_tokens
    assert len(seen) > 3 and seen[-1] == EXPECTED and all(EXPECTED.startswith(s) for s in seen)
    assert fake.served[0].url_path == "/openai/v1/chat/completions"


async def test_openai_compatible_servers_get_their_own_path(fake):
    client = client_for(
        fake, provider="openai-compatible", baseUrl=fake.openai_base_url, apiKey=fake.api_key
    )
    completion = await client.complete(MESSAGES, max_tokens=4000)
    assert completion.text == EXPECTED and completion.usage.prompt_tokens > 0
    assert fake.served[0].url_path == "/v1/chat/completions"


async def test_429_waits_for_retry_after_then_succeeds(fake):
    fake.add_fault("429", retry_after=0.6)
    client = client_for(fake)
    started = time.monotonic()
    completion = await client.complete(MESSAGES, max_tokens=4000)
    assert completion.text == EXPECTED
    assert time.monotonic() - started >= 0.6
    assert [s.status for s in fake.served] == [429, 200]
    assert client.pacer.rate_limited == 1


@pytest.mark.parametrize("kind", ["500", "503", "drop", "stall"])
async def test_server_errors_and_broken_streams_are_retried(fake, kind):
    fake.add_fault(kind, retry_after=0.05, stall_seconds=3)
    seen = []
    completion = await client_for(fake).complete(MESSAGES, max_tokens=4000, on_text=seen.append)
    assert completion.text == EXPECTED
    assert fake.served[0].fault == kind and fake.served[-1].fault is None
    if kind in ("drop", "stall"):  # the callback saw the partial answer, then a restart
        assert any(len(a) > len(b) for a, b in itertools.pairwise(seen))


async def test_retries_are_bounded(fake):
    fake.add_fault("500", times=10)
    with pytest.raises(LLMUnavailableError, match="kept failing after 3 attempts"):
        await client_for(fake, llmRetries=2).complete(MESSAGES, max_tokens=4000)
    assert fake.count(status=500) == 3


async def test_deadline_covers_the_whole_call(fake):
    fake.add_fault("stall", stall_seconds=5, times=5)
    with pytest.raises(LLMUnavailableError, match="within 1 s"):
        await client_for(fake, callDeadline=1.0, stallTimeout=30).complete(
            MESSAGES, max_tokens=4000
        )


async def test_missing_key_says_what_to_set(fake):
    settings, _ = load_settings({}, {"GROQ_BASE_URL": fake.base_url})
    with pytest.raises(ConfigurationError, match="GROQ_API_KEY is not set"):
        await LLMClient(settings).complete(MESSAGES, max_tokens=10)


async def test_rejected_key_is_an_auth_error_without_the_key(fake):
    with pytest.raises(LLMAuthError) as caught:
        await client_for(fake, apiKey="gsk-wrong-key-1234").complete(MESSAGES, max_tokens=10)
    assert (
        "GROQ_API_KEY" in caught.value.message and "gsk-wrong-key-1234" not in caught.value.message
    )
    assert fake.count(status=401) == 1  # not retried


async def test_unknown_model_is_named(fake):
    with pytest.raises(LLMModelError, match=r"'no-such-model'.*STEPFORGE_MODEL"):
        await client_for(fake, model="no-such-model").complete(MESSAGES, max_tokens=10)


async def test_413_is_a_context_error_not_retried(fake):
    fake.add_fault("413")
    with pytest.raises(LLMContextError, match="too large"):
        await client_for(fake).complete(MESSAGES, max_tokens=10)
    assert len(fake.served) == 1


async def test_length_cut_offs_are_continued_and_stitched(fake):
    completion = await complete_whole(client_for(fake), MESSAGES, max_tokens=60, continuations=10)
    assert completion.text == EXPECTED
    assert completion.usage.calls == len(fake.served) > 2


async def test_an_answer_still_cut_after_the_continuations_is_an_error(fake):
    with pytest.raises(TruncatedAnswerError, match="still cut off after 1 continuations"):
        await complete_whole(client_for(fake), MESSAGES, max_tokens=30, continuations=1)


def test_stitch_drops_a_reopened_fence_and_a_repeated_tail():
    previous = "```python\nline one of the code that is long enough\nline two\n"
    assert stitch(previous, "```python\nline three\n```") == previous + "line three\n```"
    repeat = "line one of the code that is long enough\nline two\n"
    assert stitch(previous, repeat + "line three\n") == previous + "line three\n"
    assert stitch("a }\n", "}\n") == "a }\n}\n"  # short repeats are legitimate code


async def test_the_fake_server_answers_without_streaming_too(fake):
    """Non-streaming requests (the SDK's default) get a whole completion with usage."""
    from groq import AsyncGroq

    sdk = AsyncGroq(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
    completion = await sdk.chat.completions.create(
        model="test-model", messages=MESSAGES, stream=False
    )
    assert completion.choices[0].message.content == EXPECTED
    assert completion.choices[0].finish_reason == "stop" and completion.usage.completion_tokens > 0
    await sdk.close()
