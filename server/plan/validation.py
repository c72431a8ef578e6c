"""Plan validation: the shape (pydantic) and the rules that need the whole plan (pure, no I/O).

Each problem is one sentence that names the offending entry, so it can be sent back to the LLM as
is and shown to the user when the re-asks run out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError

from protocol.plan import Plan
from server.errors import PlanInvalidError
from server.plan.dag import dependencies, find_cycle
from server.plan.data_models import data_model_problems
from server.plan.packages import npm_problem, pypi_problem
from server.plan.paths import planned_path_problem

COMPONENT_SUFFIXES = (".tsx", ".jsx", ".ts", ".js")
FRONTEND_SRC = "frontend/src/"
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
DEFAULT_MAX_FILES = 300
# The JSON of a plan is nested a few levels deep; anything far deeper is not a plan.
MAX_NESTING = 32


class PlanValidationError(PlanInvalidError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"- {p}" for p in problems)
        super().__init__(f"The plan is invalid:\n{listed}", data={"problems": problems})


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "plan"


def component_file(plan: Plan, component: str) -> str | None:
    """The planned frontend file that defines a route's component: a file named after it under
    frontend/src/ (where Vite can import it), preferring one under a pages/ folder."""
    matches = [
        path
        for path in plan.file_paths()
        if path.startswith(FRONTEND_SRC)
        and PurePosixPath(path).suffix in COMPONENT_SUFFIXES
        and PurePosixPath(path).stem == component
    ]
    matches.sort(key=lambda p: ("/pages/" not in p, len(p)))
    return matches[0] if matches else None


def semantic_problems(
    plan: Plan,
    template_paths: Collection[str] = (),
    exists: Callable[[str], bool] | None = None,
    max_files: int = DEFAULT_MAX_FILES,
) -> list[str]:
    """Every rule the shape alone cannot check. `exists` says whether a path outside the plan is
    already in the workspace (a dependency on it is fine)."""
    problems: list[str] = []
    paths = plan.file_paths()
    template = set(template_paths)
    if len(paths) > max_files:
        # Checking each of thousands of files would only bury this one problem.
        return [
            f"the plan lists {len(paths)} files; at most {max_files} are allowed: plan a smaller app."
        ]

    for group, files in plan.files.items():
        for index, planned in enumerate(files):
            problem = planned_path_problem(planned.path)
            if problem:
                problems.append(f"files.{group}[{index}] {planned.path!r}: the path {problem}.")
            elif planned.path in template:
                problems.append(
                    f"files.{group}[{index}] {planned.path!r} is provided by the template; do not plan it."
                )
    for path, count in Counter(paths).items():
        if count > 1:
            problems.append(f"{path!r} is planned {count} times; list each file once.")
    if not paths:
        problems.append("files lists no file.")

    planned_set = set(paths)
    placed: Counter[str] = Counter()
    for index, step in enumerate(plan.implementation_order):
        for path in step.files:
            placed[path] += 1
            if path not in planned_set:
                problems.append(
                    f"implementation_order[{index}] (step {step.step}) lists {path!r}, which is not in files."
                )
    for path in paths:
        if placed[path] == 0:
            problems.append(f"{path!r} is in files but in no implementation_order step.")
        elif placed[path] > 1:
            problems.append(
                f"{path!r} is in {placed[path]} implementation_order steps; place it in one."
            )

    for planned in plan.planned_files():
        for dep in planned.depends_on or []:
            if dep not in planned_set and dep not in template and not (exists and exists(dep)):
                problems.append(
                    f"depends_on of {planned.path!r} names {dep!r}, which is not planned."
                )
    cycle = find_cycle(dependencies(plan))
    if cycle:
        problems.append("depends_on forms a cycle: " + " -> ".join(cycle) + ".")

    seen_paths: set[str] = set()
    for index, route in enumerate(plan.routes):
        where = f"routes[{index}] ({route.path})"
        if not route.path.startswith("/"):
            problems.append(f"{where}: the path must start with '/'.")
        if route.path in seen_paths:
            problems.append(f"{where}: the path is used by another route.")
        seen_paths.add(route.path)
        if not route.component.isidentifier():
            problems.append(
                f"{where}: component {route.component!r} is not a valid component name."
            )
        elif component_file(plan, route.component) is None:
            problems.append(
                f"{where}: component {route.component!r} is not a planned file; plan a file "
                f"named {route.component}.tsx (for example frontend/src/pages/{route.component}.tsx)."
            )

    for name, spec in plan.dependencies.npm.items():
        problem = npm_problem(name, spec)
        if problem:
            problems.append(f"dependencies.npm: {problem}.")
    for name, spec in plan.dependencies.pypi.items():
        problem = pypi_problem(name, spec)
        if problem:
            problems.append(f"dependencies.pypi: {problem}.")

    problems += data_model_problems(plan)

    for index, endpoint in enumerate(plan.api_endpoints):
        if endpoint.method not in HTTP_METHODS:
            problems.append(f"api_endpoints[{index}]: {endpoint.method!r} is not an HTTP method.")
        if not endpoint.path.startswith("/"):
            problems.append(
                f"api_endpoints[{index}]: the path {endpoint.path!r} must start with '/'."
            )
    return problems


def nesting_depth(data: Any) -> int:
    """How deeply lists and objects nest in parsed JSON (iterative: no recursion limit)."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_NESTING:
                return depth
            children = value.values() if isinstance(value, dict) else value
            todo.extend((child, depth + 1) for child in children)
    return deepest


def validate_plan(
    data: Any,
    template_paths: Collection[str] = (),
    exists: Callable[[str], bool] | None = None,
    max_files: int = DEFAULT_MAX_FILES,
) -> Plan:
    """A Plan from parsed JSON, or PlanValidationError listing every problem found. Blocking for
    large plans: callers on the event loop run it in a worker thread."""
    if not isinstance(data, dict):
        raise PlanValidationError(["the plan must be a JSON object."])
    if nesting_depth(data) > MAX_NESTING:
        raise PlanValidationError([f"the plan nests deeper than {MAX_NESTING} levels."])
    try:
        plan = Plan.model_validate(data)
    except ValidationError as error:
        raise PlanValidationError(
            [f"{_location(e['loc'])}: {e['msg']}." for e in error.errors()]
        ) from None
    problems = semantic_problems(plan, template_paths, exists, max_files)
    if problems:
        raise PlanValidationError(problems)
    return plan
