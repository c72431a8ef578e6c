"""Failures said in the user's terms: what happened to an LLM answer that did not arrive, and the
settings named the way the user sets them."""

from __future__ import annotations

import socket
import time

import pytest

from server.config import load_settings
from server.llm import LLMClient, LLMUnavailableError
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp

MESSAGES = [{"role": "user", "content": "Write backend/models/task.py"}]


@pytest.fixture
def fake():
    with FakeGroq(AppResponder(ScriptedApp.fixture())) as server:
        yield server


def client_for(fake: FakeGroq | None, environ: dict[str, str] | None = None, **options):
    settings, warnings = load_settings(
        {"retryBackoff": 0.05, **options}, environ if environ is not None else fake.env()
    )
    assert not warnings
    return LLMClient(settings)


async def test_a_slow_start_is_not_a_stall(fake):
    """A server that reads the prompt for longer than the stall timeout before its first token
    (llama.cpp on a busy CPU) is slow, not broken: one request, one answer."""
    fake.latency.first_token_seconds = 2.5
    completion = await client_for(fake, stallTimeout=1).complete(MESSAGES, max_tokens=4000)
    assert completion.finish_reason == "stop" and completion.text
    assert len(fake.served) == 1


async def test_the_answer_start_is_bounded_too(fake):
    fake.latency.first_token_seconds = 3
    with pytest.raises(LLMUnavailableError) as caught:
        await client_for(fake, stallTimeout=1, firstTokenTimeout=1, llmRetries=1).complete(
            MESSAGES, max_tokens=4000
        )
    assert "no data for 1 s while waiting for the answer to begin" in caught.value.message


async def test_a_stall_says_how_long_it_waited(fake):
    fake.add_fault("stall", stall_seconds=3, times=10)
    with pytest.raises(LLMUnavailableError) as caught:
        await client_for(fake, stallTimeout=1, llmRetries=1).complete(MESSAGES, max_tokens=4000)
    assert "broke off its answer 2 times" in caught.value.message
    assert (
        "(last: no data for 1 s while waiting for the next part of the answer)"
        in caught.value.message
    )


async def test_a_dropped_stream_says_the_connection_closed(fake):
    fake.add_fault("drop", times=10)
    with pytest.raises(LLMUnavailableError) as caught:
        await client_for(fake, llmRetries=1).complete(MESSAGES, max_tokens=4000)
    message = caught.value.message
    assert "(last: )" not in message
    assert "(last: the server closed the connection" in message or "(last: the conn" in message


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("environ", "setting"),
    [
        ({"GROQ_API_KEY": "gsk-test", "GROQ_BASE_URL": "http://127.0.0.1:{port}"}, "GROQ_BASE_URL"),
        (
            {
                "STEPFORGE_PROVIDER": "openai-compatible",
                "STEPFORGE_BASE_URL": "http://127.0.0.1:{port}/v1",
            },
            "STEPFORGE_BASE_URL",
        ),
    ],
)
async def test_connection_refused_fails_fast_and_names_the_url_setting(environ, setting):
    port = closed_port()
    environ = {key: value.format(port=port) for key, value in environ.items()}
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError) as caught:
        await client_for(None, environ).complete(MESSAGES, max_tokens=100)
    assert time.monotonic() - started < 3  # not five retries with backoff
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "connection refused" in caught.value.message and setting in caught.value.message


# --- settings and params named as the user sets them ---------------------------------------------


def test_an_invalid_environment_value_names_its_variable():
    _, warnings = load_settings({}, {"STEPFORGE_CONCURRENCY": "abc"})
    assert warnings and warnings[0].startswith("Invalid STEPFORGE_CONCURRENCY='abc'")
    _, warnings = load_settings({"concurrency": "abc"}, {})
    assert warnings[0].startswith("Invalid StepForge option concurrency='abc'")


def test_settings_are_named_for_the_client():
    cli, _ = load_settings({"clientKind": "cli", "provider": "openai-compatible"}, {})
    assert cli.name_of("base_url") == "STEPFORGE_BASE_URL"
    editor, _ = load_settings({}, {})
    assert editor.name_of("api_key") == "the StepForge setting apiKey (or GROQ_API_KEY)"


def test_params_are_named_as_flags_on_the_command_line():
    from server.lsp import param_name

    assert param_name(("repairRounds",), "cli") == "--repair-rounds"
    assert param_name(("content",), "cli") == "--content-file"
    assert param_name(("repairRounds",), "editor") == "repairRounds"


@pytest.mark.parametrize("request_text", ["", " ", "\n\t  \n"])
def test_a_blank_request_is_refused_with_a_sentence(request_text):
    from pydantic import ValidationError

    from protocol.models import ChangeParams, PlanParams

    for model in (PlanParams, ChangeParams):
        with pytest.raises(ValidationError) as caught:
            model.model_validate({"request": request_text})
        assert caught.value.errors()[0]["msg"] == "the request is empty: say what you want"


def test_a_conflict_shows_both_sides_against_the_base():
    from server.cli_conflicts import conflict_text

    text = conflict_text(
        {
            "conflictId": "c1",
            "path": "a.py",
            "base": "x = 1\ny = 2\n",
            "mine": "x = 10\ny = 2\n",
            "generated": "x = 1\ny = 20\n",
        }
    )
    mine, _, proposal = text.partition("StepForge's proposal")
    assert "-x = 1\n+x = 10\n" in mine and "y = 20" not in mine
    assert "-y = 2\n+y = 20\n" in proposal and "x = 10" not in proposal
    assert "stepforge resolve c1 --choice" in text


async def test_the_last_progress_word_before_a_quiet_step_is_never_dropped():
    """ "24/24 written" then at once "Checking the generated project": the throttle holds the
    second back, then sends it, so a long check never sits under the previous word."""
    import asyncio
    from types import SimpleNamespace

    from server.lsp import LspProgress

    sent: list[str] = []
    work_done = SimpleNamespace(
        report=lambda token, value: sent.append(value.message), tokens={}, end=lambda *a: None
    )
    progress = LspProgress(SimpleNamespace(work_done_progress=work_done), "t")  # type: ignore[arg-type]
    progress.report("24/24 written", 100)
    progress.report("Checking the generated project", 92)
    assert sent == ["24/24 written"]
    await asyncio.sleep(0.2)
    assert sent == ["24/24 written", "Checking the generated project"]
