"""The project against its own plan (pure): what `routes.tsx` and the router registry rely on, the
planned API, and the calls the frontend makes.

- every route's component file has the default export `routes.tsx` imports lazily;
- every module `router_registry.py` imports `router` from defines it;
- every planned API endpoint (method and path) is served by a backend route;
- every backend call of the frontend matches a backend route (method and path pattern);
- every planned data model is a table (`class Recipe(SQLModel, table=True)`) in the backend.
Path parameters match whatever their names (`{id}` and `{task_id}`), a trailing slash is ignored.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from protocol.models import Problem
from server.checks.problems import listed, problem
from server.checks.project import Project
from server.plan.data_models import model_file
from server.plan.validation import component_file
from server.source.python import PyRoute
from server.source.typescript import WILDCARD

SOURCE = "contract"
ROUTER_REGISTRY = "backend/router_registry.py"
MAIN = "backend/main.py"


def _segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s]


def path_matches(pattern: str, concrete: str) -> bool:
    """Whether a call's path (`{*}` for substituted parts) fits a route's (`{param}`)."""
    route, call = _segments(pattern), _segments(concrete)
    if len(route) != len(call):
        return False
    for expected, actual in zip(route, call, strict=True):
        if expected.startswith("{") and expected.endswith("}"):
            continue
        if actual == WILDCARD or (actual.startswith("{") and actual.endswith("}")):
            continue  # a substituted part could be this literal
        if expected != actual:
            return False
    return True


def backend_routes(project: Project) -> list[tuple[str, PyRoute]]:
    """(file, route) of every route the backend's modules declare, the app's own included."""
    routes = []
    for path in project.py_files():
        routes += [(path, route) for route in project.py(path).routes]
    return routes


def served(routes: list[tuple[str, PyRoute]], method: str, path: str) -> bool:
    return any(
        (route.method == method or (method == "HEAD" and route.method == "GET"))
        and path_matches(route.path, path)
        for _, route in routes
    )


def _route_list(routes: list[tuple[str, PyRoute]]) -> str:
    return listed(f"{route.method} {route.path}" for _, route in routes)


def _owner_of(project: Project, path: str) -> str | None:
    """The backend module that should serve an endpoint: the one whose router prefix is the
    longest prefix of the path, else the one named after one of its segments."""
    best, best_length = None, -1
    for file in project.py_files():
        for prefix in project.py(file).router_prefixes.values():
            if prefix and path_matches(prefix, "/".join(_segments(path)[: len(_segments(prefix))])):
                if len(prefix) > best_length:
                    best, best_length = file, len(prefix)
    if best is not None:
        return best
    words = set(_segments(path))
    return next((f for f in project.py_files() if PurePosixPath(f).stem in words), None)


def check_contract(project: Project) -> list[Problem]:
    plan = project.plan
    found: list[Problem] = []
    if plan is not None:
        for route in plan.routes:
            source = component_file(plan, route.component)
            if source is None or source not in project.files:
                continue
            if not project.ts(source).has_default:
                found.append(
                    problem(
                        source,
                        1,
                        1,
                        "route-no-default",
                        f"The route {route.path} renders {source} through its default export "
                        f"(routes.tsx imports it lazily), but it has none: export the "
                        f"{route.component} component as default.",
                        SOURCE,
                    )
                )
    found += _registry(project)
    found += _tables(project)
    routes = backend_routes(project)
    if plan is not None and any(True for _ in project.py_files()):
        for endpoint in plan.api_endpoints:
            if served(routes, endpoint.method, endpoint.path):
                continue
            owner = _owner_of(project, endpoint.path)
            found.append(
                problem(
                    owner or ".stepforge/plan.json",
                    1,
                    1,
                    "endpoint-missing",
                    f"The plan's {endpoint.method} {endpoint.path} is not served by the backend "
                    f"(it serves: {_route_list(routes)}).",
                    SOURCE,
                )
            )
    for path in project.ts_files():
        for call in project.ts(path).api_calls:
            if served(routes, call.method, call.path):
                continue
            found.append(
                problem(
                    path,
                    call.line,
                    call.column,
                    "call-unserved",
                    f"The frontend calls {call.method} {call.path}, which the backend does not "
                    f"serve (it serves: {_route_list(routes)}).",
                    SOURCE,
                    length=len(call.path) + 2,
                )
            )
    return found


def _registry(project: Project) -> list[Problem]:
    if ROUTER_REGISTRY not in project.files:
        return []
    found = []
    for imported in project.py(ROUTER_REGISTRY).imports:
        if not imported.is_from or "router" not in {name for name, _, _ in imported.names}:
            continue
        target = project.backend_module(imported.module)
        if target is None:
            continue  # the import check reports a module that does not exist
        if "router" not in project.py(target).router_prefixes:
            found.append(
                problem(
                    target,
                    1,
                    1,
                    "router-missing",
                    f"router_registry.py includes `router` from {target}, which defines none: "
                    'define `router = APIRouter(prefix="/api/...")` there.',
                    SOURCE,
                )
            )
    return found


def _tables(project: Project) -> list[Problem]:
    """A planned data model without a table: its rows would live nowhere (or in memory)."""
    plan = project.plan
    backend = project.py_files()
    if plan is None or not backend:
        return []
    tables = {name for path in backend for name in project.py(path).tables}
    found = []
    for model in plan.data_models:
        if model.name in tables:
            continue
        owner = model_file(plan, model)
        where = owner or "backend/models/"
        fields = listed(f.name for f in model.fields)
        found.append(
            problem(
                owner if owner in project.files else ".stepforge/plan.json",
                1,
                1,
                "table-missing",
                f"The plan's data model {model.name} has no table in the backend: define "
                f"`class {model.name}(SQLModel, table=True)` in {where}"
                + (f" (fields: {fields})" if model.fields else "")
                + ", and use it through `db.get_session`.",
                SOURCE,
            )
        )
    return found
