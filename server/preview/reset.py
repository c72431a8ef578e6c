"""`stepforge/preview/resetData`: empty the app's database after keeping a copy of it.

A running preview is stopped first (a live SQLite connection would keep writing to the removed
file; a running Postgres would be copied mid-write) and started again afterwards, so the app
creates its tables anew and seeds them once. Postgres (docker runtime): its volume is copied while
the server is stopped, then emptied (`server.preview.postgres.reset_volume`); a Postgres the user
runs (local runtime, DATABASE_URL) is never touched.
"""

from __future__ import annotations

from pathlib import Path

import anyio

from protocol.models import PreviewResetDataParams, PreviewResetDataResult, PreviewStartParams
from server.preview import database, postgres
from server.preview.docker_runtime import DockerRuntime
from server.preview.records import RuntimeName, read_workspace_record
from server.preview.service import PreviewError, PreviewService
from server.progress import Progress


async def reset_data(
    previews: PreviewService, root: Path, params: PreviewResetDataParams, progress: Progress
) -> PreviewResetDataResult:
    record = await anyio.to_thread.run_sync(read_workspace_record, root)
    runtime: RuntimeName = (
        params.runtime
        or (record.runtime if record else None)
        or ("local" if previews.settings.preview_runtime == "local" else "docker")
    )
    database_name = previews.database_for(None, record)
    data = database.describe(root, runtime, database_name, previews.settings.database_url_value())
    if database_name == "postgres" and runtime == "local":
        raise PreviewError(
            "reset-data does not touch a Postgres you run (DATABASE_URL): empty it yourself "
            "(after a pg_dump), or reset the docker runtime's (--runtime docker)."
        )
    was_running = record is not None and record.running and record.runtime == runtime
    if was_running:
        progress.report("Stopping the preview", 10)
        await previews.stop(root)
    progress.report(f"Keeping a copy of the data in {data.location}", 40)
    backup: str | None
    if runtime == "docker":
        docker_runtime = previews.runtimes["docker"]
        assert isinstance(docker_runtime, DockerRuntime)
        reason = await anyio.to_thread.run_sync(docker_runtime.unavailable)
        if reason:
            raise PreviewError(f"The data in {data.location} cannot be reset: {reason}.")
        if database_name == "postgres":
            backup = await anyio.to_thread.run_sync(
                postgres.reset_volume, docker_runtime.client(), root, docker_runtime.postgres_image
            )
        else:
            backup = await anyio.to_thread.run_sync(
                database.reset_volume,
                docker_runtime.client(),
                root,
                docker_runtime.images["backend"],
            )
    else:
        copied = await anyio.to_thread.run_sync(database.reset_folder, root)
        backup = str(copied) if copied is not None else None
    restarted = False
    if was_running:
        assert record is not None
        progress.report("Starting the preview again", 70)
        await previews.start(
            root,
            PreviewStartParams(runtime=runtime, database=database_name, detached=record.detached),
            progress,
        )
        restarted = True
    if backup is None:
        message = f"There was no data to reset in {data.location}."
    else:
        message = f"Emptied the app's data in {data.location}; a copy is in {backup}."
    if restarted:
        message += " The preview was restarted with an empty database."
    return PreviewResetDataResult(
        reset=backup is not None, backup=backup, restarted=restarted, data=data, message=message
    )
