"""The generated page's title is the project's name, and the template has an SVG favicon."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from server.template import template_bytes, template_paths
from server.template.page_title import DEFAULT_TITLE, INDEX_HTML, display_name, titled_index_html

FAVICON = "frontend/public/favicon.svg"


def test_the_plan_name_reads_as_a_title():
    assert display_name("task-manager") == "Task Manager"
    assert display_name("recipe_box 2") == "Recipe Box 2"
    assert display_name("crm") == "Crm"
    assert display_name(None) == display_name("") == display_name("--") == DEFAULT_TITLE


def test_the_title_replaces_the_template_s_and_is_escaped():
    page = template_bytes(INDEX_HTML).decode()
    assert f"<title>{DEFAULT_TITLE}</title>" in page
    titled = titled_index_html(page, "task-manager")
    assert "<title>Task Manager</title>" in titled and DEFAULT_TITLE not in titled
    assert titled.replace("<title>Task Manager</title>", "") == page.replace(
        f"<title>{DEFAULT_TITLE}</title>", ""
    )  # nothing else changes
    assert "<title>A&lt;b&gt; &amp; C</title>" in titled_index_html(page, "a<b> & c")


def test_the_template_has_an_svg_favicon_that_index_html_links():
    assert FAVICON in template_paths()
    svg = ElementTree.fromstring(template_bytes(FAVICON))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox")
    page = template_bytes(INDEX_HTML).decode()
    # Vite serves public/ at the root, in the dev server and in the build alike.
    assert '<link rel="icon" type="image/svg+xml" href="/favicon.svg" />' in page
