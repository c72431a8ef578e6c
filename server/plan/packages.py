"""Package names and version ranges a plan may ask for (pure).

A plan's `dependencies` are LLM output that ends up in package.json and requirements.in, so only
registry packages with plain version ranges are accepted: no URLs, git or file specs, no tags that
move, nothing a manifest would read as an instruction.
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
MAX_NAME = 214


def npm_problem(name: str, spec: str) -> str | None:
    if len(name) > MAX_NAME or not _NPM_NAME.match(name):
        return f"{name!r} is not an npm package name"
    if not _NPM_RANGE.match(spec) or spec.strip().startswith("-"):
        return f'{name}@{spec!r} is not a version range (use e.g. "^2.12.0")'
    return None


def pypi_problem(name: str, spec: str) -> str | None:
    if len(name) > MAX_NAME or not _PYPI_NAME.match(name):
        return f"{name!r} is not a PyPI project name"
    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        return f'{name}{spec!r} is not a version specifier (use e.g. ">=0.0.16")'
    return None


def npm_package_of(specifier: str) -> str | None:
    """The package a bare import names (`react-dom/client` -> `react-dom`, `@a/b/c` -> `@a/b`);
    None for relative, absolute and virtual imports."""
    if specifier.startswith((".", "/", "\0", "virtual:")) or ":" in specifier:
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
