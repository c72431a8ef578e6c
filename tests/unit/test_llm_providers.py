"""The LLM client against providers as they really are (the fake server playing each part):
prefix caching, the model's real limits, structured output and its fallbacks, reasoning effort,
OpenAI-compatible servers' `max_tokens` and one stream at a time, calibrated estimates."""

from __future__ import annotations

import anyio
import pytest

from server.config import DEFAULT_CONTEXT_WINDOW, load_settings
from server.llm import LLMClient
from server.llm.accounting import common_prefix_length
from server.llm.client import visible_text
from server.planning.planner import plan_response_format
from server.prompts import FILE_REQUEST, FILE_WRITER_SYSTEM
from tests.fake_groq import AppResponder, FakeGroq, Reply, ScriptedApp, fenced

APP = ScriptedApp.fixture()
SHARED = "The plan of the app (JSON):\n" + "x" * 4000 + "\n"


def messages_for(path: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": FILE_WRITER_SYSTEM},
        {"role": "user", "content": SHARED + FILE_REQUEST.format(path=path)},
    ]


@pytest.fixture
def fake():
    with FakeGroq(AppResponder(APP)) as server:
        yield server


def client_for(fake: FakeGroq, **options) -> LLMClient:
    settings, warnings = load_settings(
        {"retryBackoff": 0.05, "stallTimeout": 2, **options}, fake.env()
    )
    assert not warnings
    return LLMClient(settings)


def openai_client(fake: FakeGroq, **options) -> LLMClient:
    return client_for(
        fake,
        provider="openai-compatible",
        baseUrl=fake.openai_base_url,
        apiKey=fake.api_key,
        **options,
    )


async def test_usage_is_the_servers_with_cached_and_reasoning_tokens(fake):
    fake.reasoning_tokens = 17
    client = client_for(fake)
    first = await client.complete(messages_for("backend/models/task.py"), max_tokens=4000)
    second = await client.complete(messages_for("backend/models/project.py"), max_tokens=4000)
    for completion, served in zip((first, second), fake.served, strict=True):
        assert completion.usage.prompt_tokens == served.prompt_tokens
        assert completion.usage.completion_tokens == served.completion_tokens
        assert completion.usage.cached_tokens == served.cached_tokens
        assert completion.usage.reasoning_tokens == 17
    assert first.usage.cached_tokens == 0
    # The second prompt shares the system prompt and the plan with the first: served from cache.
    assert second.usage.cached_tokens >= 0.9 * len(SHARED) // 4
    assert client.accounting.cache_hit > 0.5


async def test_the_pacer_learns_that_cached_tokens_do_not_count(fake):
    client = client_for(fake)
    await client.complete(messages_for("backend/models/task.py"), max_tokens=4000)
    await client.complete(messages_for("backend/models/project.py"), max_tokens=4000)
    prediction = client.accounting.predict(
        "".join(f"<{m['role']}>\n{m['content']}\n" for m in messages_for("backend/x.py"))
    )
    assert prediction.cached_tokens > 0.8 * (prediction.prompt_tokens - 100)
    assert prediction.counted < 0.2 * prediction.prompt_tokens


async def test_estimates_are_calibrated_by_what_the_provider_reports(fake):
    client = client_for(fake)
    assert client.accounting.ratio == 1.0
    await client.complete(messages_for("backend/models/task.py"), max_tokens=4000)
    # The fake counts 4 characters a token, the estimate 3 bytes: reported/estimated = 3/4.
    assert client.accounting.ratio == pytest.approx(0.75, abs=0.02)
    assert client.estimate("y" * 3000) == pytest.approx(750, abs=20)


async def test_the_models_real_limits_are_read_and_used(fake):
    client = client_for(fake)
    await client.prepare()
    assert client.settings.context_window == 131072
    assert client.settings.max_output_tokens == 65536
    assert not client.settings.explicitly_set("context_window")


async def test_limits_the_user_set_win(fake):
    client = client_for(fake, contextWindow=16384)
    await client.prepare()
    assert client.settings.context_window == 16384
    assert client.settings.max_output_tokens == 16384  # never more than the window


async def test_a_silent_models_endpoint_keeps_the_defaults_with_a_note(fake):
    client = client_for(fake, model="test-model")
    await client.prepare()
    assert client.settings.context_window == DEFAULT_CONTEXT_WINDOW
    assert any("states no limits" in note for note in client.notes)


async def test_an_unreachable_models_endpoint_keeps_the_defaults(fake):
    settings, _ = load_settings(
        {"provider": "openai-compatible", "baseUrl": "http://127.0.0.1:9/v1"}, {}
    )
    client = LLMClient(settings)
    await client.prepare()
    assert settings.context_window == DEFAULT_CONTEXT_WINDOW
    assert any("did not answer" in note for note in client.notes)


async def test_structured_plans_ask_for_the_schema(fake):
    client = client_for(fake)
    await client.complete(
        messages_for("p"), max_tokens=500, json_schema=plan_response_format(), purpose="plan"
    )
    format_sent = fake.served[-1].body["response_format"]
    assert format_sent["type"] == "json_schema"
    assert "implementation_order" in format_sent["json_schema"]["schema"]["properties"]


