"""Role folders as host paths (server.workspace.roles): a linked, misplaced or non-folder role is
refused with an error naming it, wherever StepForge mounts, hashes, walks or reads it; links inside
a role folder are never followed by StepForge's own reading. Real links on a real file system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from protocol.errors import ErrorCode
from server.checks.project import load_project
from server.preview import sandbox
from server.preview.launch import BACKEND_LOCKS, dependency_key
from server.workspace.roles import (
    RoleFolderError,
    existing_role_folder,
    read_role_file,
    role_folder,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.py").write_text("TOKEN = 'outside'\n")
    (folder / "requirements.txt").write_text("outside-package\n")
    return folder


def test_a_real_role_folder_is_its_real_path(root):
    (root / "backend").mkdir()
    assert role_folder(root, "backend") == root.resolve() / "backend"
    assert existing_role_folder(root, "frontend") is None  # absent is not an error here


def test_a_missing_role_folder_cannot_be_mounted(root):
    with pytest.raises(RoleFolderError, match="has no frontend/ folder"):
        role_folder(root, "frontend")


@pytest.mark.parametrize("target", [".", "/", "../outside", ".git"])
def test_a_linked_role_folder_is_refused_naming_it_and_its_target(root, outside, target):
    (root / ".git").mkdir()
    os.symlink(target, root / "backend")
    with pytest.raises(RoleFolderError) as raised:
        existing_role_folder(root, "backend")
    assert raised.value.code == ErrorCode.PATH_OUTSIDE_WORKSPACE
    assert raised.value.message.startswith(f"backend is a symbolic link (to {target})")
    assert "replace it with a real folder" in raised.value.message


def test_a_dangling_link_and_a_file_are_refused_too(root):
    os.symlink("nowhere", root / "frontend")
    (root / "backend").write_text("not a folder")
    with pytest.raises(RoleFolderError, match="frontend is a symbolic link"):
        existing_role_folder(root, "frontend")
    with pytest.raises(RoleFolderError, match=r"backend in .* is not a folder"):
        existing_role_folder(root, "backend")


def test_the_sandbox_never_mounts_a_linked_role_folder(root):
    os.symlink(".", root / "backend")
    with pytest.raises(RoleFolderError, match="backend is a symbolic link"):
        sandbox.run_options(root, "backend", "volume", [], {})


def test_the_sandbox_mounts_the_checked_real_path_and_no_network_by_default(root, tmp_path):
    (root / "frontend").mkdir()
    via_link = tmp_path / "via-link"
    os.symlink(root, via_link)  # the workspace reached through a link of the user's: fine
    options = sandbox.run_options(via_link, "frontend", "volume", [], {})
    assert str(root.resolve() / "frontend") in options["volumes"]
    assert options["network_mode"] == sandbox.NO_NETWORK
    joined = sandbox.run_options(root, "frontend", "v", [], {}, network="stepforge-preview-x")
    assert joined["network_mode"] == "stepforge-preview-x"


def test_the_dependency_key_refuses_a_linked_role_folder_and_ignores_a_linked_lock(root, outside):
    os.symlink(outside, root / "backend")
    with pytest.raises(RoleFolderError):
        dependency_key(root, BACKEND_LOCKS)
    os.unlink(root / "backend")
    (root / "backend").mkdir()
    os.symlink(outside / "requirements.txt", root / "backend" / "requirements.txt")
    assert dependency_key(root, BACKEND_LOCKS) == "none"  # the link is not read


def test_reading_a_role_file_follows_no_link_on_the_way(root, outside):
    backend = root / "backend"
    backend.mkdir()
    os.symlink(outside, backend / "routers")
    os.symlink(outside / "secret.py", backend / "secret.py")
    os.mkfifo(backend / "pipe.py")  # would block a plain read forever
    (backend / "main.py").write_text("app = 1\n")
    assert read_role_file(root, "backend/routers/secret.py") is None
    assert read_role_file(root, "backend/secret.py") is None
    assert read_role_file(root, "backend/pipe.py") is None
    assert read_role_file(root, "backend/main.py") == b"app = 1\n"
    assert read_role_file(root, "backend/main.py", max_bytes=3) is None
    with pytest.raises(ValueError):
        read_role_file(root, "backend/../outside/secret.py")


def test_the_checks_walk_refuses_a_linked_role_folder(root):
    (root / "backend").mkdir()
    os.symlink("/", root / "frontend")
    with pytest.raises(RoleFolderError, match="frontend is a symbolic link \\(to /\\)"):
        load_project(root, None)


def test_the_checks_walk_reads_nothing_through_links_inside(root, outside):
    backend = root / "backend"
    (backend / "models").mkdir(parents=True)
    (backend / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    (backend / "models" / "task.py").write_text("class Task: ...\n")
    (backend / "requirements.txt").symlink_to(outside / "requirements.txt")
    os.symlink(outside, backend / "routers")
    os.symlink(outside / "secret.py", backend / "linked.py")
    project = load_project(root, None)
    assert set(project.files) == {"backend/main.py", "backend/models/task.py"}
    assert "outside-package" not in project.python_packages


def test_writing_reading_or_hashing_a_planned_file_refuses_a_linked_role_folder(root):
    from server.workspace.paths import safe_join

    (root / "frontend").mkdir()
    os.symlink(".", root / "backend")
    assert safe_join(root, "frontend/src/App.tsx") == root / "frontend/src/App.tsx"
    with pytest.raises(RoleFolderError, match=r"backend is a symbolic link \(to \.\)"):
        safe_join(root, "backend/main.py")  # would land in the workspace's own main.py
