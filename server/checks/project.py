"""The generated project as the checks see it: the plan, every source file's text, the packages its
manifests declare, and each module's analysis (computed once, on demand). Loading reads the disk
(blocking); everything after is pure, so checks are unit-tested on in-memory projects."""

from __future__ import annotations

import json
import os
import posixpath
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from protocol.plan import Plan
from server.plan.packages import normalize_pypi, requirement_name
from server.source.python import PyImport, PyModule, analyze_python
from server.source.typescript import TsModule, analyze_ts
from server.workspace.roles import existing_role_folder, read_role_file

TS_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs")
SOURCE_SUFFIXES = (*TS_SUFFIXES, ".py", ".json", ".css", ".svg", ".png", ".html")
SKIPPED_DIRS = {"node_modules", "dist", "__pycache__", ".venv", "venv", ".vite", ".git"}
MAX_FILE_BYTES = 1_000_000
# The template's import alias (tsconfig.json `paths`, vite.config.ts `resolve.alias`).
SRC_ALIAS = "@/"
SRC_DIR = "frontend/src"
# Modules whose import name is not their project's name on PyPI.
PYPI_IMPORT_NAMES = {
    "yaml": "pyyaml",
    "PIL": "pillow",
    "jose": "python-jose",
    "jwt": "pyjwt",
    "dateutil": "python-dateutil",
    "multipart": "python-multipart",
    "dotenv": "python-dotenv",
    "bs4": "beautifulsoup4",
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
    "attr": "attrs",
    "magic": "python-magic",
    "passlib": "passlib",
}


