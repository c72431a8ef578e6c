"""Package names and version ranges a plan may ask for (pure).

A plan's `dependencies` are LLM output that ends up in package.json and requirements.in, so only
registry packages with plain version ranges are accepted: no URLs, git or file specs, no tags that
move, nothing a manifest would read as an instruction. The same rules hold for what the lock step
hands to the resolver from `backend/requirements.in` (a repository's file): plain requirements
only, no option lines (`-r`, `-e`, `--index-url`, ...) and no direct references (`pkg @ URL`, paths).
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

# npm's rules for new package names: lower case, URL-safe, an optional @scope/.
_NPM_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
# A semver range: versions, operators, wildcards, spaces and || (no ':' or '/', so no URL/git/file).
_NPM_RANGE = re.compile(r"^[0-9A-Za-z.^~<>=*| -]*$")
_PYPI_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
# What a PEP 440 specifier set is written with: no '@', ':', '/', ';', '#', quotes or newlines, so
# no URL, path, marker, comment or option can ride along on a version range.
_PYPI_RANGE = re.compile(r"^[0-9A-Za-z.*!+<>=~, -]*$")
# Names that uv and pip read as a file to install, not as a project on the index.
ARCHIVE_SUFFIXES = (
    ".whl",
    ".zip",
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
)
MAX_NAME = 214
MAX_RANGE = 200


def npm_problem(name: str, spec: str) -> str | None:
    if len(name) > MAX_NAME or not _NPM_NAME.fullmatch(name):
        return f"{name!r} is not an npm package name"
    if len(spec) > MAX_RANGE or not _NPM_RANGE.fullmatch(spec) or spec.strip().startswith("-"):
        return f'{name}@{spec!r} is not a version range (use e.g. "^2.12.0")'
    return None


def pypi_problem(name: str, spec: str) -> str | None:
    if (
        len(name) > MAX_NAME
        or not _PYPI_NAME.fullmatch(name)
        or name.lower().endswith(ARCHIVE_SUFFIXES)
    ):
        return f"{name!r} is not a PyPI project name"
    # `===` compares any string (`===file:///x`): a plan has no use for it.
    if len(spec) > MAX_RANGE or not _PYPI_RANGE.fullmatch(spec) or "===" in spec:
        return f'{name} {spec!r} is not a version specifier (use e.g. ">=0.0.16")'
    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        return f'{name} {spec!r} is not a version specifier (use e.g. ">=0.0.16")'
    return None


def _without_comment(line: str) -> str:
    """A requirements line without its comment: `#` at the start or after whitespace, as pip and
    uv read it (`pkg @ https://x/y.whl#sha256=...` keeps its fragment)."""
    for index, char in enumerate(line):
        if char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def requirements_problems(text: str, path: str) -> list[str]:
    """Why StepForge will not hand `text` (a requirements.in) to the resolver: an option line
    (`-r`, `-c`, `-e`, `--index-url`, ... : they load other files or switch indexes), a direct
    reference (`pkg @ https://...`, `git+...`, a path or an archive: code from anywhere), or a line
    that is not a plain requirement. Empty: every line is a registry project with a range."""
    problems = []
    # splitlines() splits on every line break Python knows, more than the resolvers do: a line
    # break they would not see cannot hide an option from this check.
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _without_comment(raw).strip()
        if not line:
            continue
        shown = f"{path} line {number} ({line[:120]!r})"
        if line.startswith("-"):
            problems.append(
                f"{shown} is an option line: StepForge resolves only packages named in the file "
                "against your configured index; remove the line"
            )
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            problems.append(
                f"{shown} is not a plain requirement (a project name, optional extras, a version "
                'range and markers, e.g. "httpx>=0.27"): URLs, git and paths are not accepted'
            )
            continue
        if requirement.url or requirement.name.lower().endswith(ARCHIVE_SUFFIXES):
            problems.append(
                f"{shown} is a direct reference: StepForge installs packages from the index "
                "only; name the project and a version range instead"
            )
    return problems


def npm_package_of(specifier: str) -> str | None:
    """The package a bare import names (`react-dom/client` -> `react-dom`, `@a/b/c` -> `@a/b`);
    None for relative, absolute, aliased (`@/x`, the frontend's src) and virtual imports."""
    if specifier.startswith((".", "/", "@/", "\0", "virtual:")) or ":" in specifier:
        return None
    parts = specifier.split("/")
    if specifier.startswith("@"):
        return "/".join(parts[:2]) if len(parts) >= 2 else None
    return parts[0]


def normalize_pypi(name: str) -> str:
    """PEP 503 normalized name: `Typing_Extensions` -> `typing-extensions`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    """The project a requirements line names, or None for comments, options and blanks."""
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith("-"):
        return None
    try:
        return normalize_pypi(Requirement(text).name)
    except InvalidRequirement:
        return None
