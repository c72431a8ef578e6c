"""The watcher sees the three ways editors save, debounces them, and falls back to polling."""

import errno
import os
from pathlib import Path

import anyio
import pytest
from watchdog.observers import Observer

from server.workspace import watcher as watcher_module
from server.workspace.watcher import WorkspaceWatcher


def save_in_place(path: Path) -> None:
    with open(path, "r+") as handle:
        handle.seek(0)
        handle.write("edited in place\n")
        handle.truncate()


def save_by_rename(path: Path) -> None:  # write a temporary file, rename it over the original
    temporary = path.with_name(f".{path.name}.tmp1234")
    temporary.write_text("edited, then renamed over\n")
    os.replace(temporary, path)


def save_with_backup(path: Path) -> None:  # move the original to a backup, write a new file
    os.rename(path, path.with_name(path.name + "~"))
    path.write_text("edited with a backup\n")


async def watch_while(tmp_path: Path, action, *, quiet: float = 0.1) -> set[str]:
    batches: list[set[str]] = []
    arrived = anyio.Event()

    async def on_changes(paths: set[str]) -> None:
        batches.append(paths)
        arrived.set()

    watcher = WorkspaceWatcher(tmp_path, on_changes, quiet=quiet)
    watcher.watch({("src", True), (".stepforge", False)})
    async with anyio.create_task_group() as group:
        group.start_soon(watcher.run)
        await anyio.sleep(0.2)
        await anyio.to_thread.run_sync(action)
        with anyio.fail_after(5):
            await arrived.wait()
        await anyio.sleep(quiet * 3)
        group.cancel_scope.cancel()
    return set().union(*batches)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "src" / "pages").mkdir(parents=True)
    target = tmp_path / "src" / "pages" / "Home.tsx"
    target.write_text("original\n")
    return target


@pytest.mark.parametrize("save", [save_in_place, save_by_rename, save_with_backup])
async def test_every_save_style_reports_the_file(tmp_path, source, save):
    touched = await watch_while(tmp_path, lambda: save(source))
    assert "src/pages/Home.tsx" in touched


async def test_a_burst_of_events_is_one_batch(tmp_path, source):
    batches = []

    async def on_changes(paths):
        batches.append(paths)

    watcher = WorkspaceWatcher(tmp_path, on_changes, quiet=0.6)
    watcher.watch({("src", True)})
    async with anyio.create_task_group() as group:
        group.start_soon(watcher.run)
        await anyio.sleep(0.2)
        for i in range(10):
            source.write_text(f"keystroke {i}\n")
            await anyio.sleep(0.02)
        await anyio.sleep(1.5)
        group.cancel_scope.cancel()
    assert len(batches) == 1


async def test_ignored_folders_and_other_stepforge_files(tmp_path, source):
    (tmp_path / "src" / "node_modules").mkdir()
    (tmp_path / ".stepforge").mkdir()

    def touch_all():
        (tmp_path / "src" / "node_modules" / "x.js").write_text("x")
        (tmp_path / ".stepforge" / "state.json").write_text("{}")
        (tmp_path / ".stepforge" / "plan.json").write_text("{}")

    touched = await watch_while(tmp_path, touch_all)
    assert touched == {".stepforge/plan.json"}


async def test_falls_back_to_polling_when_inotify_runs_out(tmp_path, source, monkeypatch):
    class ExhaustedInotify(Observer):  # what the kernel says when max_user_watches is reached
        def start(self):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watcher_module, "Observer", ExhaustedInotify)
    touched = await watch_while(tmp_path, lambda: save_in_place(source))
    assert "src/pages/Home.tsx" in touched
