"""At first generation, the frontend files that call the API get the backend's API as TypeScript
types in their prompt: the run writes the backend first, refreshes the types in the sandbox once
its last file is written, then asks for those files (not only after a check)."""

from __future__ import annotations

import pytest

from server.checks.api_types import TYPES_FILE
from tests.conftest import daemon_env, require_docker, run_cli
from tests.fake_groq import AppResponder, FakeGroq, ScriptedApp

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(900)]
TYPES_SECTION = "The backend's API as TypeScript types"


def test_the_services_file_is_asked_with_the_types_of_the_backend_just_written(workspace):
    require_docker()
    with FakeGroq(AppResponder(ScriptedApp.fixture())) as fake:
        env = daemon_env(fake)
        planned = run_cli("plan", "a task manager", "--workspace", str(workspace), env=env)
        assert planned.returncode == 0, planned.stderr
        done = run_cli(
            "generate", "--no-repair", "--workspace", str(workspace), env=env, timeout=600
        )
        # (Whether the app then checks clean is the checks' tests' to say: here, what was asked.)
        assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
        assert "Generated 25 files, 0 failed" in done.stdout, done.stdout[-2000:]
        served = {s.file_path: s for s in fake.served if s.file_path}
    services = served["frontend/src/services/tasks.ts"].prompt
    assert TYPES_SECTION in services
    # The types of the backend's models, as openapi-typescript wrote them from its schema.
    assert 'import type { components } from "@/api/schema"' in services
    assert "TaskCreate: {" in services and "title: string;" in services
    # A file that does not call the API, and the backend's own files, are asked without them.
    assert TYPES_SECTION not in served["frontend/src/types/task.ts"].prompt
    assert TYPES_SECTION not in served["backend/routers/tasks.py"].prompt
    # Asked after the last backend file was written (it waited for the types).
    last_backend = max(s.finished for p, s in served.items() if p.startswith("backend/"))
    assert served["frontend/src/services/tasks.ts"].started > last_backend
    assert (workspace / TYPES_FILE).is_file()
