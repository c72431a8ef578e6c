"""What a plan's packages and a repository's requirements.in may hold before StepForge hands them
to a resolver on this machine: registry names and version ranges only."""

from __future__ import annotations

import pytest

from protocol.plan import Plan
from server.plan.packages import npm_problem, pypi_problem, requirements_problems
from server.plan.validation import semantic_problems
from server.template.packages import (
    no_wheel_message,
    unbuildable_packages,
    with_npm_packages,
    with_pypi_packages,
)

BASE = {
    "files": {"backend": ["backend/a.py"]},
    "implementation_order": [{"step": 1, "files": ["backend/a.py"]}],
}


@pytest.mark.parametrize(
    "spec",
    [
        "@ file:///etc/passwd",
        "@ https://example.com/x.whl",
        ">=1; --index-url http://evil/simple",
        ">=1\n--extra-index-url http://evil/simple",
        ">=1\r-e git+https://example.com/x.git",
        ">=1 --hash=sha256:00",
        "===file:///etc",
        '>=1; python_version > "3"',
        ">=1 # comment",
        ">=1\n",
        "=" * 300,
    ],
)
def test_a_pypi_range_cannot_carry_a_url_an_option_or_a_marker(spec):
    assert pypi_problem("fastapi", spec) is not None


@pytest.mark.parametrize("spec", ["", ">=0.0.16", ">=1,<2", "==1.*", "~=1.4", "!=1.2", ">=1.0rc1"])
def test_plain_pypi_ranges_pass(spec):
    assert pypi_problem("fastapi", spec) is None


@pytest.mark.parametrize(
    "name", ["fastapi\n", "x.whl", "pkg-1.0.tar.gz", "git+https://x/y", "./pkg", "-e", "a b"]
)
def test_a_pypi_name_is_a_project_name(name):
    assert pypi_problem(name, "") is not None


@pytest.mark.parametrize(
    "name, spec",
    [("react\n", "1"), ("react", "^1\n"), ("x", "file:../x"), ("x", "github:u/r"), ("x", "-x")],
)
def test_npm_names_and_ranges_are_checked_to_their_end(name, spec):
    assert npm_problem(name, spec) is not None


def test_plan_validation_reports_smuggled_ranges_as_plan_problems():
    plan = Plan.model_validate(
        {
            **BASE,
            "dependencies": {
                "pypi": {
                    "fastapi": "@ file:///tmp/evil",
                    "x": ">=1; --index-url http://127.0.0.1:9/simple",
                },
                "npm": {"react": "^19\n"},
            },
        }
    )
    problems = semantic_problems(plan)
    assert len(problems) == 3
    assert all(p.startswith("dependencies.") for p in problems)
    assert any("fastapi '@ file:///tmp/evil'" in p for p in problems)
    assert any("x '>=1; --index-url" in p for p in problems)


REFUSED = [
    "-r other.txt",
    "-c constraints.txt",
    "-e ./local",
    "--index-url http://127.0.0.1:9/simple",
    "--extra-index-url=http://127.0.0.1:9/simple",
    "  -i http://127.0.0.1:9/simple",
    "--find-links /tmp/wheels",
    "evil @ https://example.com/evil-1.0.tar.gz",
    "evil @ file:///tmp/evil",
    "git+https://example.com/evil.git",
    "./local-package",
    "/abs/path/pkg",
    "evil-1.0-py3-none-any.whl",
    "evil.tar.gz",
    "fastapi --hash=sha256:00",
    "fastapi#--index-url http://127.0.0.1:9/simple",
    "fastapi \\",
]


@pytest.mark.parametrize("line", REFUSED)
def test_requirements_in_refuses_options_and_direct_references(line):
    text = f"fastapi\n{line}\nuvicorn\n"
    problems = requirements_problems(text, "backend/requirements.in")
    assert len(problems) == 1
    assert problems[0].startswith("backend/requirements.in line 2 ")


def test_requirements_in_with_plain_requirements_comments_and_markers_passes():
    text = (
        "# the app's packages\n"
        "fastapi>=0.110  # web\n"
        "uvicorn[standard]\n"
        "\n"
        'tomli; python_version < "3.11"\n'
        "sqlmodel==0.0.*\n"
    )
    assert requirements_problems(text, "backend/requirements.in") == []


def test_a_line_break_python_knows_cannot_hide_an_option():
    for breaker in ("\r", "\x0b", "\x0c", "\x1c", "\u2028"):
        text = f"fastapi{breaker}--index-url http://127.0.0.1:9/simple\n"
        assert requirements_problems(text, "r.in"), repr(breaker)


def test_invalid_plan_packages_never_reach_the_manifests():
    assert with_pypi_packages("fastapi\n", {"evil": "@ file:///x"}) is None
    assert with_pypi_packages("fastapi\n", {"slugify": ">=8"}) == "fastapi\nslugify>=8\n"
    assert with_npm_packages('{"dependencies": {}}', {"evil": "git+https://x/y.git"}) is None


# What uv 0.13 prints when `--no-build` leaves a package without usable distributions.
UV_NO_BUILD = """error: No solution found when resolving dependencies
  cause: Because sf-marker-pkg==1.0 has no usable wheels and only sf-marker-pkg==1.0 is available, we can conclude that all versions of sf-marker-pkg cannot be used.
         And because you require sf-marker-pkg, we can conclude that your requirements are unsatisfiable.

hint: Wheels are required for `sf-marker-pkg` because building from source is disabled for all packages (i.e., with `--no-build`)
"""


def test_a_package_that_needs_a_build_is_named():
    assert unbuildable_packages(UV_NO_BUILD) == ["sf-marker-pkg"]
    assert unbuildable_packages("error: Failed to fetch: `https://x`") == []
    message = no_wheel_message(["sf-marker-pkg"])
    assert message.startswith("PyPI package sf-marker-pkg has no wheel for this platform")
    assert "does not build packages on your machine" in message


def test_naming_the_packages_is_linear_in_a_long_output():
    import time

    output = ("Wheels are required for `" + "x" * 1000) * 1000 + " has no usable wheels" * 10_000
    started = time.perf_counter()
    unbuildable_packages(output)
    assert time.perf_counter() - started < 0.5
