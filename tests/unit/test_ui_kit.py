"""The template's component kit as the checks and the file prompt see it: `@/` imports resolve to
`frontend/src`, the kit's files are checked like any template file, and the prompt names exactly
the kit's exports."""

from __future__ import annotations

import json

from protocol.models import Severity
from protocol.plan import Plan
from server.checks.imports import check_imports
from server.checks.pictures import blank_problem, picture_name
from server.checks.project import Project, is_local_import
from server.checks.syntax import check_syntax
from server.plan.packages import npm_package_of, requirement_name
from server.prompts.ui_kit import KIT_DIR, kit_summary, template_ui_rules, ui_rules
from server.source.typescript import analyze_ts
from server.template import template_bytes, template_paths
from tests.fake_groq import ScriptedApp


def template_files() -> dict[str, str]:
    return {path: template_bytes(path).decode() for path in template_paths()}


def template_project(extra: dict[str, str] | None = None) -> Project:
    files = {**template_files(), **(extra or {})}
    manifest = json.loads(files["frontend/package.json"])
    requirements = {
        name
        for line in files["backend/requirements.txt"].splitlines()
        if (name := requirement_name(line))
    }
    return Project(
        None, files, set(manifest["dependencies"]) | set(manifest["devDependencies"]), requirements
    )


def test_the_alias_names_the_frontend_source_folder():
    project = template_project()
    importer = "frontend/src/pages/Deep/Page.tsx"
    assert project.resolve_ts(importer, "@/components/ui/button") == (
        "frontend/src/components/ui/button.tsx"
    )
    assert project.resolve_ts(importer, "@/lib/utils") == "frontend/src/lib/utils.ts"
    assert project.resolve_ts(importer, "@/config") == "frontend/src/config.ts"
    assert project.resolve_ts(importer, "@/components/ui/nope") is None
    assert is_local_import("@/lib/utils") and not is_local_import("@radix-ui/react-slot")
    assert npm_package_of("@/lib/utils") is None  # not a scoped package "@/lib"
    assert npm_package_of("@radix-ui/react-dialog") == "@radix-ui/react-dialog"


def test_the_template_with_its_kit_has_no_static_problems():
    project = template_project()
    assert [p for p in template_paths() if p.startswith(KIT_DIR)], "the kit is missing"
    assert check_syntax(project) + check_imports(project) == []


def test_kit_imports_are_checked_like_relative_ones():
    page = (
        'import { Button, Buton } from "@/components/ui/button";\n'
        'import Card from "@/components/ui/card";\n'
        'import { Gauge } from "@/components/ui/gauge";\n'
        "export default function Page() { return <Button>Hi</Button>; }\n"
    )
    project = template_project({"frontend/src/pages/Page.tsx": page})
    found = {(p.code, p.line) for p in check_imports(project, ["frontend/src/pages/Page.tsx"])}
    assert found == {
        ("import-missing-export", 1),  # Buton
        ("import-no-default", 2),  # card.tsx has named exports only
        ("import-unresolved", 3),  # no gauge.tsx: not reported as a missing package
    }


def test_the_scripted_app_uses_the_kit_without_problems():
    app = ScriptedApp.fixture()
    uses_kit = [p for p, text in app.files.items() if '"@/components/ui/' in text]
    assert len(uses_kit) >= 6
    project = template_project(app.files)
    project.plan = Plan.model_validate(app.plan)
    assert check_imports(project) == []


def test_the_prompt_names_every_kit_export_and_nothing_else():
    files = template_files()
    rules = template_ui_rules()
    for path in (p for p in files if p.startswith(KIT_DIR)):
        specifier = "@/" + path.removeprefix("frontend/src/").rsplit(".", 1)[0]
        line = next(line for line in rules.splitlines() if f"`{specifier}`" in line)
        listed = line.split(": ", 1)[1].split(" -- ", 1)[0].split(", ")
        assert sorted(listed) == sorted(analyze_ts(path, files[path]).exports), path
    assert "Tailwind" in rules and "recharts" in rules and "cn()" in rules


def test_the_prompt_follows_the_files():
    files = {
        "frontend/src/components/ui/meter.tsx": (
            "// Meter: value 0..100.\nexport function Meter() { return null; }\n"
        ),
    }
    assert kit_summary(files) == "  - `@/components/ui/meter`: Meter -- value 0..100."
    assert "`@/components/ui/meter`: Meter" in ui_rules(files)
    assert ui_rules({"frontend/src/App.tsx": "export default 1;\n"}) == ""  # no kit, no rules


def test_pictures_are_named_after_their_routes_and_a_blank_page_is_a_warning():
    assert picture_name("/") == "index.png"
    assert picture_name("/tasks") == "tasks.png"
    assert picture_name("/tasks/:id/edit") == "tasks_id_edit.png"
    assert picture_name("/../../etc") == "etc.png"  # a name, never a path
    warning = blank_problem("/tasks", "frontend/src/pages/Tasks.tsx")
    assert (warning.path, warning.code, warning.severity) == (
        "frontend/src/pages/Tasks.tsx",
        "page-blank",
        Severity.WARNING,
    )
