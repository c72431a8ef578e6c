"""The image build's Debian mirror: DEBIAN_MIRROR, else the one this machine's apt sources use
for bookworm (deb822 `.sources` first, then one-line `sources.list` entries), else deb.debian.org.
The real script is run with `--print-mirror` against temporary apt folders; nothing is built."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "server/preview/images/build-images.sh"
DEFAULT = "http://deb.debian.org/debian"
COMPANY = "https://mirror.example.internal/debian"


def chosen(apt: Path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "DEBIAN_MIRROR"}
    done = subprocess.run(
        ["bash", str(SCRIPT), "--print-mirror", str(apt)],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def apt(tmp_path: Path) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_sources_the_first_enabled_deb_paragraph_for_bookworm(apt):
    (apt / "sources.list.d/debian.sources").write_text(
        "Types: deb\n"
        "URIs: http://disabled.example/debian\n"
        "Suites: bookworm\n"
        "Components: main\n"
        "Enabled: no\n"
        "\n"
        "Types: deb-src\n"
        "URIs: http://sources-only.example/debian\n"
        "Suites: bookworm\n"
        "\n"
        "# the security archive is not the mirror of bookworm's packages\n"
        "Types: deb\n"
        "URIs: http://security.example/debian-security\n"
        "Suites: bookworm-security\n"
        "\n"
        "Types: deb\n"
        "# a commented line inside the paragraph\n"
        f"URIs: {COMPANY}\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    assert chosen(apt) == COMPANY


def test_one_line_sources_with_options_and_comments(apt):
    (apt / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://sources-only.example/debian bookworm main\n"
        "deb http://other-suite.example/debian bullseye main\n"
        f"deb [arch=amd64 signed-by=/usr/share/keyrings/debian.gpg] {COMPANY} bookworm main\n"
    )
    assert chosen(apt) == COMPANY
    (apt / "sources.list").write_text(f"deb [ arch=amd64 ] {COMPANY}/spaced bookworm main\n")
    assert chosen(apt) == f"{COMPANY}/spaced"


def test_deb822_comes_before_one_line_entries_and_list_files_count_too(apt):
    (apt / "sources.list.d/extra.list").write_text(f"deb {COMPANY}/list bookworm main\n")
    assert chosen(apt) == f"{COMPANY}/list"
    (apt / "sources.list.d/debian.sources").write_text(
        f"Types: deb\nURIs: {COMPANY}/deb822\nSuites: bookworm\nComponents: main\n"
    )
    assert chosen(apt) == f"{COMPANY}/deb822"


def test_no_bookworm_source_falls_back_to_deb_debian_org(apt):
    assert chosen(apt) == DEFAULT  # no sources at all
    (apt / "sources.list").write_text("deb http://archive.ubuntu.com/ubuntu jammy main\n")
    assert chosen(apt) == DEFAULT


def test_debian_mirror_wins_over_the_machine(apt):
    (apt / "sources.list").write_text(f"deb {COMPANY} bookworm main\n")
    assert chosen(apt, DEBIAN_MIRROR="http://given.example/debian") == "http://given.example/debian"
