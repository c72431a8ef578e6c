"""The dependency graph of a plan's files (pure functions, no I/O).

A file depends on the files it names in `depends_on` when the plan gives them (planned ones only:
the template's files exist already), otherwise on the files of the nearest earlier
implementation step, which transitively means every earlier step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from protocol.plan import Plan


def steps(plan: Plan) -> list[list[str]]:
    """The files of each step, steps in ascending number (equal numbers are one step)."""
    by_number: dict[int, list[str]] = defaultdict(list)
    for step in plan.implementation_order:
        for path in step.files:
            if path not in by_number[step.step]:
                by_number[step.step].append(path)
    return [by_number[number] for number in sorted(by_number)]


def dependencies(plan: Plan) -> dict[str, list[str]]:
    """Each planned file's direct dependencies among planned files."""
    planned = set(plan.file_paths())
    deps: dict[str, list[str]] = {}
    previous: list[str] = []
    for step_files in steps(plan):
        for path in step_files:
            entry = plan.file(path)
            if entry is not None and entry.depends_on is not None:
                deps[path] = [d for d in entry.depends_on if d in planned and d != path]
            else:
                deps[path] = list(previous)
        previous = step_files
    for (
        path
    ) in plan.file_paths():  # files in no step (the validator reports them) depend on nothing
        deps.setdefault(path, [])
    return deps


def find_cycle(deps: dict[str, list[str]]) -> list[str] | None:
    """One dependency cycle as a path list (first == last), or None. Iterative: a plan of
    thousands of files in one chain must not exhaust the interpreter's stack."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(deps, white)
    for start in deps:
        if color[start] != white:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path = [start]
        color[start] = grey
        while stack:
            node, index = stack[-1]
            children = deps.get(node, [])
            if index < len(children):
                stack[-1] = (node, index + 1)
                child = children[index]
                state = color.get(child, black)
                if state == grey:
                    return [*path[path.index(child) :], child]
                if state == white:
                    color[child] = grey
                    stack.append((child, 0))
                    path.append(child)
            else:
                color[node] = black
                stack.pop()
                path.pop()
    return None


def dependents(deps: dict[str, list[str]]) -> dict[str, list[str]]:
    reverse: dict[str, list[str]] = defaultdict(list)
    for node, node_deps in deps.items():
        for dep in node_deps:
            reverse[dep].append(node)
    return reverse


def reachable(edges: Mapping[str, list[str]], roots: set[str]) -> set[str]:
    """Every node reachable from `roots` along `edges` (roots excluded)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        for node in edges.get(todo.pop(), []):
            if node not in seen:
                seen.add(node)
                todo.append(node)
    return seen - roots


def transitive_dependents(deps: dict[str, list[str]], roots: set[str]) -> set[str]:
    """Every file that depends, directly or not, on one of `roots` (roots excluded)."""
    return reachable(dependents(deps), roots)


def transitive_dependencies(deps: dict[str, list[str]], path: str) -> set[str]:
    """Every file `path` depends on, directly or not."""
    return reachable(deps, {path})