@dataclass
class Project:
    plan: Plan | None
    files: dict[str, str]
    npm_packages: set[str] = field(default_factory=set)
    python_packages: set[str] = field(default_factory=set)
    _ts: dict[str, TsModule] = field(default_factory=dict, repr=False)
    _py: dict[str, PyModule] = field(default_factory=dict, repr=False)

    def ts(self, path: str) -> TsModule:
        if path not in self._ts:
            self._ts[path] = analyze_ts(path, self.files.get(path, ""))
        return self._ts[path]

    def py(self, path: str) -> PyModule:
        if path not in self._py:
            self._py[path] = analyze_python(self.files.get(path, ""))
        return self._py[path]

    def ts_files(self) -> list[str]:
        return sorted(
            p for p in self.files if p.startswith("frontend/") and p.endswith(TS_SUFFIXES)
        )

    def py_files(self) -> list[str]:
        return sorted(p for p in self.files if p.startswith("backend/") and p.endswith(".py"))

    # --- resolving imports ----------------------------------------------------------------------

    def resolve_ts(self, importer: str, specifier: str) -> str | None:
        """The project file a relative import names (as Vite and TypeScript's bundler resolution
        find it), or None. `@/x` is `frontend/src/x` (the template's alias in tsconfig and Vite)."""
        specifier = specifier.split("?", 1)[0]
        if specifier.startswith(SRC_ALIAS):
            base = posixpath.normpath(SRC_DIR + specifier.removeprefix("@"))
        elif specifier.startswith("/"):
            base = posixpath.normpath("frontend" + specifier)
        else:
            base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
        stem, suffix = posixpath.splitext(base)
        candidates = [base]
        if suffix in (".js", ".jsx", ".mjs"):  # TypeScript lets `./x.js` name `./x.ts`
            candidates += [stem + ".ts", stem + ".tsx"]
        candidates += [base + ext for ext in (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs")]
        candidates += [f"{base}/index{ext}" for ext in (".ts", ".tsx", ".js", ".jsx")]
        return next((c for c in candidates if c in self.files), None)

    def ts_exports(self, path: str, seen: frozenset[str] = frozenset()) -> set[str] | None:
        """Names `path` exports, `export *` included; None when unknowable (a star re-export of a
        package, say)."""
        module = self.ts(path)
        names = set(module.exports)
        for specifier in module.star_exports:
            target = self.resolve_ts(path, specifier) if is_local_import(specifier) else None
            if target is None or target in seen:
                return None
            more = self.ts_exports(target, seen | {path})
            if more is None:
                return None
            names |= more
        return names

    def backend_module(self, dotted: str) -> str | None:
        """The file of a backend module, `models.task` or `backend.models.task` (both run)."""
        for name in (
            dotted,
            dotted.removeprefix("backend.") if dotted.startswith("backend.") else None,
        ):
            if not name:
                continue
            base = "backend/" + name.replace(".", "/")
            for candidate in (base + ".py", base + "/__init__.py"):
                if candidate in self.files:
                    return candidate
        return None

    def backend_package(self, dotted: str) -> bool:
        """Whether a backend folder of modules (a package, namespace or not) has this name."""
        for name in (dotted, dotted.removeprefix("backend.")):
            prefix = "backend/" + name.replace(".", "/") + "/"
            if any(p.startswith(prefix) and p.endswith(".py") for p in self.files):
                return True
        return dotted == "backend"

    def python_module_available(self, top: str) -> bool:
        """Whether a top-level import that is not a backend module is installable: the standard
        library, or a package the requirements (or the plan) name."""
        if top in sys.stdlib_module_names or top == "__future__":
            return True
        project = PYPI_IMPORT_NAMES.get(top, normalize_pypi(top))
        if project in self.python_packages:
            return True
        # `slugify` from python-slugify, `yaml` from pyyaml, `jose` from python-jose.
        return normalize_pypi(top) in {_bare(name) for name in self.python_packages}


def is_local_import(specifier: str) -> bool:
    """Whether a TypeScript import names a file of the project (relative, absolute, or `@/`)
    rather than a package."""
    return specifier.startswith((".", "/", SRC_ALIAS))


def _bare(project: str) -> str:
    for prefix in ("python-", "py"):
        if project.startswith(prefix) and len(project) > len(prefix) + 1:
            project = project[len(prefix) :]
            break
    return project.removesuffix("-python")


def _walk(root: Path, folder: str) -> dict[str, str]:
    """The source files of a role folder. A linked role folder is refused (`frontend -> /` would
    walk the host); inside it, no linked folder or file is followed, and each file is opened one
    segment at a time without following links (a preview's container, which may write its folder,
    cannot swap a folder for a link between the listing and the read)."""
    files: dict[str, str] = {}
    start = existing_role_folder(root, folder)
    if start is None:
        return files
    for directory, subdirs, names in os.walk(start):
        here = Path(directory)
        subdirs[:] = [
            d
            for d in subdirs
            if d not in SKIPPED_DIRS and not d.startswith(".") and not (here / d).is_symlink()
        ]
        for name in names:
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            relative = f"{folder}/{(here / name).relative_to(start).as_posix()}"
            try:
                data = read_role_file(root, relative, MAX_FILE_BYTES)
            except OSError:
                continue
            if data is not None:
                files[relative] = data.decode("utf-8", "replace") if b"\0" not in data else ""
    return files


def _npm_packages(files: dict[str, str]) -> set[str]:
    try:
        manifest = json.loads(files.get("frontend/package.json", "{}"))
    except json.JSONDecodeError:
        return set()
    names: set[str] = set()
    for key in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
        section = manifest.get(key)
        if isinstance(section, dict):
            names |= set(section)
    return names


def _python_packages(root: Path, plan: Plan | None) -> set[str]:
    names: set[str] = set()
    for manifest in ("backend/requirements.txt", "backend/requirements.in"):
        try:
            data = read_role_file(root, manifest, MAX_FILE_BYTES)
        except OSError:
            continue
        if data is None:
            continue
        lines = data.decode("utf-8", "replace").splitlines()
        names |= {name for line in lines if (name := requirement_name(line))}
    if plan is not None:
        names |= {normalize_pypi(name) for name in plan.dependencies.pypi}
    return names


def load_project(root: Path, plan: Plan | None) -> Project:
    """Read the project's sources and manifests. Blocking: run it in a worker thread."""
    files = {**_walk(root, "frontend"), **_walk(root, "backend")}
    project = Project(plan, files, _npm_packages(files), _python_packages(root, plan))
    if plan is not None:
        project.npm_packages |= set(plan.dependencies.npm)
    return project


def imported_module(importer: str, imported: PyImport) -> str:
    """The dotted name an import names, relative imports resolved (`from ..x import y` in
    backend/a/b.py names `x`)."""
    if not imported.level:
        return imported.module
    module, level = imported.module, imported.level
    package = list(PurePosixPath(importer).relative_to("backend").parent.parts)
    if level > 1:
        package = package[: len(package) - (level - 1)] if level - 1 <= len(package) else []
    return ".".join([*package, *(module.split(".") if module else [])])
