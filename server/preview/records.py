"""Where previews are remembered.

- `.stepforge/preview.json` in the workspace: its port pair (kept after a stop, so the project
  gets the same URLs next time) and, while it runs, what runs it. A preview belongs to its
  workspace: any later `stepforge preview status|stop|logs` finds it there.
- an index of running previews in the user's state folder ($XDG_STATE_HOME/stepforge): which
  ports are taken by other projects, and which local processes to reap when their owner died.
  A start reserves its pair there under a cross-process lock before it starts anything, so two
  daemons (or two sessions of one TCP daemon) starting previews at once never pick the same pair.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from server.preview.owner import is_alive
from server.preview.ports import choose_pair, port_is_free
from server.workspace.atomic import atomic_write
from server.workspace.layout import PREVIEW
from server.workspace.meta import MetaFiles

Role = Literal["frontend", "backend"]
ROLES: tuple[Role, Role] = ("frontend", "backend")
LogRole = Literal["frontend", "backend", "database"]  # whose log a line is (Postgres: database)
RuntimeName = Literal["docker", "local"]
DatabaseName = Literal["sqlite", "postgres"]


class PreviewRecord(BaseModel):
    workspace: str
    frontend_port: int
    backend_port: int
    runtime: RuntimeName | None = None
    database: DatabaseName = "sqlite"  # the app's database it runs (and last ran) with
    running: bool = False
    owner: str | None = None  # "pid:starttime" of the daemon that started it
    detached: bool = False
    started: float = 0.0
    containers: dict[str, str] = Field(default_factory=dict)  # role -> container id
    processes: dict[str, str] = Field(
        default_factory=dict
    )  # role -> "pid:starttime" of the group leader

    def stopped(self) -> PreviewRecord:
        """This preview, no longer running: only its ports are remembered."""
        return self.model_copy(
            update={"running": False, "containers": {}, "processes": {}, "owner": None}
        )

    @property
    def frontend_url(self) -> str:
        return f"http://127.0.0.1:{self.frontend_port}"

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.backend_port}"


def read_workspace_record(root: Path) -> PreviewRecord | None:
    """The workspace's `.stepforge/preview.json`, if it is readable and about this workspace (a
    file copied from another project names that project's servers: it is ignored)."""
    data = MetaFiles(root).read(PREVIEW)
    if data is None:
        return None
    try:
        record = PreviewRecord.model_validate_json(data)
    except (ValidationError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return record if record.workspace == str(root) else None


def write_workspace_record(root: Path, record: PreviewRecord) -> None:
    MetaFiles(root).write(PREVIEW, record.model_dump_json(indent=1))


def state_folder() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "stepforge"


@contextmanager
def machine_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a file under the state folder) across processes: one
    install into a volume or an environment at a time, whichever daemon asks."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class PreviewIndex:
    """Running previews of every workspace on this machine (blocking calls, flock-serialised)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or state_folder()
        self.path = self.folder / "previews.json"

    @contextmanager
    def _locked(self) -> Iterator[dict[str, PreviewRecord]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "previews.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                raw = json.loads(self.path.read_text()) if self.path.exists() else {}
            except json.JSONDecodeError:
                raw = {}
            records = {}
            for workspace, data in raw.items():
                try:
                    records[workspace] = PreviewRecord.model_validate(data)
                except ValidationError:
                    continue
            before = json.dumps(raw, sort_keys=True)
            yield records
            after = {w: r.model_dump(mode="json") for w, r in records.items()}
            if json.dumps(after, sort_keys=True) != before:
                atomic_write(self.path, json.dumps(after, indent=1))

    def put(self, record: PreviewRecord) -> None:
        with self._locked() as records:
            records[record.workspace] = record

    def remove(self, workspace: str) -> None:
        with self._locked() as records:
            records.pop(workspace, None)

    def all(self) -> list[PreviewRecord]:
        with self._locked() as records:
            return list(records.values())

    def reserve(
        self,
        record: PreviewRecord,
        remembered: tuple[int, int] | None,
        avoid: Collection[int] = (),
        is_free: Callable[[int], bool] = port_is_free,
    ) -> PreviewRecord:
        """`record` on a port pair no other preview holds (the remembered one if it can), put in
        the index: choosing and recording happen under one lock, so a start in another process
        sees this pair as taken. `avoid`: ports a failed attempt could not bind."""
        with self._locked() as records:
            for workspace, held in list(records.items()):
                if _abandoned(held):
                    del records[workspace]
            reserved = {
                port
                for held in records.values()
                if held.workspace != record.workspace
                for port in (held.frontend_port, held.backend_port)
            } | set(avoid)
            frontend, backend = choose_pair(remembered, reserved, is_free)
            reserved_record = record.model_copy(
                update={"frontend_port": frontend, "backend_port": backend}
            )
            records[record.workspace] = reserved_record
            return reserved_record

    def release(self, record: PreviewRecord) -> None:
        """Free the pair `record` reserved, unless a later start of its workspace holds the entry."""
        with self._locked() as records:
            held = records.get(record.workspace)
            if held is not None and (held.owner, held.started) == (record.owner, record.started):
                del records[record.workspace]


def _abandoned(record: PreviewRecord) -> bool:
    """A start whose daemon died before it recorded anything it started: nothing holds its pair."""
    return (
        not record.containers
        and not record.processes
        and record.owner is not None
        and not is_alive(record.owner)
    )


def now() -> float:
    return time.time()