@pytest.mark.parametrize("status", [400, 500])
async def test_a_refused_schema_falls_back_to_json_mode_and_is_remembered(fake, status):
    fake.refuse_formats = {"json_schema": status}
    client = client_for(fake)
    await client.complete(messages_for("p"), max_tokens=500, json_schema=plan_response_format())
    assert [s.body.get("response_format", {}).get("type") for s in fake.served] == [
        "json_schema",
        "json_object",
    ]
    assert [s.status for s in fake.served] == [status, 200]
    # Remembered for the daemon's life: a new client of the same provider asks right away.
    again = client_for(fake)
    await again.complete(messages_for("p"), max_tokens=500, json_schema=plan_response_format())
    assert fake.served[-1].body["response_format"]["type"] == "json_object"
    assert len(fake.served) == 3


async def test_json_mode_refused_too_falls_back_to_plain_text(fake):
    fake.refuse_formats = {"json_schema": 500, "json_object": 400}
    client = client_for(fake)
    completion = await client.complete(
        messages_for("p"), max_tokens=500, json_schema=plan_response_format()
    )
    assert completion.finish_reason == "stop"
    assert "response_format" not in fake.served[-1].body
    assert [s.status for s in fake.served] == [500, 400, 200]


async def test_reasoning_effort_is_sent_to_models_that_take_it(fake):
    client = client_for(fake)
    await client.complete(messages_for("a"), max_tokens=100, purpose="file")
    await client.complete(messages_for("a"), max_tokens=100, purpose="plan")
    assert [s.body.get("reasoning_effort") for s in fake.served] == ["low", "medium"]
    high = client_for(fake, reasoningEffort="high")
    await high.complete(messages_for("a"), max_tokens=100)
    assert fake.served[-1].body["reasoning_effort"] == "high"
    other = client_for(fake, model="test-model")
    await other.complete(messages_for("a"), max_tokens=100)
    assert "reasoning_effort" not in fake.served[-1].body


async def test_reasoning_text_never_lands_in_the_answer(fake):
    inner = AppResponder(APP)
    fake.responder = lambda request: Reply(
        "<think>Let me think about the file.</think>\n" + inner(request).text
    )
    seen: list[str] = []
    completion = await client_for(fake).complete(
        messages_for("backend/models/task.py"), max_tokens=4000, on_text=seen.append
    )
    assert completion.text == fenced("backend/models/task.py", APP.files["backend/models/task.py"])
    assert all("think" not in text for text in seen)
    assert visible_text("<think>still thinking") == ""


async def test_openai_compatible_servers_get_max_tokens(fake):
    fake.only_max_tokens = True
    client = openai_client(fake)
    completion = await client.complete(messages_for("backend/models/task.py"), max_tokens=20)
    body = fake.served[-1].body
    assert body["max_tokens"] == 20 and "max_completion_tokens" not in body
    assert completion.finish_reason == "length" and len(completion.text) <= 20 * 4


async def test_openai_compatible_default_is_one_stream(fake):
    assert openai_client(fake).settings.concurrency == 1
    assert openai_client(fake, concurrency=3).settings.concurrency == 3


async def test_a_server_that_breaks_off_parallel_streams_gets_one_at_a_time(fake):
    from tests.fake_groq import Latency

    fake.one_stream_at_a_time = True
    fake.latency = Latency(first_token_seconds=0.05, tokens_per_second=2000)
    client = openai_client(fake, concurrency=2)
    client.set_concurrency(2)
    results = {}

    async def one(path: str) -> None:
        results[path] = await client.complete(messages_for(path), max_tokens=4000)

    async with anyio.create_task_group() as group:
        group.start_soon(one, "backend/models/task.py")
        await anyio.sleep(0.1)
        group.start_soon(one, "backend/models/project.py")
    assert len(results) == 2
    assert any(s.fault == "broken_off" for s in fake.served)
    assert client.traits.one_stream_at_a_time and client.pacer.concurrency == 1
    later = openai_client(fake, concurrency=4)
    later.set_concurrency(4)
    assert later.pacer.concurrency == 1  # remembered for the daemon's life


async def test_a_server_breaking_every_stream_gets_an_error_that_says_so(fake):
    from server.llm import LLMUnavailableError

    fake.add_fault("drop", times=20)
    client = openai_client(fake, llmRetries=1)
    client.traits.serve_one_stream_at_a_time()
    with pytest.raises(LLMUnavailableError) as caught:
        await client.complete(messages_for("a"), max_tokens=100)
    assert "even with one request at a time" in caught.value.message
    assert "try again later" not in caught.value.message


def test_common_prefix_length():
    assert common_prefix_length("abc" * 5000, "abc" * 5000 + "d") == 15000
    assert common_prefix_length("a" * 9000 + "x", "a" * 9000 + "y") == 9000
    assert common_prefix_length("", "abc") == 0
