"""Cross-file checks (pure): every import resolves to a file or a declared package, and every name
imported is one the other file really defines.

- TypeScript: a relative import names an existing file; a named import is exported by it, a default
  import has a default export; a bare import is a dependency of the frontend (package.json, or the
  plan's `dependencies.npm`).
- Python: `from models.task import Task` and `from backend.models.task import Task` (both run in
  either runtime) name a backend module that defines `Task` (or has a submodule `Task`); any other
  import is the standard library or a backend requirement (or the plan's `dependencies.pypi`).
"""

from __future__ import annotations

from protocol.models import Problem
from server.checks.problems import listed, problem
from server.checks.project import Project, imported_module, is_local_import
from server.plan.packages import npm_package_of
from server.source.typescript import TsImport

SOURCE = "imports"
PACKAGES = "packages"
NODE_BUILTIN = "node:"


def ts_problems(project: Project, path: str) -> list[Problem]:
    found: list[Problem] = []
    for imported in project.ts(path).imports:
        specifier = imported.specifier
        if is_local_import(specifier):
            found += _relative_ts(project, path, imported)
            continue
        package = specifier if specifier.startswith(NODE_BUILTIN) else npm_package_of(specifier)
        if package is None or package in project.npm_packages:
            continue
        if specifier.startswith(NODE_BUILTIN):
            message = f"`{specifier}` is a Node.js module; the frontend runs in the browser."
        else:
            message = (
                f"`{package}` is imported but is not a dependency of the frontend: add it to "
                "the plan's dependencies.npm, or use a package the template has "
                f"({listed(sorted(project.npm_packages))})."
            )
        found.append(
            problem(
                path,
                imported.line,
                imported.column,
                "package-missing",
                message,
                PACKAGES,
                length=len(specifier) + 2,
            )
        )
    return found


def _relative_ts(project: Project, path: str, imported: TsImport) -> list[Problem]:
    target = project.resolve_ts(path, imported.specifier)
    if target is None:
        return [
            problem(
                path,
                imported.line,
                imported.column,
                "import-unresolved",
                f"`{imported.specifier}` does not resolve to a file of the project.",
                SOURCE,
                length=len(imported.specifier) + 2,
            )
        ]
    if not target.endswith((".ts", ".tsx", ".js", ".jsx", ".mjs")) or imported.namespace:
        return []
    found: list[Problem] = []
    module = project.ts(target)
    if imported.default is not None and not module.has_default:
        found.append(
            problem(
                path,
                imported.default.line,
                imported.default.column,
                "import-no-default",
                f"{target} has no default export (it exports: {listed(module.exports)}); "
                f"import a named export instead of `{imported.default.name}`.",
                SOURCE,
                length=len(imported.default.name),
            )
        )
    exports = project.ts_exports(target)
    if exports is None:
        return found
    for name in imported.named:
        if name.name == "default":
            if not module.has_default:
                found.append(
                    problem(
                        path,
                        name.line,
                        name.column,
                        "import-no-default",
                        f"{target} has no default export.",
                        SOURCE,
                        length=7,
                    )
                )
        elif name.name not in exports:
            found.append(
                problem(
                    path,
                    name.line,
                    name.column,
                    "import-missing-export",
                    f"`{name.name}` is not exported by {target} (it exports: {listed(exports)}).",
                    SOURCE,
                    length=len(name.name),
                )
            )
    return found


def python_problems(project: Project, path: str) -> list[Problem]:
    module = project.py(path)
    if not module.parsed:
        return []  # the syntax check reports it
    found: list[Problem] = []
    for imported in module.imports:
        dotted = imported_module(path, imported)
        target = project.backend_module(dotted) if dotted else None
        is_package = bool(dotted) and project.backend_package(dotted)
        if target is None and not is_package:
            if imported.level == 0 and not _is_backend_name(project, dotted):
                top = dotted.split(".")[0]
                if not project.python_module_available(top):
                    found.append(
                        problem(
                            path,
                            imported.line,
                            imported.column,
                            "package-missing",
                            f"`{top}` is neither a backend module, the standard library, nor a "
                            "backend requirement: add it to the plan's dependencies.pypi, or use "
                            f"what is installed ({listed(sorted(project.python_packages))}).",
                            PACKAGES,
                        )
                    )
                continue
            found.append(
                problem(
                    path,
                    imported.line,
                    imported.column,
                    "import-unresolved",
                    f"No backend module `{dotted or '.'}`: modules are {listed(_module_names(project))}.",
                    SOURCE,
                )
            )
            continue
        if not imported.is_from:
            continue
        found += _missing_names(project, path, dotted, target, imported.names)
    return found


def _missing_names(
    project: Project,
    path: str,
    dotted: str,
    target: str | None,
    names: tuple[tuple[str, int, int], ...],
) -> list[Problem]:
    defined: set[str] = set()
    if target is not None:
        module = project.py(target)
        if module.star_import or not module.parsed:
            return []
        defined = module.defined
    found = []
    for name, line, column in names:
        if name == "*" or name in defined or project.backend_module(f"{dotted}.{name}"):
            continue
        if project.backend_package(f"{dotted}.{name}"):
            continue
        where = target or f"backend/{dotted.removeprefix('backend.').replace('.', '/')}/"
        found.append(
            problem(
                path,
                line,
                column,
                "import-missing-name",
                f"`{name}` is not defined in {where} (it defines: {listed(defined)}).",
                SOURCE,
                length=len(name),
            )
        )
    return found


def _is_backend_name(project: Project, dotted: str) -> bool:
    """Whether an unresolved import looks meant for the backend (`backend.x`, `models.tsk`)."""
    top = dotted.split(".")[0]
    return top == "backend" or project.backend_package(top) or bool(project.backend_module(top))


def _module_names(project: Project) -> list[str]:
    return [
        path.removeprefix("backend/")
        .removesuffix(".py")
        .removesuffix("/__init__")
        .replace("/", ".")
        for path in project.py_files()
    ]


def check_imports(project: Project, paths: list[str] | None = None) -> list[Problem]:
    """Import problems of `paths` (default: every source file)."""
    chosen = set(paths) if paths is not None else None
    found: list[Problem] = []
    for path in project.ts_files():
        if chosen is None or path in chosen:
            found += ts_problems(project, path)
    for path in project.py_files():
        # The registry's imports are the contract check's (the registrar writes them).
        if (chosen is None or path in chosen) and path != "backend/router_registry.py":
            found += python_problems(project, path)
    return found
