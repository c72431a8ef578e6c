"""What a repair prompt says (pure): the file's problems, and the facts it needs to be right.

Facts are what the checks know for certain: the files it imports (given in full as context), the
endpoints the backend serves (for a file that calls them, or serves them), the plan's endpoints.
"""

from __future__ import annotations

from protocol.models import Problem
from server.checks.contract import backend_routes
from server.checks.project import Project, imported_module, is_local_import


def imported_files(project: Project, path: str) -> list[str]:
    """The project files `path` imports (resolved as the checks resolve them)."""
    found: list[str] = []
    if path.startswith("frontend/") and path in project.files:
        for imported in project.ts(path).imports:
            if is_local_import(imported.specifier):
                target = project.resolve_ts(path, imported.specifier)
                if target is not None and target.endswith((".ts", ".tsx", ".js", ".jsx")):
                    found.append(target)
    elif path.endswith(".py") and path in project.files:
        for py_import in project.py(path).imports:
            dotted = imported_module(path, py_import)
            target = project.backend_module(dotted) if dotted else None
            if target is not None:
                found.append(target)
            for name, _, _ in py_import.names:
                submodule = project.backend_module(f"{dotted}.{name}") if dotted else None
                if submodule is not None:
                    found.append(submodule)
    return [p for p in dict.fromkeys(found) if p != path]


def repair_instructions(project: Project, path: str, problems: list[Problem]) -> str:
    lines = [
        "Fix these problems that the project's checks (the TypeScript compiler, the Python "
        "interpreter, the linter, the plan's contract, the running app) found in this file; keep "
        "everything else as it is:"
    ]
    for item in sorted(problems, key=lambda p: (p.line, p.column)):
        lines.append(f"- line {item.line}: {item.message} [{item.source} {item.code}]")
    routes = backend_routes(project)
    calls_backend = path.startswith("frontend/") and (
        any(p.code in ("call-unserved",) for p in problems) or project.ts(path).api_calls
    )
    serves = path.startswith("backend/") and any(
        p.code in ("endpoint-missing", "endpoint-error") or p.code.startswith("api-")
        for p in problems
    )
    if routes and (calls_backend or serves):
        served = ", ".join(sorted({f"{r.method} {r.path}" for _, r in routes}))
        lines.append(f"The backend serves exactly: {served}.")
    if serves and project.plan is not None:
        planned = ", ".join(f"{e.method} {e.path}" for e in project.plan.api_endpoints)
        lines.append(f"The plan's API: {planned}.")
    lines.append("The files this one imports are shown in full above: use only names they define.")
    return "\n".join(lines)


def problem_signature(problems: list[Problem]) -> frozenset[tuple[str, str]]:
    """A file's problems regardless of where they sit (a fix that moved lines changed nothing)."""
    return frozenset((p.code, p.message) for p in problems)
