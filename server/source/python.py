"""What a backend Python module imports, defines and serves, read with `ast` (never imported).

Routes are FastAPI decorators on an `APIRouter` (or the app) assigned at the top level:
`router = APIRouter(prefix="/api/tasks")` then `@router.get("/{task_id}")` serves
`GET /api/tasks/{task_id}`.
"""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass, field

ROUTE_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")

# CPython 3.11 keeps the AST constructor's recursion depth per interpreter, not per thread: two
# threads parsing at once can fail with "SystemError: AST constructor recursion depth mismatch"
# (python/cpython#106905). Generation outlines and checks files in worker threads, so every parse
# of StepForge's takes this lock.
_PARSE_LOCK = threading.Lock()


def parse_python(source: str) -> ast.Module:
    """`ast.parse`, one thread at a time (SyntaxError and ValueError as ast.parse raises them)."""
    with _PARSE_LOCK:
        return ast.parse(source)


@dataclass(frozen=True)
class PyImport:
    module: str  # as written (`models.task`, `backend.models.task`, "" for `from . import x`)
    names: tuple[tuple[str, int, int], ...]  # (name, line, column) of `from m import a, b`
    level: int  # leading dots of a relative import
    line: int
    column: int
    is_from: bool


@dataclass(frozen=True)
class PyRoute:
    method: str
    path: str
    line: int
    column: int


@dataclass
class PyModule:
    imports: list[PyImport] = field(default_factory=list)
    defined: set[str] = field(default_factory=set)
    star_import: bool = False  # `from x import *`: anything may be defined
    routes: list[PyRoute] = field(default_factory=list)
    router_prefixes: dict[str, str] = field(default_factory=dict)  # variable -> prefix
    tables: dict[str, int] = field(default_factory=dict)  # `class X(SQLModel, table=True)` -> line
    parsed: bool = True


def _constant_str(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_router_factory(value: ast.expr) -> bool:
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )
    return name in ("APIRouter", "FastAPI")


def _targets(node: ast.stmt) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, ast.AnnAssign | ast.AugAssign):
        return [node.target]
    return []


def _names_in(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _names_in(element)]
    if isinstance(target, ast.Starred):
        return _names_in(target.value)
    return []


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements that run at import: the body, and what `if`/`try`/`with` blocks hold."""
    found: list[ast.stmt] = []
    for node in body:
        found.append(node)
        if isinstance(node, ast.If):
            found += _top_level(node.body) + _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            found += _top_level(node.body) + _top_level(node.orelse) + _top_level(node.finalbody)
            for handler in node.handlers:
                found += _top_level(handler.body)
        elif isinstance(node, ast.With):
            found += _top_level(node.body)
    return found


def analyze_python(source: str) -> PyModule:
    module = PyModule()
    try:
        tree = parse_python(source)
    except (SyntaxError, ValueError):
        module.parsed = False
        return module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = tuple((a.name, a.lineno, a.col_offset + 1) for a in node.names)
            module.imports.append(
                PyImport(
                    node.module or "", names, node.level, node.lineno, node.col_offset + 1, True
                )
            )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                module.imports.append(
                    PyImport(alias.name, (), 0, node.lineno, node.col_offset + 1, False)
                )
    for node in _top_level(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            module.defined.add(node.name)
        if isinstance(node, ast.ClassDef) and any(
            k.arg == "table" and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in node.keywords
        ):
            module.tables[node.name] = node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                module.defined.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    module.star_import = True
                else:
                    module.defined.add(alias.asname or alias.name)
        for target in _targets(node):
            module.defined.update(_names_in(target))
        value = getattr(node, "value", None)
        if value is not None and _is_router_factory(value):
            prefix = _constant_str(_keyword(value, "prefix")) or ""
            for target in _targets(node):
                for name in _names_in(target):
                    module.router_prefixes[name] = prefix
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            module.routes += _routes_of(node, module.router_prefixes)
    return module


def _routes_of(
    function: ast.FunctionDef | ast.AsyncFunctionDef, prefixes: dict[str, str]
) -> list[PyRoute]:
    routes = []
    for decorator in function.decorator_list:
        if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
            continue
        owner = decorator.func.value
        if not isinstance(owner, ast.Name) or owner.id not in prefixes:
            continue
        verb = decorator.func.attr
        path = _constant_str(decorator.args[0] if decorator.args else _keyword(decorator, "path"))
        if path is None:
            continue
        full = prefixes[owner.id] + path
        if verb in ROUTE_METHODS:
            methods = [verb.upper()]
        elif verb == "api_route":
            listed = _keyword(decorator, "methods")
            methods = [
                m.upper()
                for m in (
                    [_constant_str(e) for e in listed.elts]
                    if isinstance(listed, ast.List | ast.Tuple)
                    else ["GET"]
                )
                if m
            ]
        else:
            continue
        for method in methods:
            routes.append(PyRoute(method, full or "/", decorator.lineno, decorator.col_offset + 1))
    return routes
