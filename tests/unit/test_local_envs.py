"""Which local environments StepForge trusts: the record outside the workspace, against the
environment's folder, its id file and its entry points."""

import shutil

from server.preview import local_envs

ENTRY = [".bin/vite"]


def installed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    root = tmp_path / "project"
    env = root / "frontend/node_modules"
    (env / ".bin").mkdir(parents=True)
    (env / ".bin/vite").write_text("#!/bin/sh\n")
    local_envs.trust(root, "frontend", env, "key", ENTRY)
    return root, env


def test_what_a_server_makes_in_its_environment_keeps_it_trusted(tmp_path, monkeypatch):
    """Vite makes its cache and, at every start, its bundled config in node_modules: the folder's
    mtime changes each time, and a start must not make the next one reinstall (13 s)."""
    root, env = installed(tmp_path, monkeypatch)
    (env / ".vite/deps").mkdir(parents=True)
    (env / ".vite-temp").mkdir()
    (env / ".vite-temp/vite.config.ts.timestamp-1.mjs").write_text("export default {}\n")
    assert local_envs.is_trusted(root, "frontend", env, "key", ENTRY)


def test_a_replaced_folder_or_entry_point_is_not_trusted(tmp_path, monkeypatch):
    root, env = installed(tmp_path, monkeypatch)
    (env / ".bin/vite").write_text("#!/bin/sh\necho swapped\n")  # a pull writing the entry point
    assert not local_envs.is_trusted(root, "frontend", env, "key", ENTRY)
    local_envs.trust(root, "frontend", env, "key", ENTRY)
    copy = tmp_path / "copy"
    shutil.copytree(env, copy)  # the same files, id file included, in a new folder
    shutil.rmtree(env)
    copy.rename(env)
    assert not local_envs.is_trusted(root, "frontend", env, "key", ENTRY)
    assert not local_envs.is_trusted(root, "frontend", env, "another key", ENTRY)
