"""A generated app's page is titled with the project's name from the plan (laid out by the real
daemon's `plan`), and carries the template's favicon."""

from __future__ import annotations

from pathlib import Path


def test_the_generated_page_is_titled_with_the_project_name(generated_once: Path):
    page = (generated_once / "frontend/index.html").read_text()
    assert "<title>Task Manager</title>" in page and "StepForge app" not in page
    assert 'href="/favicon.svg"' in page
    assert (generated_once / "frontend/public/favicon.svg").read_text().lstrip().startswith("<svg")
